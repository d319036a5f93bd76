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
  if (window_ == 0) text += "#EXT-X-PLAYLIST-TYPE:EVENT\n";
  for (const PlaylistEntry& entry : entries_) {
    if (entry.discontinuity) text += "#EXT-X-DISCONTINUITY\n";
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
  if (ended_) text += "#EXT-X-ENDLIST\n";
  return text;
}

std::string format_extinf(std::int64_t position, std::int64_t duration) {
  const std::int64_t us =
      std::max<std::int64_t>(0, round_to_microseconds(position + duration) - round_to_microseconds(position));
  char digits[32];
  std::snprintf(digits, sizeof digits, "%" PRId64 ".%06" PRId64, us / 1'000'000, us % 1'000'000);
  // Trailing zeros say nothing; keep at least milliseconds.
  std::string text(digits);
  const std::size_t point = text.find('.');
  while (text.size() > point + 4 && text.back() == '0') text.pop_back();
  return text;
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
