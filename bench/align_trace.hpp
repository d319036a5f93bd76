// The two-stream RTP trace that align-bench feeds to the buffers: made in
// memory from a seed, so every run and every machine sees the same packets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nagare::bench {

inline constexpr std::int64_t kMs = 1'000'000;
inline constexpr std::int64_t kSecond = 1'000 * kMs;

inline constexpr std::size_t kAudio = 0;
inline constexpr std::size_t kVideo = 1;

struct Packet {
  std::int64_t arrival = 0;  // ns of running time
  std::size_t stream = 0;    // kAudio or kVideo
  std::size_t index = 0;     // in the stream's send order
  std::vector<std::uint8_t> bytes;
};

struct Trace {
  std::vector<Packet> packets;                                // in arrival order
  std::array<std::size_t, 2> arrived{}, lost{}, reordered{};  // per stream
  std::size_t frames = 0;                                     // video
  std::size_t bytes = 0;
  std::int64_t last_arrival = 0;
};

// `seconds` of media: 48 kHz Opus-like audio (pt 111, 20 ms packets of
// 90-110 payload bytes, sent when their last sample is captured) and 30 fps
// H.264-like video (pt 96; a key frame of 12 packets every 2 s, other
// frames 1-8; 1050-1150 payload bytes, paced 1 ms apart, marker on the
// last). Payloads are filler. Each packet arrives 20 ms + uniform 0-40 ms
// after it is sent, 0.5% of them 40-80 ms later still, and 1% never arrive.
Trace make_trace(int seconds, std::uint64_t seed);

}  // namespace nagare::bench
