// The multivariant playlist (launcher/multivariant.hpp): the CODECS string
// from the SPS the encoder really wrote, bandwidth estimates, and the text
// itself in RFC 8216 §4.3.4.2 form.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "multivariant.hpp"

using namespace nagare::launcher;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The start of real x264 byte streams (GStreamer 1.22.0, x264 0.164,
// Debian 12), each an access unit delimiter, then the SPS, then the PPS:
//   gst-launch-1.0 videotestsrc num-buffers=1
//     ! video/x-raw,width=640,height=480,framerate=30/1 ! x264enc aud=true
//     ! video/x-h264,profile=PROFILE,stream-format=byte-stream ! filesink
// PROFILE constrained-baseline: SPS 67 42 c0 1e (profile 66, constraint
// flags 0 and 1 set, level 3.0)
const Bytes kBaseline = {
    0x00, 0x00, 0x00, 0x01, 0x09, 0x10,                                                  // AUD
    0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x3d, 0xb0, 0x16,  // SPS
    0xa0, 0xc0, 0xc0, 0xd4, 0xa0, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x07, 0x91,
    0xe2, 0xc5, 0xc9, 0x00, 0x00, 0x00, 0x01, 0x68, 0xcb, 0x8c, 0xb2,  // PPS
};
// PROFILE main: SPS 67 4d 40 1e (profile 77, constraint flag 1, level 3.0)
const Bytes kMain = {
    0x00, 0x00, 0x00, 0x01, 0x09, 0x10, 0x00, 0x00, 0x00, 0x01, 0x67, 0x4d, 0x40, 0x1e, 0xec, 0xa0,
    0x50, 0x1e, 0xd8, 0x0b, 0x50, 0x60, 0x60, 0x6a, 0x50, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00,
    0x03, 0x03, 0xc8, 0xf1, 0x62, 0xd9, 0x60, 0x00, 0x00, 0x00, 0x01, 0x68, 0xeb, 0xec, 0xb2,
};
// PROFILE high: SPS 67 64 00 1e (profile 100, no constraint flags, level 3.0)
const Bytes kHigh = {
    0x00, 0x00, 0x00, 0x01, 0x09, 0x10, 0x00, 0x00, 0x00, 0x01, 0x67, 0x64, 0x00, 0x1e, 0xac, 0xd9,
    0x40, 0xa0, 0x3d, 0xb0, 0x16, 0xa0, 0xc0, 0xc0, 0xd4, 0xa0, 0x00, 0x00, 0x03, 0x00, 0x20, 0x00,
    0x00, 0x07, 0x91, 0xe2, 0xc5, 0xb2, 0xc0, 0x00, 0x00, 0x00, 0x01, 0x68, 0xeb, 0xec, 0xb2, 0x2c,
};

// The same stream with every start code shortened to three bytes. Annex B
// asks for the four-byte form before parameter sets, but some encoders and
// demuxers write the short one everywhere, and both must be read.
Bytes three_byte_start_codes(const Bytes& in) {
  Bytes out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (i + 3 < in.size() && in[i] == 0 && in[i + 1] == 0 && in[i + 2] == 0 && in[i + 3] == 1) continue;
    out.push_back(in[i]);
  }
  return out;
}

std::optional<std::string> codec(const Bytes& b) { return avc1_codec_from_annexb(b); }

Rendition rendition(std::int64_t video_bps, std::int64_t audio_bps, AudioCodec codec = AudioCodec::kMp3) {
  Rendition r;
  r.video = {640, 480, 30, video_bps, false};
  r.audio = {audio_bps, codec};
  return r;
}

}  // namespace

TEST_CASE("multivariant: avc1 codec from real x264 SPSs", "[multivariant]") {
  CHECK(codec(kBaseline) == "avc1.42c01e");
  CHECK(codec(kMain) == "avc1.4d401e");
  CHECK(codec(kHigh) == "avc1.64001e");
}

