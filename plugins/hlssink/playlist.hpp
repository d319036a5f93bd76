// An HLS media playlist (RFC 8216 §4.3) as a plain value: the segments in
// the live window, the sequence numbers, and its text.
//
// Plain C++, no GStreamer; durations are integer nanoseconds until printed.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace nagare::hls {

struct PlaylistEntry {
  std::string uri;
  std::int64_t duration = 0;  // ns
  bool discontinuity = false;
  // EXT-X-PROGRAM-DATE-TIME, ns since the Unix epoch.
  std::optional<std::int64_t> program_date_time;
  // Where the segment starts on the playlist's running sum of durations
  // (ns); set by Playlist::append.
  std::int64_t position = 0;
  // The attributes of the EXT-X-KEY that applies to the segment
  // (`METHOD=AES-128,URI="…",IV=0x…`); empty: not encrypted.
  std::string key;
};

class Playlist {
 public:
  // `window`: entries kept (0 keeps them all and makes an EVENT playlist).
  Playlist(std::int64_t target_duration_seconds, std::uint32_t window);

  // Adds a segment; returns those that left the window.
  std::vector<PlaylistEntry> append(PlaylistEntry entry);
  // EXT-X-ENDLIST: no segment will be added any more.
  void end() { ended_ = true; }
  // EXT-X-START:TIME-OFFSET (RFC 8216 §4.3.5.2), ns: where players start,
  // from the playlist's start, or back from its end when negative.
  void set_start_offset(std::optional<std::int64_t> offset) { start_offset_ = offset; }
  // A playlist that keeps every segment (window 0) says EXT-X-PLAYLIST-TYPE
  // EVENT while it grows; with this, VOD once it has ended.
  void set_vod_when_ended(bool vod) { vod_when_ended_ = vod; }

  const std::deque<PlaylistEntry>& entries() const { return entries_; }
  std::uint64_t media_sequence() const { return media_sequence_; }
  std::uint64_t discontinuity_sequence() const { return discontinuity_sequence_; }
  bool ended() const { return ended_; }
  std::int64_t target_duration_seconds() const { return target_duration_; }

  std::string render() const;
  // The lines of the newest entry as render() writes them after the one
  // before it: what to append to an earlier render() that lacked it. The
  // header cannot have changed only in a playlist that keeps every entry
  // (window 0) and has not ended.
  std::string render_last_entry() const;

 private:
  std::int64_t target_duration_;
  std::uint32_t window_;
  std::deque<PlaylistEntry> entries_;
  std::uint64_t media_sequence_ = 0;
  std::uint64_t discontinuity_sequence_ = 0;
  std::int64_t position_ = 0;
  bool ended_ = false;
  std::optional<std::int64_t> start_offset_;
  bool vod_when_ended_ = false;
};

// A signed time as decimal seconds, to the microsecond, trailing zeros
// trimmed to milliseconds: -3.5 s is "-3.500".
std::string format_seconds(std::int64_t ns);

// EXTINF's decimal seconds for a segment at `position` lasting `duration`:
// both ends are rounded to the microsecond, so the printed durations add up
// to the rounded running sum and their rounding never accumulates.
std::string format_extinf(std::int64_t position, std::int64_t duration);

// ISO 8601 / RFC 3339 date-time in UTC with milliseconds, e.g.
// 2026-11-24T09:30:00.250Z.
std::string format_date_time(std::int64_t unix_ns);

}  // namespace nagare::hls
