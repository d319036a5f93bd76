#include "hls_writer.hpp"

#include <cerrno>
#include <string_view>
#include <utility>

namespace nagare::hls {

namespace {

std::string_view folder_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash + 1);
}

}  // namespace

std::optional<LocationPattern> LocationPattern::parse(const std::string& pattern) {
  LocationPattern result;
  bool converted = false;
  std::string* out = &result.prefix_;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') {
      *out += pattern[i];
      continue;
    }
    if (++i >= pattern.size()) return std::nullopt;
    if (pattern[i] == '%') {
      *out += '%';
      continue;
    }
    if (converted) return std::nullopt;  // one index only
    if (pattern[i] == '0') {
      result.zero_pad_ = true;
      ++i;
    }
    while (i < pattern.size() && pattern[i] >= '0' && pattern[i] <= '9') {
      result.width_ = result.width_ * 10 + (pattern[i] - '0');
      if (result.width_ > 32) return std::nullopt;
      ++i;
    }
    // hlssink2's patterns may say %05u, %05d, %5i, or with the l/ll size.
    while (i < pattern.size() && pattern[i] == 'l') ++i;
    if (i >= pattern.size() || (pattern[i] != 'd' && pattern[i] != 'i' && pattern[i] != 'u')) return std::nullopt;
    converted = true;
    out = &result.suffix_;
  }
  if (!converted) return std::nullopt;
  return result;
}

std::string LocationPattern::format(std::uint64_t index) const {
  std::string digits = std::to_string(index);
  if (digits.size() < static_cast<std::size_t>(width_)) {
    digits.insert(0, static_cast<std::size_t>(width_) - digits.size(), zero_pad_ ? '0' : ' ');
  }
  return prefix_ + digits + suffix_;
}

std::optional<HlsWriter> HlsWriter::create(WriterConfig config, HlsIo& io) {
  auto pattern = LocationPattern::parse(config.location);
  if (!pattern) return std::nullopt;
  return HlsWriter(std::move(config), std::move(*pattern), io);
}

HlsWriter::HlsWriter(WriterConfig config, LocationPattern pattern, HlsIo& io)
    : config_(std::move(config)),
      pattern_(std::move(pattern)),
      io_(&io),
      playlist_(target_duration_seconds(config_.target), config_.playlist_length) {
  playlist_.set_start_offset(config_.start_offset);
  if (!config_.archive_playlist_location.empty()) {
    archive_.emplace(target_duration_seconds(config_.target), 0);
    archive_->set_vod_when_ended(true);
  }
  if (config_.encryption) keys_.emplace(config_.encryption->key_uri, config_.encryption->rotation);
}

std::optional<IoError> HlsWriter::start() {
  if (!keys_) return std::nullopt;
  if (!keys_->start()) return IoError{"(a random encryption key)", EIO};
  return write_new_key_files();
}

std::optional<IoError> HlsWriter::write_new_key_files() {
  for (SegmentKey& key : keys_->take_new()) {
    if (!config_.encryption->key_location.empty()) {
      if (auto error = io_->write_segment(with_key_id(config_.encryption->key_location, key.id), key.key)) {
        return error;
      }
    }
    new_keys_.push_back(std::move(key));
  }
  return std::nullopt;
}

std::vector<SegmentKey> HlsWriter::take_new_keys() { return std::exchange(new_keys_, {}); }

std::string HlsWriter::uri_for(const std::string& path, const std::string& playlist_location) const {
  if (!config_.playlist_root.empty()) {
    const auto slash = path.rfind('/');
    const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
    std::string root = config_.playlist_root;
    if (root.back() != '/') root += '/';
    return root + name;
  }
  const std::string_view folder = folder_of(playlist_location);
  if (std::string_view(path).starts_with(folder)) return path.substr(folder.size());
  return path;
}

std::optional<IoError> HlsWriter::add(const Segment& segment) {
  const std::string path = pattern_.format(next_index_);
  PlaylistEntry entry;
  if (keys_) {
    const SegmentKey* key = keys_->key_for(next_index_);
    if (!key) return IoError{"(a random encryption key)", EIO};
    const auto cipher = encrypt_segment(segment.bytes, *key);
    if (!cipher) return IoError{path, EIO};
    entry.key = key->attributes();
    if (auto error = write_new_key_files()) return error;  // the one made ahead, if any
    if (auto error = io_->write_segment(path, *cipher)) return error;
  } else if (auto error = io_->write_segment(path, segment.bytes)) {
    return error;
  }
  ++next_index_;

  entry.uri = uri_for(path, config_.playlist_location);
  entry.duration = segment.duration;
  entry.discontinuity = segment.discontinuity;
  if (config_.program_date_time) entry.program_date_time = segment.wall_clock;
  const std::uint64_t sequence = playlist_.media_sequence() + playlist_.entries().size();
  if (archive_) {
    PlaylistEntry copy = entry;
    copy.uri = uri_for(path, config_.archive_playlist_location);
    archive_->append(std::move(copy));
  }
  playlist_.append(std::move(entry));
  files_.push_back(File{path, sequence});

  if (!timeline_ || *timeline_ != segment.timeline) {
    timeline_ = segment.timeline;
    timeline_segments_ = 0;
    timeline_duration_ = 0;
  }
  ++timeline_segments_;
  timeline_duration_ += segment.duration;
  ++stats_.segments;
  stats_.last_duration = segment.duration;
  stats_.total_duration += segment.duration;
  stats_.drift = timeline_duration_ - static_cast<std::int64_t>(timeline_segments_) * config_.target;

  if (auto error = io_->write_playlist(config_.playlist_location, playlist_.render())) return error;
  // The archive playlist is for after the run, and grows without end:
  // rewriting it with every segment would cost O(n²), so each segment's
  // lines are appended, and the end rewrites it whole (VOD, ENDLIST).
  if (archive_) {
    const bool first = archive_->entries().size() == 1;
    if (auto error = first ? io_->write_playlist(config_.archive_playlist_location, archive_->render())
                           : io_->append(config_.archive_playlist_location, archive_->render_last_entry())) {
      return error;
    }
  }
  return delete_old_files();
}

std::optional<IoError> HlsWriter::end() {
  playlist_.end();
  if (auto error = io_->write_playlist(config_.playlist_location, playlist_.render())) return error;
  if (!archive_) return std::nullopt;
  archive_->end();
  return io_->write_playlist(config_.archive_playlist_location, archive_->render());
}

// A segment is deleted only after it has left the playlist (players may
// still be about to fetch anything listed), and only while more than
// max_files segments are on disk.
std::optional<IoError> HlsWriter::delete_old_files() {
  if (config_.max_files == 0 || archive_) return std::nullopt;
  while (files_.size() > config_.max_files && files_.front().sequence < playlist_.media_sequence()) {
    if (auto error = io_->remove(files_.front().path)) return error;
    files_.pop_front();
  }
  return std::nullopt;
}

}  // namespace nagare::hls
