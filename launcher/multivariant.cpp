#include "multivariant.hpp"

#include <cmath>
#include <cstdio>

namespace nagare::launcher {

namespace {

// MPEG-TS costs 4 header bytes in every 188, plus PES headers and the
// PAT/PMT at each segment start: about 6% at these rates.
constexpr double kTsOverhead = 1.06;
// x264 in CBR with a one-second VBV buffer stays within about 1.5 × its rate
// over one segment; key frames at segment starts are what push it there.
constexpr double kVideoPeak = 1.5;

std::string hex2(unsigned v) {
  char buf[3];
  std::snprintf(buf, sizeof buf, "%02x", v & 0xff);
  return buf;
}

}  // namespace

std::optional<std::string> avc1_codec_from_annexb(std::span<const std::uint8_t> b) {
  // A start code (00 00 01; a four-byte one ends the same way) followed by a
  // NAL header of type 7, then profile_idc, the constraint byte, level_idc.
  for (std::size_t i = 0; i + 6 < b.size(); ++i) {
    if (b[i] != 0 || b[i + 1] != 0 || b[i + 2] != 1) continue;
    if ((b[i + 3] & 0x1f) == 7) {
      return "avc1." + hex2(b[i + 4]) + hex2(b[i + 5]) + hex2(b[i + 6]);
    }
    i += 2;
  }
  return std::nullopt;
}

std::string audio_codec_string(AudioCodec codec) {
  // RFC 6381 with the MPEG-4 audio object types: 2 is AAC-LC, 34 is MPEG-1
  // Layer III (what hls.js and Safari expect for MP3 in MPEG-TS).
  return codec == AudioCodec::kAac ? "mp4a.40.2" : "mp4a.40.34";
}

void estimate_bandwidth(const Rendition& r, std::int64_t video_bps, VariantInfo& info) {
  const double audio = static_cast<double>(r.audio.bps);
  const double video = static_cast<double>(video_bps);
  info.average_bps = std::llround((video + audio) * kTsOverhead);
  info.peak_bps = std::llround((video * kVideoPeak + audio) * kTsOverhead);
}

std::string render_multivariant(const std::vector<VariantInfo>& variants) {
  std::string out = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n";
  for (const auto& v : variants) {
    out += "#EXT-X-STREAM-INF:BANDWIDTH=" + std::to_string(v.peak_bps) +
           ",AVERAGE-BANDWIDTH=" + std::to_string(v.average_bps);
    if (v.width > 0 && v.height > 0) out += ",RESOLUTION=" + std::to_string(v.width) + "x" + std::to_string(v.height);
    if (v.frame_rate > 0) {
      char rate[32];
      std::snprintf(rate, sizeof rate, "%.3f", v.frame_rate);
      out += ",FRAME-RATE=";
      out += rate;
    }
    out += ",CODECS=\"" + v.video_codec + "," + v.audio_codec + "\"\n" + v.uri + "\n";
  }
  return out;
}

}  // namespace nagare::launcher
