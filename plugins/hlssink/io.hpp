// Where the HLS sink's files go. The writer only ever calls these four
// operations, so tests can record them in memory and production can make
// the first three atomic.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace nagare::hls {

struct IoError {
  std::string path;
  int error = 0;             // errno
  std::string what() const;  // "PATH: strerror"
};

class HlsIo {
 public:
  virtual ~HlsIo() = default;
  // A complete segment. Readers never see part of it.
  virtual std::optional<IoError> write_segment(const std::string& path, std::span<const std::uint8_t> bytes) = 0;
  // The playlist, replacing the previous one atomically.
  virtual std::optional<IoError> write_playlist(const std::string& path, std::string_view text) = 0;
  virtual std::optional<IoError> remove(const std::string& path) = 0;
  // Text added at the end of a file (the archive playlist as it grows). Not
  // atomic: only for files no player reads until they are replaced whole.
  virtual std::optional<IoError> append(const std::string& path, std::string_view text) = 0;
};

// Files on a POSIX file system. Each file is written under a temporary name
// next to it (PATH.tmp), flushed to disk with fsync, then renamed over the
// old one: a reader sees the old file or the new one, never a mix, and a
// failure leaves what was there before untouched.
class FileIo final : public HlsIo {
 public:
  std::optional<IoError> write_segment(const std::string& path, std::span<const std::uint8_t> bytes) override;
  std::optional<IoError> write_playlist(const std::string& path, std::string_view text) override;
  std::optional<IoError> remove(const std::string& path) override;
  std::optional<IoError> append(const std::string& path, std::string_view text) override;
};

}  // namespace nagare::hls
