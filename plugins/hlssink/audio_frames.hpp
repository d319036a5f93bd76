// Audio frame headers: how long each MP3 or AAC (ADTS) frame is, in bytes
// and in samples. The segmenter cuts audio only between frames, and plans
// its cuts on the grid these frames make.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ts.hpp"

namespace nagare::hls {

struct AudioFrame {
  std::uint32_t sample_rate = 0;
  std::uint32_t samples = 0;  // per channel
  std::uint32_t bytes = 0;    // the whole frame, header included

  // Duration in nanoseconds, rounded down.
  std::int64_t duration_ns() const;
};

// MPEG-1/2/2.5 audio, layers I–III (ISO/IEC 11172-3 §2.4.1.3, 13818-3):
// Layer III is 1152 samples per frame in MPEG-1 and 576 in MPEG-2/2.5.
// Free-format bitrate and reserved fields are rejected.
std::optional<AudioFrame> parse_mpeg_audio_header(std::span<const std::uint8_t> bytes);

// ADTS (ISO/IEC 13818-7 §6.2): 1024 samples per raw data block.
std::optional<AudioFrame> parse_adts_header(std::span<const std::uint8_t> bytes);

std::optional<AudioFrame> parse_audio_header(ts::StreamKind kind, std::span<const std::uint8_t> bytes);

// Walks the frames of one PES payload. `frames` counts whole frames; a
// payload that ends inside a frame or meets a bad header stops the walk.
struct AudioRun {
  std::uint32_t frames = 0;
  std::uint64_t samples = 0;
  std::uint32_t sample_rate = 0;  // of the first frame; 0 when none parsed
  bool complete = false;          // the payload was whole frames and nothing else
};
AudioRun walk_audio_frames(ts::StreamKind kind, std::span<const std::uint8_t> payload);

}  // namespace nagare::hls