TEST_CASE("multivariant: avc1 codec with three-byte start codes", "[multivariant]") {
  const Bytes short_codes = three_byte_start_codes(kBaseline);
  REQUIRE(short_codes.size() == kBaseline.size() - 3);
  CHECK(codec(short_codes) == "avc1.42c01e");
  CHECK(codec(three_byte_start_codes(kHigh)) == "avc1.64001e");
}

TEST_CASE("multivariant: avc1 codec when the SPS is not the first NAL", "[multivariant]") {
  // After an IDR slice and an SEI whose payloads have bytes that would look
  // like an SPS header if read without their start codes.
  Bytes b = {0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x67, 0x42, 0xc0, 0x1f,   // IDR slice
             0x00, 0x00, 0x01, 0x06, 0x05, 0x67, 0x64, 0x00, 0x28, 0x80};  // SEI
  b.insert(b.end(), kMain.begin(), kMain.end());
  CHECK(codec(b) == "avc1.4d401e");

  // The first SPS counts when there are two.
  Bytes two = kHigh;
  two.insert(two.end(), kBaseline.begin(), kBaseline.end());
  CHECK(codec(two) == "avc1.64001e");

  // nal_ref_idc does not matter, only the type.
  const Bytes low_ref = {0x00, 0x00, 0x01, 0x27, 0x42, 0xe0, 0x1f, 0xda};
  CHECK(codec(low_ref) == "avc1.42e01f");
}

TEST_CASE("multivariant: no complete SPS gives nullopt", "[multivariant]") {
  CHECK_FALSE(codec({}));
  CHECK_FALSE(codec({0x00, 0x00, 0x00, 0x01}));
  // The SPS cut before level_idc, with either start code.
  CHECK_FALSE(codec({0x00, 0x00, 0x00, 0x01, 0x67, 0x42, 0xc0}));
  CHECK_FALSE(codec({0x00, 0x00, 0x01, 0x67, 0x42, 0xc0}));
  CHECK_FALSE(codec({0x00, 0x00, 0x01, 0x67}));
  // Just enough: the header and the three bytes.
  CHECK(codec({0x00, 0x00, 0x01, 0x67, 0x42, 0xc0, 0x1f}) == "avc1.42c01f");
  // A stream of only PPS and slices.
  CHECK_FALSE(codec({0x00, 0x00, 0x00, 0x01, 0x68, 0xcb, 0x8c, 0xb2, 0x00, 0x00, 0x01, 0x65, 0x88, 0x84, 0x00, 0x20}));
  // The SPS of the real stream with its end cut off.
  const Bytes cut(kBaseline.begin(), kBaseline.begin() + 6 + 4 + 3);  // AUD, start code, 67 42 c0
  CHECK_FALSE(codec(cut));
  // No start code at all: an SPS without one (avcC style) is not Annex B.
  CHECK_FALSE(codec({0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0}));
}

TEST_CASE("multivariant: audio codec strings", "[multivariant]") {
  CHECK(audio_codec_string(AudioCodec::kMp3) == "mp4a.40.34");
  CHECK(audio_codec_string(AudioCodec::kAac) == "mp4a.40.2");
}

