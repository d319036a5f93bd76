// Audio frame headers (plugins/hlssink/audio_frames.hpp): MPEG audio
// (ISO/IEC 11172-3 §2.4.2.3, 13818-3 for the lower sampling frequencies)
// and ADTS (ISO/IEC 13818-7 §6.2). The headers are written by hand, each
// byte explained; the expected frame sizes are the spec's formulas worked
// out here (Layer I: (12 × bitrate / rate + padding) × 4 bytes; Layer II
// and MPEG-1 Layer III: 144 × bitrate / rate + padding; MPEG-2 Layer III:
// 72 × bitrate / rate + padding, all rounded down).
#include <catch2/catch.hpp>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "hlssink/audio_frames.hpp"
#include "ts_builder.hpp"

using namespace nagare::hls;
using nagare::ts::StreamKind;
using Bytes = std::vector<std::uint8_t>;

namespace {

// An MPEG audio header. byte1: 111 sync bits, version (11 MPEG-1, 10
// MPEG-2, 00 MPEG-2.5), layer (11 I, 10 II, 01 III), protection_absent=1.
// byte2: bitrate_index, sampling_frequency, padding_bit, private_bit.
Bytes mpeg(std::uint8_t byte1, int bitrate_index, int rate_index, bool padding = false) {
  return {0xff, byte1, static_cast<std::uint8_t>((bitrate_index << 4) | (rate_index << 2) | (padding ? 0x02 : 0)),
          0xc4};
}
constexpr std::uint8_t kMpeg1Layer3 = 0xfb;
constexpr std::uint8_t kMpeg1Layer2 = 0xfd;
constexpr std::uint8_t kMpeg1Layer1 = 0xff;
constexpr std::uint8_t kMpeg2Layer3 = 0xf3;
constexpr std::uint8_t kMpeg25Layer3 = 0xe3;

AudioFrame mp3(const Bytes& header) {
  const auto frame = parse_mpeg_audio_header(header);
  REQUIRE(frame);
  return *frame;
}

AudioFrame aac(const Bytes& header) {
  const auto frame = parse_adts_header(header);
  REQUIRE(frame);
  return *frame;
}

// Concatenates frames into one PES payload.
Bytes join(std::initializer_list<Bytes> frames) {
  Bytes out;
  for (const Bytes& f : frames) out.insert(out.end(), f.begin(), f.end());
  return out;
}

}  // namespace

TEST_CASE("MPEG-1 Layer III frame sizes at 48, 44.1 and 32 kHz", "[audio-frames]") {
  // 128 kbit/s is bitrate_index 9; 320 kbit/s is 14.
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 1)).bytes == 384);  // 48 kHz: 144 × 128000 / 48000
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 1, true)).bytes == 385);
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 0)).bytes == 417);  // 44.1 kHz: 417.96
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 0, true)).bytes == 418);
  CHECK(mp3(mpeg(kMpeg1Layer3, 14, 0)).bytes == 1044);  // 320 kbit/s at 44.1 kHz: 1044.9
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 2)).bytes == 576);    // 32 kHz
  CHECK(mp3(mpeg(kMpeg1Layer3, 1, 2)).bytes == 144);    // 32 kbit/s at 32 kHz

  const AudioFrame frame = mp3(mpeg(kMpeg1Layer3, 9, 0));
  CHECK(frame.sample_rate == 44100);
  CHECK(frame.samples == 1152);
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 1)).sample_rate == 48000);
  CHECK(mp3(mpeg(kMpeg1Layer3, 9, 2)).sample_rate == 32000);

  // The builder's frames (32 kbit/s mono) agree with the parser.
  CHECK(mp3(nagare::test::mp3_frame(48000)).bytes == 96);
  CHECK(mp3(nagare::test::mp3_frame(44100)).bytes == 104);
  CHECK(mp3(nagare::test::mp3_frame(44100)).samples == 1152);
}

TEST_CASE("MPEG-2 and 2.5 Layer III frames hold 576 samples", "[audio-frames]") {
  // MPEG-2: rates halve (22.05/24/16 kHz); 64 kbit/s is index 8 in the
  // lower-sampling-frequency table.
  const AudioFrame mpeg2 = mp3(mpeg(kMpeg2Layer3, 8, 1));
  CHECK(mpeg2.sample_rate == 24000);
  CHECK(mpeg2.samples == 576);
  CHECK(mpeg2.bytes == 192);                                // 72 × 64000 / 24000
  CHECK(mp3(mpeg(kMpeg2Layer3, 8, 0, true)).bytes == 209);  // 22.05 kHz: 208.98 + 1
  CHECK(mp3(mpeg(kMpeg2Layer3, 8, 0)).sample_rate == 22050);

  // MPEG-2.5: rates quarter (11.025/12/8 kHz); 8 kbit/s is index 1.
  const AudioFrame mpeg25 = mp3(mpeg(kMpeg25Layer3, 1, 2));
  CHECK(mpeg25.sample_rate == 8000);
  CHECK(mpeg25.samples == 576);
  CHECK(mpeg25.bytes == 72);
  CHECK(mpeg25.duration_ns() == 72'000'000);
}

