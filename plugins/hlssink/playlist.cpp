#include "playlist.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>

#include "../common/int_math.hpp"

namespace nagare::hls {

namespace {

std::int64_t round_to_microseconds(std::int64_t ns) { return ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000); }

}  // namespace

Playlist::Playlist(std::int64_t target_duration_seconds, std::uint32_t window)
    : target_duration_(target_duration_seconds), window_(window) {}

std::vector<PlaylistEntry> Playlist::append(PlaylistEntry entry) {
  entry.position = position_;
  position_ += entry.duration;
  entries_.push_back(std::move(entry));
  std::vector<PlaylistEntry> removed;
  while (window_ != 0 && entries_.size() > window_) {
    // §4.3.3.3: the discontinuity sequence counts the tags that left.
    if (entries_.front().discontinuity) ++discontinuity_sequence_;
    ++media_sequence_;
    removed.push_back(std::move(entries_.front()));
    entries_.pop_front();
  }
  return removed;
}

namespace {

// One entry's lines; `key` is the EXT-X-KEY in force before it (null: none).
void render_entry(std::string& text, const PlaylistEntry& entry, const std::string* key) {
  if (entry.discontinuity) text += "#EXT-X-DISCONTINUITY\n";
  // §4.3.2.4: a key applies to every segment after it until the next;
  // the first segment of the window gets the one in force for it.
  if (key ? *key != entry.key : !entry.key.empty()) {
    text += "#EXT-X-KEY:";
    text += entry.key.empty() ? "METHOD=NONE" : entry.key;
    text += '\n';
  }
  if (entry.program_date_time) {
    text += "#EXT-X-PROGRAM-DATE-TIME:";
    text += format_date_time(*entry.program_date_time);
    text += '\n';
  }
  text += "#EXTINF:";
  text += format_extinf(entry.position, entry.duration);
  text += ",\n";
  text += entry.uri;
  text += '\n';
}

}  // namespace

std::string Playlist::render_last_entry() const {
  std::string text;
  if (entries_.empty()) return text;
  const std::string* key = entries_.size() > 1 ? &entries_[entries_.size() - 2].key : nullptr;
  render_entry(text, entries_.back(), key);
  return text;
}

std::string Playlist::render() const {
  std::string text;
  text.reserve(160 + entries_.size() * 96);
  char line[96];
  text += "#EXTM3U\n#EXT-X-VERSION:3\n";
  std::snprintf(line, sizeof line, "#EXT-X-TARGETDURATION:%" PRId64 "\n", target_duration_);
  text += line;
  std::snprintf(line, sizeof line, "#EXT-X-MEDIA-SEQUENCE:%" PRIu64 "\n", media_sequence_);
  text += line;
  std::snprintf(line, sizeof line, "#EXT-X-DISCONTINUITY-SEQUENCE:%" PRIu64 "\n", discontinuity_sequence_);
  text += line;
  if (window_ == 0) text += ended_ && vod_when_ended_ ? "#EXT-X-PLAYLIST-TYPE:VOD\n" : "#EXT-X-PLAYLIST-TYPE:EVENT\n";
  if (start_offset_) {
    text += "#EXT-X-START:TIME-OFFSET=";
    text += format_seconds(*start_offset_);
    text += '\n';
  }
  const std::string* key = nullptr;  // the EXT-X-KEY in force; none before the first
  for (const PlaylistEntry& entry : entries_) {
    render_entry(text, entry, key);
    key = &entry.key;
  }
  if (ended_) text += "#EXT-X-ENDLIST\n";
  return text;
}

namespace {

std::string format_microseconds(std::int64_t us) {
  const std::uint64_t magnitude = us < 0 ? -static_cast<std::uint64_t>(us) : static_cast<std::uint64_t>(us);
  char digits[40];
  std::snprintf(digits, sizeof digits, "%s%" PRIu64 ".%06" PRIu64, us < 0 ? "-" : "", magnitude / 1'000'000,
                magnitude % 1'000'000);
  // Trailing zeros say nothing; keep at least milliseconds.
  std::string text(digits);
  const std::size_t point = text.find('.');
  while (text.size() > point + 4 && text.back() == '0') text.pop_back();
  return text;
}

}  // namespace

std::string format_seconds(std::int64_t ns) { return format_microseconds(round_to_microseconds(ns)); }

std::string format_extinf(std::int64_t position, std::int64_t duration) {
  return format_microseconds(
      std::max<std::int64_t>(0, round_to_microseconds(position + duration) - round_to_microseconds(position)));
}

std::string format_date_time(std::int64_t unix_ns) {
  const std::int64_t ms = floor_div(unix_ns, 1'000'000);
  const auto seconds = static_cast<std::time_t>(floor_div(ms, 1000));
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms - floor_div(ms, 1000) * 1000));
  return text;
}

}  // namespace nagare::hls
