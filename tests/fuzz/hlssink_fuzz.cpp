// libFuzzer target for the HLS segmenter and the playlist it writes:
// MPEG-TS from the muxer (or from anywhere) in, segments and a media
// playlist out.
//
// Input format:
//   byte 0: settings (bits 0-1: target 0.5/1/2/6 s; bit 2: key-frame requests;
//           bits 3-4: playlist window 0 (EVENT)/1/3/6; bit 5: AES-128 with a
//           new key every 2 segments; bit 6: an archive playlist)
//   byte 1: size of the pieces the stream is pushed in (0 = all at once)
//   then the transport stream.
//
// Checks beyond "no crash" (ASan/UBSan catch out-of-bounds and overflow):
// every segment is whole transport packets starting with a sync byte, has a
// duration of zero or more, and segments come out in order. The segments go
// through HlsWriter into memory: every playlist written starts with #EXTM3U,
// has one URI line after each EXTINF, lists only segments that are on disk
// and (but the archive) at most the window's count, and the last one ends
// with EXT-X-ENDLIST.
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "hlssink/hls_writer.hpp"
#include "hlssink/segmenter.hpp"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

void check(bool ok) {
  if (!ok) fail();
}

// Files in memory, each playlist checked as it is written.
class MemoryIo final : public nagare::hls::HlsIo {
 public:
  explicit MemoryIo(std::uint32_t window) : window_(window) {}
  std::optional<nagare::hls::IoError> write_segment(const std::string& path,
                                                    std::span<const std::uint8_t> bytes) override {
    files_[path] = bytes.size();
    return std::nullopt;
  }
  std::optional<nagare::hls::IoError> write_playlist(const std::string& path, std::string_view text) override {
    check(text.rfind("#EXTM3U\n", 0) == 0 && !text.empty() && text.back() == '\n');
    std::istringstream lines{std::string(text)};
    std::string line;
    std::uint32_t entries = 0;
    bool uri_due = false;
    while (std::getline(lines, line)) {
      if (line.rfind("#EXTINF:", 0) == 0) {
        check(!uri_due);
        uri_due = true;
      } else if (!line.empty() && line[0] != '#') {
        check(uri_due && files_.count(line) == 1);  // the playlist's folder is the segments' folder here
        uri_due = false;
        ++entries;
      }
    }
    check(!uri_due);
    check(path == "archive.m3u8" || window_ == 0 || entries <= window_);  // the archive lists them all
    last_playlist_ = std::string(text);
    files_[path] = text.size();
    return std::nullopt;
  }
  std::optional<nagare::hls::IoError> append(const std::string& path, std::string_view text) override {
    check(path == "archive.m3u8" && files_.count(path) == 1 && !text.empty() && text.back() == '\n');
    return std::nullopt;
  }
  std::optional<nagare::hls::IoError> remove(const std::string& path) override {
    check(files_.erase(path) == 1);
    return std::nullopt;
  }
  const std::string& last_playlist() const { return last_playlist_; }

 private:
  std::uint32_t window_;
  std::map<std::string, std::size_t> files_;
  std::string last_playlist_;
};

void check(const std::vector<nagare::hls::Segment>& segments) {
  for (const auto& segment : segments) {
    if (segment.bytes.size() % nagare::ts::kPacketSize != 0) fail();
    if (!segment.bytes.empty() && segment.bytes[0] != nagare::ts::kSyncByte) fail();
    if (segment.duration < 0) fail();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static constexpr std::int64_t kTargets[] = {500'000'000, 1'000'000'000, 2'000'000'000, 6'000'000'000};
  nagare::hls::Segmenter segmenter(nagare::hls::SegmenterConfig{
      .target = kTargets[data[0] & 0x03],
      .requests = (data[0] & 0x04) != 0,
  });
  const std::size_t piece = data[1] == 0 ? size : data[1];
  std::span<const std::uint8_t> stream(data + 2, size - 2);
  std::vector<nagare::hls::Segment> done;
  std::uint64_t timeline = 0;
  while (!stream.empty()) {
    const std::size_t take = std::min(piece, stream.size());
    segmenter.push(stream.first(take), done);
    stream = stream.subspan(take);
  }
  segmenter.finish(done);
  check(done);
  for (const auto& segment : done) {
    if (segment.timeline < timeline) fail();
    timeline = segment.timeline;
  }

  static constexpr std::uint32_t kWindows[] = {0, 1, 3, 6};
  const std::uint32_t window = kWindows[(data[0] >> 3) & 0x03];
  MemoryIo io(window);
  nagare::hls::WriterConfig config{.location = "s%05d.ts",
                                   .playlist_location = "index.m3u8",
                                   .playlist_root = "",
                                   .target = kTargets[data[0] & 0x03],
                                   .playlist_length = window,
                                   .max_files = window == 0 ? 0 : window + 2,
                                   .program_date_time = false,
                                   .start_offset = std::nullopt,
                                   .encryption = std::nullopt,
                                   .archive_playlist_location = ""};
  if (data[0] & 0x20)
    config.encryption = nagare::hls::WriterConfig::Encryption{.key_uri = "k", .rotation = 2, .key_location = ""};
  if (data[0] & 0x40) config.archive_playlist_location = "archive.m3u8";
  auto writer = nagare::hls::HlsWriter::create(std::move(config), io);
  check(writer.has_value());
  check(!writer->start());
  for (const auto& segment : done) check(!writer->add(segment));
  check(!writer->end());
  check(done.empty() || io.last_playlist().find("#EXT-X-ENDLIST\n") != std::string::npos);
  return 0;
}
