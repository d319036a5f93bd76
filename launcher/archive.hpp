// The archive of a broadcast (the original service's `archive` with
// `archive_destination_id`): at the end of a broadcast, its whole recording
// goes to a destination the operator registered, as
//
//   <playback_id>/b<k>/index.m3u8      multivariant playlist
//   <playback_id>/b<k>/<n>/index.m3u8  each rendition as a VOD playlist
//                                      (EXT-X-PLAYLIST-TYPE:VOD, ENDLIST)
//   <playback_id>/b<k>/<n>/b<k>-*.ts   its segments, as served (encrypted if
//                                      the channel is)
//   <playback_id>/b<k>/broadcast.mp4   the top rendition remuxed into one
//                                      MP4 (decrypted), with its audio
//   <playback_id>/b<k>/archive.json    what is there, with times
//
// Destinations are pluggable: a local directory now; an S3-compatible one
// can implement the same two operations. The work runs on a thread of its
// own, so a long broadcast's copy and remux never hold up the main loop.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "channel_config.hpp"

namespace nagare::launcher {

class ArchiveDestination {
 public:
  virtual ~ArchiveDestination() = default;
  // What it is, for logs and the archive event ("/srv/archive").
  virtual std::string describe() const = 0;
  // Puts a local file at `relative` ("pid/b1/0/b1-00000.ts"), whole or not
  // at all; false with *error otherwise.
  virtual bool put_file(const std::string& relative, const std::string& local_path, std::string* error) = 0;
  virtual bool put_text(const std::string& relative, const std::string& text, std::string* error) = 0;
  // Where a put file is, for the archive event: a path or a URL.
  virtual std::string locate(const std::string& relative) const = 0;
};

// A folder on this machine. Files are written under a temporary name and
// renamed, so a reader never sees part of one.
std::unique_ptr<ArchiveDestination> local_directory(const std::string& root);

// --archive-destination ID=DIR[,ID=DIR…] as the operator gives it; nullopt
// with *error naming the bad part.
std::optional<std::map<std::string, std::string>> parse_destinations(const std::string& spec, std::string* error);

struct ArchiveRendition {
  std::size_t index = 0;
  std::string folder;    // the rendition's output folder
  std::string playlist;  // the archive playlist's path
};

struct ArchiveKey {
  std::string key_hex;
  std::string iv_hex;
};

struct ArchiveRequest {
  std::string label;  // the folder it goes under at the destination (the playback id)
  unsigned broadcast = 0;
  std::vector<ArchiveRendition> renditions;
  std::size_t top = 0;  // index into renditions: the MP4's source
  AudioCodec audio = AudioCodec::kMp3;
  std::string multivariant;                // index.m3u8's text; URIs n/index.m3u8
  std::map<std::string, ArchiveKey> keys;  // by the URI EXT-X-KEY names
  std::int64_t started_ms = 0;             // Unix time
  std::int64_t ended_ms = 0;
};

struct ArchiveResult {
  bool ok = false;
  std::string error;
  std::string location;          // of b<k>/ at the destination
  std::string mp4;               // of broadcast.mp4, if made
  std::int64_t duration_us = 0;  // the top rendition's EXTINF sum
  std::size_t segments = 0;      // copied, all renditions
};

// Which rendition is "top": the most pixels, then the highest bitrate; a
// passthrough rendition without a size counts as the largest.
std::size_t top_rendition(const ChannelConfig& config);

class Archiver {
 public:
  // `work_dir`: where the MP4 is made before it is put.
  Archiver(std::map<std::string, std::unique_ptr<ArchiveDestination>> destinations, std::string work_dir);
  ~Archiver();
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  bool has(const std::string& destination_id) const { return destinations_.count(destination_id) != 0; }
  // Archives on the archiver's thread, one broadcast after another; `done`
  // runs on the main context (GLib's default) when it is over.
  void archive(const std::string& destination_id, ArchiveRequest request, std::function<void(ArchiveResult)> done);
  // Finishes every archive asked for, then stops the thread (on shutdown).
  void join();

 private:
  std::map<std::string, std::unique_ptr<ArchiveDestination>> destinations_;
  std::string work_dir_;
  struct Jobs;
  std::unique_ptr<Jobs> jobs_;
};

}  // namespace nagare::launcher
