// Reading and writing HLS media playlists (RFC 8216 §4.3) in the launcher:
// the archive of a broadcast is read back from the playlist its sinks wrote
// and written out again as VOD.
//
// The reader takes what nagarehlssink writes and what any RFC 8216 media
// playlist holds, ignores tags it has no use for (§4.1: "clients SHOULD
// ignore" unknown tags), and refuses, naming the line, what would make a
// segment list wrong: an EXTINF without a URI, a bad duration, a KEY it
// cannot parse.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nagare::launcher {

struct PlaylistKey {
  std::string method;  // "AES-128", "NONE", …
  std::string uri;
  std::string iv;  // as written: 0x and 32 hex digits, or empty

  friend bool operator==(const PlaylistKey&, const PlaylistKey&) = default;
};

struct MediaSegment {
  std::string uri;
  std::int64_t duration_us = 0;
  bool discontinuity = false;
  std::optional<PlaylistKey> key;  // in force for this segment; none: clear

  friend bool operator==(const MediaSegment&, const MediaSegment&) = default;
};

struct MediaPlaylist {
  std::int64_t target_duration = 0;  // s
  std::uint64_t media_sequence = 0;
  std::string type;  // EVENT, VOD or empty
  bool ended = false;
  std::vector<MediaSegment> segments;

  std::int64_t total_us() const;
  friend bool operator==(const MediaPlaylist&, const MediaPlaylist&) = default;
};

struct ParsedPlaylist {
  std::optional<MediaPlaylist> playlist;
  std::string error;  // "line 7: …" when !playlist
};

ParsedPlaylist parse_media_playlist(std::string_view text);

// The playlist as a closed VOD playlist: EXT-X-PLAYLIST-TYPE:VOD, every
// segment with its key and discontinuity, EXT-X-ENDLIST.
std::string render_vod(const MediaPlaylist& playlist);

// An attribute list (§4.2): NAME=value pairs, quoted strings kept without
// their quotes; nullopt when it does not parse.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_attributes(std::string_view text);

}  // namespace nagare::launcher
