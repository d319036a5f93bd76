// libFuzzer target for the HLS segmenter: MPEG-TS from the muxer (or from
// anywhere) in, segments out.
//
// Input format:
//   byte 0: settings (bits 0-1: target 0.5/1/2/6 s; bit 2: key-frame requests)
//   byte 1: size of the pieces the stream is pushed in (0 = all at once)
//   then the transport stream.
//
// Checks beyond "no crash" (ASan/UBSan catch out-of-bounds and overflow):
// every segment is whole transport packets starting with a sync byte, has a
// duration of zero or more, and segments come out in order.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hlssink/segmenter.hpp"

namespace {

[[noreturn]] void fail() { __builtin_trap(); }

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
  return 0;
}
