// FileIo (plugins/hlssink/io.hpp) on a real file system, in a fresh folder
// under $TMPDIR (or /tmp) that each test removes again: files are written
// through PATH.tmp and renamed, so readers see the old file or the new one.
#include <catch2/catch.hpp>

#include "temp_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "hlssink/io.hpp"

using nagare::hls::FileIo;
using Bytes = std::vector<std::uint8_t>;

namespace {

using nagare::test::TempDir;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

Bytes bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

// Linux: the descriptors this process has open.
std::size_t open_descriptors() {
  const auto fds = std::filesystem::directory_iterator("/proc/self/fd");
  return static_cast<std::size_t>(std::distance(begin(fds), end(fds)));
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_ino;
}

}  // namespace

TEST_CASE("FileIo writes segments and playlists and leaves no temporary file", "[io]") {
  TempDir dir;
  FileIo io;
  const Bytes segment = {0x47, 0x40, 0x00, 0x10, 0x00, 0xff};
  CHECK_FALSE(io.write_segment(dir / "segment00000.ts", segment));
  CHECK_FALSE(io.write_playlist(dir / "playlist.m3u8", "#EXTM3U\n"));
  CHECK_FALSE(io.write_segment(dir / "empty.ts", {}));
  CHECK(read(dir / "segment00000.ts") == std::string(segment.begin(), segment.end()));
  CHECK(read(dir / "playlist.m3u8") == "#EXTM3U\n");
  CHECK(read(dir / "empty.ts").empty());
  CHECK(dir.names() == std::set<std::string>{"segment00000.ts", "playlist.m3u8", "empty.ts"});
}

TEST_CASE("FileIo replaces a file by rename: a reader has the old file or the new one", "[io]") {
  TempDir dir;
  FileIo io;
  const std::string path = dir / "playlist.m3u8";
  REQUIRE_FALSE(io.write_playlist(path, "old playlist, longer than the new one\n"));
  const ino_t old_inode = inode_of(path);

  SECTION("a reader that opened the old file keeps reading all of it") {
    std::ifstream reader(path, std::ios::binary);
    REQUIRE(reader);
    REQUIRE_FALSE(io.write_playlist(path, "new\n"));
    CHECK(std::string(std::istreambuf_iterator<char>(reader), std::istreambuf_iterator<char>()) ==
          "old playlist, longer than the new one\n");
    CHECK(read(path) == "new\n");
    CHECK(inode_of(path) != old_inode);  // a new file, not the old one rewritten
    CHECK(dir.names() == std::set<std::string>{"playlist.m3u8"});
  }
  SECTION("a reader racing 200 replacements never sees a mix") {
    const std::string a(4096, 'a');
    const std::string b(12288, 'b');
    std::atomic<bool> done{false};
    std::atomic<int> torn{0};
    std::atomic<int> reads{0};
    std::thread reader([&] {
      while (!done.load()) {
        std::ifstream in(path, std::ios::binary);
        const std::string seen{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (seen != a && seen != b && seen != "old playlist, longer than the new one\n") ++torn;
        ++reads;
      }
    });
    for (int i = 0; i < 200; ++i) REQUIRE_FALSE(io.write_playlist(path, i % 2 ? a : b));
    done = true;
    reader.join();
    CHECK(torn == 0);
    CHECK(reads > 0);
    CHECK(read(path) == a);
  }
}

TEST_CASE("FileIo overwrites a stale PATH.tmp left by a crash", "[io]") {
  TempDir dir;
  FileIo io;
  {
    std::ofstream stale(dir / "segment00001.ts.tmp", std::ios::binary);
    stale << std::string(1000, 'x');
  }
  REQUIRE_FALSE(io.write_segment(dir / "segment00001.ts", bytes_of("ts")));
  CHECK(read(dir / "segment00001.ts") == "ts");
  CHECK(dir.names() == std::set<std::string>{"segment00001.ts"});
}

TEST_CASE("FileIo errors name the path and errno and leave nothing behind", "[io]") {
  TempDir dir;
  FileIo io;

  SECTION("missing folder: ENOENT") {
    const std::string path = dir / "missing/segment00000.ts";
    const auto error = io.write_segment(path, bytes_of("data"));
    REQUIRE(error);
    CHECK(error->path == path);
    CHECK(error->error == ENOENT);
    CHECK(error->what() == path + ": No such file or directory");
    CHECK(dir.names().empty());
    CHECK(io.write_playlist(dir / "missing/playlist.m3u8", "#EXTM3U\n")->error == ENOENT);
  }
  SECTION("parent is a regular file: ENOTDIR") {
    REQUIRE_FALSE(io.write_segment(dir / "file", bytes_of("x")));
    const std::string path = dir / "file/segment00000.ts";
    const auto error = io.write_segment(path, bytes_of("data"));
    REQUIRE(error);
    CHECK(error->path == path);
    CHECK(error->error == ENOTDIR);
    CHECK(read(dir / "file") == "x");
    CHECK(dir.names() == std::set<std::string>{"file"});
  }
  SECTION("the target is a folder: the rename fails and the temporary file is removed") {
    std::filesystem::create_directory(dir / "playlist.m3u8");
    const auto error = io.write_playlist(dir / "playlist.m3u8", "#EXTM3U\n");
    REQUIRE(error);
    CHECK(error->path == dir / "playlist.m3u8");
    CHECK(error->error == EISDIR);
    CHECK(dir.names() == std::set<std::string>{"playlist.m3u8"});
    CHECK(std::filesystem::is_directory(dir / "playlist.m3u8"));
  }
}

TEST_CASE("FileIo reports a failed fsync, closes the file and removes PATH.tmp", "[io]") {
  // fsync(2) refuses /dev/null with EINVAL, so a PATH.tmp that links there
  // takes the write and fails the fsync.
  TempDir dir;
  FileIo io;
  std::filesystem::create_symlink("/dev/null", dir / "segment00000.ts.tmp");
  const std::size_t before = open_descriptors();
  const auto error = io.write_segment(dir / "segment00000.ts", bytes_of("ts"));
  REQUIRE(error);
  CHECK(error->path == dir / "segment00000.ts");
  CHECK(error->error == EINVAL);
  CHECK(open_descriptors() == before);
  CHECK(dir.names().empty());
}

TEST_CASE("FileIo::remove deletes a file; a missing file is not an error", "[io]") {
  TempDir dir;
  FileIo io;
  REQUIRE_FALSE(io.write_segment(dir / "segment00000.ts", bytes_of("ts")));
  CHECK_FALSE(io.remove(dir / "segment00000.ts"));
  CHECK(dir.names().empty());
  CHECK_FALSE(io.remove(dir / "segment00000.ts"));
  CHECK_FALSE(io.remove(dir / "missing/segment00000.ts"));

  // Other failures are reported.
  REQUIRE_FALSE(io.write_segment(dir / "file", bytes_of("x")));
  const auto error = io.remove(dir / "file/segment00000.ts");
  REQUIRE(error);
  CHECK(error->error == ENOTDIR);
  CHECK(error->path == dir / "file/segment00000.ts");
}
