#include "io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace nagare::hls {

namespace {

std::span<const std::uint8_t> text_bytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// Writes all of `bytes` to `fd`, through short writes and EINTR; 0, or the
// errno of the write that failed (EIO for one that wrote nothing).
int write_all(int fd, std::span<const std::uint8_t> bytes) {
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? errno : EIO;
    written += static_cast<std::size_t>(n);
  }
  return 0;
}

// Writes `bytes` to `path` through PATH.tmp, fsync and rename.
std::optional<IoError> replace_file(const std::string& path, std::span<const std::uint8_t> bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError{path, errno};
  if (const int error = write_all(fd, bytes); error != 0) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return IoError{path, error};
  }
  // Data first, then the name: after a crash the new name never points at
  // a file whose data did not reach the disk.
  // Close even when fsync failed; report the first error.
  const int synced = ::fsync(fd) == 0 ? 0 : errno;
  const int closed = ::close(fd) == 0 ? 0 : errno;
  if (synced != 0 || closed != 0) {
    ::unlink(temporary.c_str());
    return IoError{path, synced != 0 ? synced : closed};
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(temporary.c_str());
    return IoError{path, error};
  }
  return std::nullopt;
}

}  // namespace

std::string IoError::what() const { return path + ": " + std::strerror(error); }

std::optional<IoError> FileIo::write_segment(const std::string& path, std::span<const std::uint8_t> bytes) {
  return replace_file(path, bytes);
}

std::optional<IoError> FileIo::write_playlist(const std::string& path, std::string_view text) {
  return replace_file(path, text_bytes(text));
}

std::optional<IoError> FileIo::append(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return IoError{path, errno};
  if (const int error = write_all(fd, text_bytes(text)); error != 0) {
    ::close(fd);
    return IoError{path, error};
  }
  if (::close(fd) != 0) return IoError{path, errno};
  return std::nullopt;
}

std::optional<IoError> FileIo::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return IoError{path, errno};
  return std::nullopt;
}

}  // namespace nagare::hls
