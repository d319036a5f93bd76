#include "multivariant.hpp"

#include <cmath>
#include <cstdio>

namespace nagare::launcher {

namespace {

constexpr double kTsPacket = 188;
constexpr double kTsPayload = 184;          // after the 4-byte header
constexpr double kPesHeader = 14;           // with a PTS
constexpr double kVideoPesHeader = 19 + 6;  // PTS and DTS, and an access unit delimiter
// x264 in CBR with a one-second VBV buffer stays within about 1.5 × its rate
// over one segment; key frames at segment starts are what push it there.
constexpr double kVideoPeak = 1.5;

// Bits per second on the wire for an audio stream of fixed-size frames.
double audio_on_wire(const AudioSpec& a) {
  constexpr double kRate = 48000;
  // MPEG-1 Layer III: 144 × bitrate / rate bytes per 1152-sample frame (a
  // whole number at 48 kHz); AAC: 1024 samples per frame plus a 7-byte ADTS
  // header.
  const bool mp3 = a.codec == AudioCodec::kMp3;
  const double samples = mp3 ? 1152 : 1024;
  const double frame = static_cast<double>(a.bps) / 8 * samples / kRate + (mp3 ? 0 : 7);
  const double packets = std::ceil((frame + kPesHeader) / kTsPayload);
  return packets * kTsPacket * 8 * kRate / samples;
}

// The same for video, whose frames vary in size: half a padded packet per
// frame on average.
double video_on_wire(double bps, double fps) {
  if (bps <= 0) return 0;
  const double frame = bps / 8 / fps;
  return ((frame + kVideoPesHeader) / kTsPayload + 0.5) * kTsPacket * 8 * fps;
}

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

void estimate_bandwidth(const Rendition& r, std::int64_t video_bps, double fps, double segment_duration,
                        VariantInfo& info) {
  if (fps <= 0) fps = 30;
  const double audio = audio_on_wire(r.audio);
  // Each segment opens with a PAT and a PMT.
  const double tables = 2 * kTsPacket * 8 / segment_duration;
  const auto video = static_cast<double>(video_bps);
  info.average_bps = std::llround(video_on_wire(video, fps) + audio + tables);
  info.peak_bps = std::llround(video_on_wire(video * kVideoPeak, fps) + audio + tables);
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
