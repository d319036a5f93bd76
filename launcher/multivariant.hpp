// The multivariant playlist (RFC 8216 §4.3.4.2) of a channel: one
// EXT-X-STREAM-INF per rendition, with the CODECS string of what the
// rendition really carries.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "channel_config.hpp"

namespace nagare::launcher {

// RFC 6381 §3.3 "avc1.PPCCLL" from the first sequence parameter set in an
// H.264 byte stream (Annex B): profile_idc, the constraint flags byte and
// level_idc, as the encoder wrote them. nullopt when there is no complete SPS.
std::optional<std::string> avc1_codec_from_annexb(std::span<const std::uint8_t> bytes);

// "mp4a.40.34" (MP3) or "mp4a.40.2" (AAC-LC).
std::string audio_codec_string(AudioCodec codec);

struct VariantInfo {
  std::string uri;          // "0/index.m3u8"
  std::string video_codec;  // "avc1.64001f"
  std::string audio_codec;  // "mp4a.40.34"
  int width = 0;
  int height = 0;
  double frame_rate = 0;         // 0: unknown, left out
  std::int64_t average_bps = 0;  // video + audio as encoded, before MPEG-TS overhead
  std::int64_t peak_bps = 0;
};

// BANDWIDTH and AVERAGE-BANDWIDTH for a rendition (RFC 8216 §4.3.4.2): its
// encoders' rates as they come out of the MPEG-TS muxer. Every audio frame
// and video frame is a PES of its own whose last transport packet is padded
// to 188 bytes, so small audio frames cost far more than 4 in 188: 64 kb/s
// MP3 takes about 125 kb/s. The peak allows for a rate-controlled encoder's
// excursions within a segment (key frames at segment starts).
void estimate_bandwidth(const Rendition& rendition, std::int64_t video_bps, double fps, double segment_duration,
                        VariantInfo& info);

std::string render_multivariant(const std::vector<VariantInfo>& variants);

}  // namespace nagare::launcher
