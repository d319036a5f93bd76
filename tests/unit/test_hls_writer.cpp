// The HLS writer (plugins/hlssink/hls_writer.hpp): segment names, the order
// of file events, URIs, and which files are deleted when. All file access
// goes to RecordingIo, which keeps every call in order and the set of files
// a file system would now hold.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hlssink/hls_writer.hpp"
#include "recording_io.hpp"

using namespace nagare::hls;
using namespace nagare::hls::test;

namespace {

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kBase = 1'795'512'600 * kSecond;  // 2026-11-24T09:30:00Z

Segment segment(std::int64_t duration, std::uint64_t timeline = 0, std::optional<std::int64_t> wall_clock = {}) {
  Segment s;
  s.bytes.assign(std::size_t{3} * 188, 0x47);
  s.duration = duration;
  s.timeline = timeline;
  s.discontinuity = timeline != 0;
  s.wall_clock = wall_clock;
  return s;
}

HlsWriter make(WriterConfig config, RecordingIo& io) {
  auto writer = HlsWriter::create(std::move(config), io);
  REQUIRE(writer);
  return std::move(*writer);
}

std::string name(int index) {
  std::string digits = std::to_string(index);
  return "segment" + std::string(5 - digits.size(), '0') + digits + ".ts";
}

// The segments on disk after writing `count`, when the `kept` newest remain.
std::set<std::string> newest(int count, int kept) {
  std::set<std::string> out{"playlist.m3u8"};
  for (int i = std::max(0, count - kept); i < count; ++i) out.insert(name(i));
  return out;
}

}  // namespace

