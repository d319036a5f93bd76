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

  // Writes the segment, then the playlist that lists it.
  std::optional<IoError> add(const Segment& segment);
  // End of stream: the playlist is closed with EXT-X-ENDLIST.
  std::optional<IoError> end();

  const WriterStats& stats() const { return stats_; }
  const Playlist& playlist() const { return playlist_; }

 private:
  HlsWriter(WriterConfig config, LocationPattern pattern, HlsIo& io);
  std::string uri_for(const std::string& path) const;
  std::optional<IoError> delete_old_files();

  WriterConfig config_;
  LocationPattern pattern_;
  HlsIo* io_;
  Playlist playlist_;
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
