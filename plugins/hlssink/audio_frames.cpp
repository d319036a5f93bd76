#include "audio_frames.hpp"

namespace nagare::hls {

namespace {

// Bitrates in kbit/s by [MPEG-1?][layer-1][index]; index 0 is free format
// and 15 is forbidden.
constexpr std::uint16_t kBitrates[2][3][15] = {
    {// MPEG-2 and 2.5 (LSF)
     {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
     {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}},
    {// MPEG-1
     {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
     {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
     {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}},
};
constexpr std::uint32_t kMpeg1Rates[3] = {44100, 48000, 32000};
constexpr std::uint32_t kAdtsRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                          22050, 16000, 12000, 11025, 8000,  7350};

}  // namespace

std::int64_t AudioFrame::duration_ns() const {
  return sample_rate ? static_cast<std::int64_t>(samples) * 1'000'000'000 / sample_rate : 0;
}

std::optional<AudioFrame> parse_mpeg_audio_header(std::span<const std::uint8_t> b) {
  if (b.size() < 4 || b[0] != 0xff || (b[1] & 0xe0) != 0xe0) return std::nullopt;
  const int version = (b[1] >> 3) & 0x03;  // 0: 2.5, 1: reserved, 2: 2, 3: 1
  const int layer_bits = (b[1] >> 1) & 0x03;
  const int bitrate_index = b[2] >> 4;
  const int rate_index = (b[2] >> 2) & 0x03;
  if (version == 1 || layer_bits == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3) {
    return std::nullopt;
  }
  const int layer = 4 - layer_bits;
  const bool mpeg1 = version == 3;
  const bool padding = (b[2] & 0x02) != 0;
  AudioFrame frame;
  frame.sample_rate = kMpeg1Rates[rate_index] >> (mpeg1 ? 0 : (version == 2 ? 1 : 2));
  const std::uint32_t bitrate = kBitrates[mpeg1 ? 1 : 0][layer - 1][bitrate_index] * 1000u;
  if (layer == 1) {
    frame.samples = 384;
    frame.bytes = (12 * bitrate / frame.sample_rate + (padding ? 1 : 0)) * 4;
  } else {
    frame.samples = (layer == 3 && !mpeg1) ? 576 : 1152;
    frame.bytes = frame.samples / 8 * bitrate / frame.sample_rate + (padding ? 1 : 0);
  }
  return frame;
}

std::optional<AudioFrame> parse_adts_header(std::span<const std::uint8_t> b) {
  if (b.size() < 7 || b[0] != 0xff || (b[1] & 0xf6) != 0xf0) return std::nullopt;  // sync, layer 0
  const int rate_index = (b[2] >> 2) & 0x0f;
  if (rate_index >= 13) return std::nullopt;
  AudioFrame frame;
  frame.sample_rate = kAdtsRates[rate_index];
  frame.bytes = ((b[3] & 0x03u) << 11) | (std::uint32_t{b[4]} << 3) | (b[5] >> 5);
  const std::uint32_t header = (b[1] & 0x01) ? 7 : 9;  // protection_absent
  if (frame.bytes < header) return std::nullopt;
  frame.samples = 1024 * ((b[6] & 0x03u) + 1);
  return frame;
}

std::optional<AudioFrame> parse_audio_header(ts::StreamKind kind, std::span<const std::uint8_t> bytes) {
  switch (kind) {
    case ts::StreamKind::kMpegAudio: return parse_mpeg_audio_header(bytes);
    case ts::StreamKind::kAdts: return parse_adts_header(bytes);
    default: return std::nullopt;
  }
}

AudioRun walk_audio_frames(ts::StreamKind kind, std::span<const std::uint8_t> payload) {
  AudioRun run;
  std::size_t offset = 0;
  while (offset < payload.size()) {
    const auto frame = parse_audio_header(kind, payload.subspan(offset));
    if (!frame || frame->bytes == 0 || offset + frame->bytes > payload.size()) return run;
    if (run.sample_rate == 0) run.sample_rate = frame->sample_rate;
    ++run.frames;
    run.samples += frame->samples;
    offset += frame->bytes;
  }
  run.complete = true;
  return run;
}

}  // namespace nagare::hls