TEST_CASE("LocationPattern takes one integer conversion like hlssink2's", "[hls-writer]") {
  auto format = [](const std::string& pattern, std::uint64_t index) {
    const auto parsed = LocationPattern::parse(pattern);
    REQUIRE(parsed);
    return parsed->format(index);
  };
  CHECK(format("segment%05d.ts", 42) == "segment00042.ts");
  CHECK(format("segment%05d.ts", 1234567) == "segment1234567.ts");
  CHECK(format("%d.ts", 7) == "7.ts");
  CHECK(format("seg-%u", 7) == "seg-7");
  CHECK(format("%5i.ts", 7) == "    7.ts");
  CHECK(format("/srv/hls/%lu.ts", 7) == "/srv/hls/7.ts");
  CHECK(format("%08lld.ts", 7) == "00000007.ts");
  CHECK(format("100%%-%d.ts", 7) == "100%-7.ts");
  CHECK(format("%d%%", 7) == "7%");
  CHECK(format("%032d", 1).size() == 32);

  for (const char* bad : {"segment.ts", "%d-%d.ts", "%s.ts", "%n", "%x.ts", "seg%", "seg%05", "%%d.ts", "%-5d", "%.3d",
                          "%033d", "%hd", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(LocationPattern::parse(bad));
  }
  RecordingIo io;
  WriterConfig config;
  config.location = "segment%s.ts";
  CHECK_FALSE(HlsWriter::create(config, io));
}

TEST_CASE("Each segment is written before the playlist that lists it", "[hls-writer]") {
  RecordingIo io;
  HlsWriter writer = make(WriterConfig{}, io);
  REQUIRE_FALSE(writer.add(segment(2 * kSecond, 0, kBase)));
  REQUIRE_FALSE(writer.add(segment(1960 * kMs, 0, kBase + 2 * kSecond)));

  REQUIRE(io.calls.size() == 4);
  CHECK((io.calls[0].op == Op::kSegment && io.calls[0].path == "segment00000.ts" && io.calls[0].size == 564));
  CHECK((io.calls[1].op == Op::kPlaylist && io.calls[1].path == "playlist.m3u8"));
  CHECK((io.calls[2].op == Op::kSegment && io.calls[2].path == "segment00001.ts"));
  CHECK((io.calls[3].op == Op::kPlaylist && io.calls[3].path == "playlist.m3u8"));
  CHECK(io.calls[1].text.find("segment00000.ts") != std::string::npos);
  CHECK(io.calls[1].text.find("segment00001.ts") == std::string::npos);
  CHECK(io.calls[3].text ==
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-TARGETDURATION:2\n"
        "#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:00.000Z\n"
        "#EXTINF:2.000,\n"
        "segment00000.ts\n"
        "#EXT-X-PROGRAM-DATE-TIME:2026-11-24T09:30:02.000Z\n"
        "#EXTINF:1.960,\n"
        "segment00001.ts\n");

  REQUIRE_FALSE(writer.end());
  REQUIRE(io.calls.size() == 5);
  CHECK(io.calls[4].op == Op::kPlaylist);
  CHECK(io.calls[4].text == io.calls[3].text + "#EXT-X-ENDLIST\n");
}

TEST_CASE("Playlist URIs are relative to the playlist's folder, or under playlist_root", "[hls-writer]") {
  RecordingIo io;
  WriterConfig config;
  auto uri_of_first = [&] {
    HlsWriter writer = make(config, io);
    REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    return writer.playlist().entries().front().uri;
  };
  config.location = "/srv/hls/live/segment%05d.ts";
  config.playlist_location = "/srv/hls/live/index.m3u8";
  CHECK(uri_of_first() == "segment00000.ts");
  config.playlist_location = "/srv/hls/index.m3u8";
  CHECK(uri_of_first() == "live/segment00000.ts");
  config.location = "live/s%d.ts";
  config.playlist_location = "index.m3u8";
  CHECK(uri_of_first() == "live/s0.ts");
  config.location = "/srv/hls/live2/s%d.ts";
  config.playlist_location = "/srv/hls/live/index.m3u8";  // "live/" is not a prefix of "live2/"
  CHECK(uri_of_first() == "/srv/hls/live2/s0.ts");

  config.location = "/srv/hls/live/segment%05d.ts";
  config.playlist_root = "https://cdn.example/live";
  CHECK(uri_of_first() == "https://cdn.example/live/segment00000.ts");
  config.playlist_root = "https://cdn.example/live/";
  CHECK(uri_of_first() == "https://cdn.example/live/segment00000.ts");
}

TEST_CASE("Segments are deleted only after leaving the playlist, beyond max_files", "[hls-writer]") {
  RecordingIo io;
  WriterConfig config;
  config.playlist_length = 3;

  SECTION("the files on disk after each of 10 segments") {
    // max_files 2 < length 3: the 3 listed stay. max_files 5: 2 unlisted stay too.
    const auto [max_files, kept] = GENERATE(std::pair{2, 3}, std::pair{3, 3}, std::pair{5, 5});
    CAPTURE(max_files);
    config.max_files = static_cast<std::uint32_t>(max_files);
    HlsWriter writer = make(config, io);
    for (int i = 1; i <= 10; ++i) {
      REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
      CAPTURE(i);
      CHECK(io.disk == newest(i, kept));
    }
  }
  SECTION("every delete follows a playlist write that no longer lists the file") {
    config.max_files = 3;
    HlsWriter writer = make(config, io);
    for (int i = 0; i < 10; ++i) REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    const Call* last_playlist = nullptr;
    std::vector<std::string> removed;
    for (const Call& call : io.calls) {
      if (call.op == Op::kPlaylist) last_playlist = &call;
      if (call.op != Op::kRemove) continue;
      REQUIRE(last_playlist);
      CHECK(last_playlist->text.find(call.path) == std::string::npos);
      removed.push_back(call.path);
    }
    CHECK(removed == std::vector<std::string>{name(0), name(1), name(2), name(3), name(4), name(5), name(6)});
  }
  SECTION("max_files 0 deletes nothing") {
    config.max_files = 0;
    HlsWriter writer = make(config, io);
    for (int i = 0; i < 10; ++i) REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    CHECK(io.of(Op::kRemove).empty());
    CHECK(io.disk == newest(10, 10));
    CHECK(writer.playlist().media_sequence() == 7);
  }
  SECTION("an EVENT playlist (length 0) keeps every segment listed and on disk") {
    config.playlist_length = 0;
    config.max_files = 2;
    HlsWriter writer = make(config, io);
    for (int i = 0; i < 10; ++i) REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    CHECK(io.of(Op::kRemove).empty());
    CHECK(io.disk == newest(10, 10));
    const std::string& text = io.calls.back().text;
    CHECK(text.find("#EXT-X-PLAYLIST-TYPE:EVENT\n") != std::string::npos);
    CHECK(text.find("#EXT-X-MEDIA-SEQUENCE:0\n") != std::string::npos);
    for (int i = 0; i < 10; ++i) CHECK(text.find(name(i)) != std::string::npos);
  }
}

TEST_CASE("A failed segment write leaves the playlist as it was", "[hls-writer]") {
  RecordingIo io;
  HlsWriter writer = make(WriterConfig{}, io);
  for (int i = 0; i < 3; ++i) REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
  const std::string before = io.calls.back().text;

  io.fail = {Op::kSegment, name(3)};
  const auto error = writer.add(segment(2 * kSecond));
  REQUIRE(error);
  CHECK(error->path == name(3));
  CHECK(error->error == EIO);
  CHECK(io.calls.back().failed);  // no playlist write after it
  CHECK(io.of(Op::kPlaylist).size() == 3);
  CHECK(writer.playlist().entries().size() == 3);
  CHECK(writer.stats().segments == 3);
  CHECK(io.disk.count(name(3)) == 0);

  // The next segment takes the name that was never written.
  REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
  CHECK(io.calls[io.calls.size() - 2].path == name(3));
  CHECK(io.calls.back().text.find(name(3)) != std::string::npos);
  CHECK(io.calls.back().text.find(before.substr(before.find("#EXTINF"))) != std::string::npos);
}

TEST_CASE("Failed playlist writes and deletes are reported and retried", "[hls-writer]") {
  RecordingIo io;
  WriterConfig config;
  config.playlist_length = 1;
  config.max_files = 1;
  HlsWriter writer = make(config, io);
  REQUIRE_FALSE(writer.add(segment(2 * kSecond)));

  SECTION("playlist: the error names it; nothing is deleted; the next write lists the segment") {
    io.fail = {Op::kPlaylist, "playlist.m3u8"};
    const auto error = writer.add(segment(2 * kSecond));
    REQUIRE(error);
    CHECK(error->path == "playlist.m3u8");
    CHECK(io.of(Op::kRemove).empty());
    CHECK(io.disk.count(name(0)) == 1);  // players may still read the old playlist
    REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    CHECK(io.of(Op::kPlaylist).back().text.find(name(2)) != std::string::npos);
    CHECK(io.disk == newest(3, 1));
  }
  SECTION("remove: the error names the file, and the next add removes it") {
    io.fail = {Op::kRemove, name(0)};
    const auto error = writer.add(segment(2 * kSecond));
    REQUIRE(error);
    CHECK(error->path == name(0));
    CHECK(io.disk.count(name(0)) == 1);
    REQUIRE_FALSE(writer.add(segment(2 * kSecond)));
    CHECK(io.disk == newest(3, 1));
  }
}

TEST_CASE("Writer stats: drift is ΣEXTINF − N × target per timeline", "[hls-writer]") {
  RecordingIo io;
  HlsWriter writer = make(WriterConfig{}, io);  // target 2 s
  REQUIRE_FALSE(writer.add(segment(2100 * kMs)));
  CHECK(writer.stats().drift == 100 * kMs);
  REQUIRE_FALSE(writer.add(segment(2000 * kMs)));
  CHECK(writer.stats().drift == 100 * kMs);
  REQUIRE_FALSE(writer.add(segment(1950 * kMs)));
  CHECK(writer.stats().drift == 50 * kMs);

  // A new timeline starts counting again.
  REQUIRE_FALSE(writer.add(segment(2200 * kMs, 1)));
  CHECK(writer.stats().drift == 200 * kMs);
  CHECK(writer.stats().segments == 4);
  CHECK(writer.stats().last_duration == 2200 * kMs);
  CHECK(writer.stats().total_duration == 8250 * kMs);
  CHECK(io.calls.back().text.find("#EXT-X-DISCONTINUITY\n#EXTINF:2.200,\nsegment00003.ts\n") != std::string::npos);
}