TEST_CASE("MPEG audio Layer I and Layer II frames", "[audio-frames]") {
  // Layer II, 192 kbit/s (index 10 in its table) at 48 kHz: 1152 samples.
  const AudioFrame layer2 = mp3(mpeg(kMpeg1Layer2, 10, 1));
  CHECK(layer2.samples == 1152);
  CHECK(layer2.bytes == 576);
  CHECK(mp3(mpeg(kMpeg1Layer2, 10, 1, true)).bytes == 577);

  // Layer I: 384 samples, sizes in 4-byte slots, padding is one slot.
  const AudioFrame layer1 = mp3(mpeg(kMpeg1Layer1, 12, 0));  // 384 kbit/s, 44.1 kHz
  CHECK(layer1.samples == 384);
  CHECK(layer1.bytes == 416);  // (104.49 → 104) × 4
  CHECK(mp3(mpeg(kMpeg1Layer1, 12, 0, true)).bytes == 420);
  CHECK(mp3(mpeg(kMpeg1Layer1, 14, 1)).bytes == 448);  // 448 kbit/s at 48 kHz: 112 × 4
  CHECK(mp3(mpeg(kMpeg1Layer1, 14, 1)).duration_ns() == 8'000'000);
}

TEST_CASE("MPEG audio headers that are refused", "[audio-frames]") {
  REQUIRE(parse_mpeg_audio_header(mpeg(kMpeg1Layer3, 9, 1)));
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(kMpeg1Layer3, 0, 1)));   // free format
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(kMpeg1Layer3, 15, 1)));  // forbidden bitrate
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(kMpeg1Layer3, 9, 3)));   // reserved rate
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(0xeb, 9, 1)));           // version 01 reserved
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(0xf9, 9, 1)));           // layer 00 reserved
  CHECK_FALSE(parse_mpeg_audio_header(mpeg(0xdb, 9, 1)));           // 10 sync bits, not 11
  Bytes no_sync = mpeg(kMpeg1Layer3, 9, 1);
  no_sync[0] = 0xfe;
  CHECK_FALSE(parse_mpeg_audio_header(no_sync));
  CHECK_FALSE(parse_mpeg_audio_header(Bytes{0xff, 0xfb, 0x90}));  // header cut short
  CHECK_FALSE(parse_mpeg_audio_header({}));
  // An ADTS header is not MPEG audio (layer 00).
  CHECK_FALSE(parse_mpeg_audio_header(nagare::test::adts_frame()));
}

TEST_CASE("ADTS header: rate, length and raw data blocks", "[audio-frames]") {
  // The builder's frame: AAC LC, 48 kHz (index 3), 7 + 64 bytes.
  const AudioFrame frame = aac(nagare::test::adts_frame(64));
  CHECK(frame.sample_rate == 48000);
  CHECK(frame.bytes == 71);
  CHECK(frame.samples == 1024);

  SECTION("sampling_frequency_index 0-12, 13-15 refused") {
    const std::uint32_t rates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                     22050, 16000, 12000, 11025, 8000,  7350};
    for (int index = 0; index < 16; ++index) {
      Bytes h = nagare::test::adts_frame();
      h[2] = static_cast<std::uint8_t>((h[2] & 0xc3) | (index << 2));
      CAPTURE(index);
      if (index < 13) {
        CHECK(aac(h).sample_rate == rates[index]);
      } else {
        CHECK_FALSE(parse_adts_header(h));
      }
    }
  }
  SECTION("frame_length is 13 bits across bytes 3-5") {
    Bytes h = nagare::test::adts_frame();
    h[3] |= 0x03;
    h[4] = 0xff;
    h[5] |= 0xe0;
    CHECK(aac(h).bytes == 8191);
    CHECK(aac(nagare::test::adts_frame(0)).bytes == 7);
    CHECK(aac(nagare::test::adts_frame(1000)).bytes == 1007);
  }
  SECTION("number_of_raw_data_blocks_in_frame + 1 blocks of 1024 samples") {
    Bytes h = nagare::test::adts_frame();
    h[6] = 0xfc | 0x03;
    CHECK(aac(h).samples == 4096);
    CHECK(aac(h).duration_ns() == 85'333'333);
  }
  SECTION("protection_absent = 0: a 9-byte header with its CRC") {
    Bytes h = nagare::test::adts_frame(2);  // frame_length 9
    h[1] = 0xf0;
    CHECK(aac(h).bytes == 9);
    h = nagare::test::adts_frame(1);  // frame_length 8: shorter than its header
    h[1] = 0xf0;
    CHECK_FALSE(parse_adts_header(h));
  }
  SECTION("MPEG-2 ID bit is accepted") {
    Bytes h = nagare::test::adts_frame();
    h[1] = 0xf9;
    CHECK(aac(h).sample_rate == 48000);
  }
}