TEST_CASE("multivariant: bandwidth estimates", "[multivariant]") {
  VariantInfo info;
  // Audio alone is exact: 64 kb/s MP3 is a 192-byte frame every 24 ms, a
  // 206-byte PES, two transport packets (376 bytes); plus a PAT and a PMT
  // per one-second segment.
  estimate_bandwidth(rendition(0, 64'000), 0, 30, 1.0, info);
  CHECK(info.average_bps == 125'333 + 3'008);
  // 96 kb/s AAC: 256 bytes + 7 of ADTS every 1024 samples, also two packets.
  estimate_bandwidth(rendition(0, 96'000, AudioCodec::kAac), 0, 30, 2.0, info);
  CHECK(info.average_bps == 141'000 + 1'504);

  // Against real segments: 320x240@15 at 300 kb/s with 96 kb/s AAC measured
  // 467 kb/s in tests/launcher (the overhead of 6% once assumed said 420).
  estimate_bandwidth(rendition(300'000, 96'000, AudioCodec::kAac), 300'000, 15, 1.0, info);
  CHECK(info.average_bps > 467'000 * 0.97);
  CHECK(info.average_bps < 467'000 * 1.03);

  // The video rate is the one passed in (a passthrough rendition's is
  // measured), not the rendition's own.
  Rendition pass = rendition(0, 64'000);
  pass.video.passthrough = true;
  VariantInfo measured;
  estimate_bandwidth(pass, 3'000'000, 30, 2.0, measured);
  estimate_bandwidth(rendition(3'000'000, 64'000), 3'000'000, 30, 2.0, info);
  CHECK(measured.average_bps == info.average_bps);

  // The peak allows half as much video again, and more rate costs more.
  for (std::int64_t v : {50'000LL, 1'000'000LL, 50'000'000LL}) {
    VariantInfo low;
    VariantInfo high;
    estimate_bandwidth(rendition(v, 64'000), v, 30, 2.0, low);
    estimate_bandwidth(rendition(v, 64'000), v + 100'000, 30, 2.0, high);
    CHECK(low.peak_bps > low.average_bps);
    CHECK(low.peak_bps - low.average_bps > v / 2);
    CHECK(high.average_bps > low.average_bps);
  }
}

TEST_CASE("multivariant: the playlist text", "[multivariant]") {
  VariantInfo hd;
  hd.uri = "0/index.m3u8";
  hd.video_codec = "avc1.64001f";
  hd.audio_codec = "mp4a.40.34";
  hd.width = 1280;
  hd.height = 720;
  hd.frame_rate = 30;
  hd.average_bps = 2'785'680;
  hd.peak_bps = 4'110'680;
  VariantInfo sd;
  sd.uri = "1/index.m3u8";
  sd.video_codec = "avc1.42c01e";
  sd.audio_codec = "mp4a.40.2";
  sd.width = 640;
  sd.height = 360;
  sd.frame_rate = 29.97;
  sd.average_bps = 1'127'840;
  sd.peak_bps = 1'657'840;

  CHECK(render_multivariant({hd, sd}) ==
        "#EXTM3U\n"
        "#EXT-X-VERSION:3\n"
        "#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=4110680,AVERAGE-BANDWIDTH=2785680,RESOLUTION=1280x720,FRAME-RATE=30.000,"
        "CODECS=\"avc1.64001f,mp4a.40.34\"\n"
        "0/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=1657840,AVERAGE-BANDWIDTH=1127840,RESOLUTION=640x360,FRAME-RATE=29.970,"
        "CODECS=\"avc1.42c01e,mp4a.40.2\"\n"
        "1/index.m3u8\n");
}

TEST_CASE("multivariant: unknown size and frame rate are left out", "[multivariant]") {
  // A passthrough rendition before its first segment knows neither.
  VariantInfo v;
  v.uri = "0/index.m3u8";
  v.video_codec = "avc1.42c01f";
  v.audio_codec = "mp4a.40.34";
  v.average_bps = 1000;
  v.peak_bps = 2000;
  CHECK(render_multivariant({v}) ==
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=2000,AVERAGE-BANDWIDTH=1000,CODECS=\"avc1.42c01f,mp4a.40.34\"\n"
        "0/index.m3u8\n");
  // RESOLUTION needs both dimensions.
  v.width = 1280;
  CHECK(render_multivariant({v}).find("RESOLUTION") == std::string::npos);
  // FRAME-RATE with three decimals, rounded.
  v.frame_rate = 59.94006;
  CHECK(render_multivariant({v}).find(",FRAME-RATE=59.940,") != std::string::npos);
  v.frame_rate = 24000.0 / 1001;
  CHECK(render_multivariant({v}).find(",FRAME-RATE=23.976,") != std::string::npos);

  CHECK(render_multivariant({}) == "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n");
}
