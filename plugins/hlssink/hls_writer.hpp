// Turns finished segments into files and a playlist: names each segment,
// writes it, then the playlist that lists it, and deletes segments that
// have left the playlist once more than `max_files` are on disk.
//
// Plain C++, no GStreamer; all file access goes through HlsIo.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "encryption.hpp"
#include "io.hpp"
#include "playlist.hpp"
#include "segmenter.hpp"

namespace nagare::hls {

// A segment file pattern with one integer conversion, as hlssink2 takes it
// ("segment%05d.ts"): %d, %i or %u with an optional zero flag and width;
// "%%" is a percent sign. Anything else is refused, so a user's pattern is
// never handed to printf.
class LocationPattern {
 public:
  static std::optional<LocationPattern> parse(const std::string& pattern);
  std::string format(std::uint64_t index) const;

 private:
  std::string prefix_;
  std::string suffix_;
  int width_ = 0;
  bool zero_pad_ = false;
};

struct WriterConfig {
  std::string location = "segment%05d.ts";
  std::string playlist_location = "playlist.m3u8";
  // Prepended to segment names in the playlist; empty: the segment's path
  // relative to the playlist's folder.
  std::string playlist_root;
  std::int64_t target = 2'000'000'000;  // ns
  std::uint32_t playlist_length = 5;    // 0: keep all (EVENT playlist)
  std::uint32_t max_files = 10;         // 0: delete none
  bool program_date_time = true;
  // EXT-X-START:TIME-OFFSET, ns (negative: back from the live edge).
  std::optional<std::int64_t> start_offset;

  // AES-128 encryption of every segment (encryption.hpp).
  struct Encryption {
    std::string key_uri;         // EXT-X-KEY's URI; "{key_id}" is replaced, else ?key_id= is added
    std::uint32_t rotation = 0;  // segments per key; 0: one key per run
    std::string key_location;    // where to write each key's 16 bytes ("{key_id}" replaced); empty: nowhere
  };
  std::optional<Encryption> encryption;

  // A second playlist listing every segment of the run: EVENT while it
  // grows, VOD with EXT-X-ENDLIST at the end. Segments are then never
  // deleted. Empty: none.
  std::string archive_playlist_location;
};

struct WriterStats {
  std::uint64_t segments = 0;
  std::int64_t last_duration = 0;   // ns
  std::int64_t total_duration = 0;  // ns, every segment written
  // ΣEXTINF − N × target over the segments of the current timeline (ns).
  std::int64_t drift = 0;
};

class HlsWriter {
 public:
  // Fails (nullopt) when the location pattern is unusable.
  static std::optional<HlsWriter> create(WriterConfig config, HlsIo& io);

  // Before the first segment: makes the first encryption keys (and writes
  // them to key_location). Nothing to do without encryption.
  std::optional<IoError> start();
  // Keys made since the last call, in the order they come into use. Each is
  // made a rotation period (or the whole run) before its first segment, so
  // a caller that passes them on after each add() is always ahead of players.
  std::vector<SegmentKey> take_new_keys();

  // Writes the segment, then the playlist that lists it.
  std::optional<IoError> add(const Segment& segment);
  // End of stream: the playlist is closed with EXT-X-ENDLIST.
  std::optional<IoError> end();

  const WriterStats& stats() const { return stats_; }
  const Playlist& playlist() const { return playlist_; }
  const Playlist* archive() const { return archive_ ? &*archive_ : nullptr; }

 private:
  HlsWriter(WriterConfig config, LocationPattern pattern, HlsIo& io);
  std::string uri_for(const std::string& path, const std::string& playlist_location) const;
  std::optional<IoError> delete_old_files();
  std::optional<IoError> write_new_key_files();

  WriterConfig config_;
  LocationPattern pattern_;
  HlsIo* io_;
  Playlist playlist_;
  std::optional<Playlist> archive_;
  std::optional<KeySchedule> keys_;
  std::vector<SegmentKey> new_keys_;  // made, their files written, not yet taken
  WriterStats stats_;
  std::uint64_t next_index_ = 0;
  std::optional<std::uint64_t> timeline_;
  std::uint64_t timeline_segments_ = 0;
  std::int64_t timeline_duration_ = 0;
  struct File {
    std::string path;
    std::uint64_t sequence;  // media sequence number of its playlist entry
  };
  std::deque<File> files_;
};

}  // namespace nagare::hls