TEST_CASE("ADTS headers that are refused", "[audio-frames]") {
  const Bytes good = nagare::test::adts_frame();
  Bytes h = good;
  h[1] = 0xe1;  // 11 sync bits, not 12
  CHECK_FALSE(parse_adts_header(h));
  h = good;
  h[1] = 0xf3;  // layer 01
  CHECK_FALSE(parse_adts_header(h));
  h = good;
  h[0] = 0x7f;
  CHECK_FALSE(parse_adts_header(h));
  h = good;
  h[3] &= 0xfc;  // frame_length 0
  h[4] = 0;
  h[5] &= 0x1f;
  CHECK_FALSE(parse_adts_header(h));
  CHECK_FALSE(parse_adts_header(std::span(good).first(6)));
  // An MP3 header is not ADTS (its layer bits are not 00).
  CHECK_FALSE(parse_adts_header(nagare::test::mp3_frame()));
}

TEST_CASE("parse_audio_header dispatches on the stream kind", "[audio-frames]") {
  CHECK(parse_audio_header(StreamKind::kMpegAudio, nagare::test::mp3_frame()));
  CHECK(parse_audio_header(StreamKind::kAdts, nagare::test::adts_frame()));
  CHECK_FALSE(parse_audio_header(StreamKind::kAdts, nagare::test::mp3_frame()));
  CHECK_FALSE(parse_audio_header(StreamKind::kH264, nagare::test::mp3_frame()));
  CHECK_FALSE(parse_audio_header(StreamKind::kOther, nagare::test::adts_frame()));
}

TEST_CASE("walk_audio_frames counts whole frames", "[audio-frames]") {
  const Bytes mp3_frame = nagare::test::mp3_frame(44100);

  SECTION("three MP3 frames") {
    const AudioRun run = walk_audio_frames(StreamKind::kMpegAudio, join({mp3_frame, mp3_frame, mp3_frame}));
    CHECK(run.frames == 3);
    CHECK(run.samples == std::uint64_t{3} * 1152);
    CHECK(run.sample_rate == 44100);
    CHECK(run.complete);
  }
  SECTION("ADTS frames of different lengths") {
    const Bytes payload =
        join({nagare::test::adts_frame(10), nagare::test::adts_frame(300), nagare::test::adts_frame(0)});
    const AudioRun run = walk_audio_frames(StreamKind::kAdts, payload);
    CHECK(run.frames == 3);
    CHECK(run.samples == std::uint64_t{3} * 1024);
    CHECK(run.sample_rate == 48000);
    CHECK(run.complete);
  }
  SECTION("a truncated last frame is not counted") {
    Bytes payload = join({mp3_frame, mp3_frame});
    payload.insert(payload.end(), mp3_frame.begin(), mp3_frame.begin() + 50);
    const AudioRun run = walk_audio_frames(StreamKind::kMpegAudio, payload);
    CHECK(run.frames == 2);
    CHECK(run.samples == std::uint64_t{2} * 1152);
    CHECK_FALSE(run.complete);
  }
  SECTION("garbage after whole frames stops the walk") {
    Bytes payload = join({nagare::test::adts_frame(), Bytes(20, 0x00)});
    const AudioRun run = walk_audio_frames(StreamKind::kAdts, payload);
    CHECK(run.frames == 1);
    CHECK_FALSE(run.complete);
  }
  SECTION("garbage first: nothing parsed, no rate") {
    const AudioRun run = walk_audio_frames(StreamKind::kMpegAudio, join({Bytes{0x12, 0x34}, mp3_frame}));
    CHECK(run.frames == 0);
    CHECK(run.samples == 0);
    CHECK(run.sample_rate == 0);
    CHECK_FALSE(run.complete);
  }
  SECTION("the wrong kind parses nothing") {
    CHECK_FALSE(walk_audio_frames(StreamKind::kAdts, mp3_frame).complete);
    CHECK_FALSE(walk_audio_frames(StreamKind::kH264, mp3_frame).complete);
  }
  SECTION("an empty payload is zero whole frames") {
    const AudioRun run = walk_audio_frames(StreamKind::kMpegAudio, {});
    CHECK(run.frames == 0);
    CHECK(run.complete);
  }
}

TEST_CASE("AudioFrame::duration_ns rounds down to the nanosecond", "[audio-frames]") {
  CHECK(AudioFrame{48000, 1152, 0}.duration_ns() == 24'000'000);
  CHECK(AudioFrame{44100, 1152, 0}.duration_ns() == 26'122'448);  // 26122448.98
  CHECK(AudioFrame{48000, 1024, 0}.duration_ns() == 21'333'333);
  CHECK(AudioFrame{44100, 1024, 0}.duration_ns() == 23'219'954);  // 23219954.65
  CHECK(AudioFrame{0, 1152, 0}.duration_ns() == 0);               // no rate: no duration
}
