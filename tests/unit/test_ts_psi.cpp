// PSI sections (plugins/hlssink/ts.hpp): ISO/IEC 13818-1 §2.4.4.3 PAT,
// §2.4.4.8 PMT, §2.4.4.9 stream_type, and the Annex A CRC_32 that guards
// them. Tables come from tests/support/ts_builder.hpp (laid out as
// mpegtsmux writes them) or are written here byte by byte.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "hlssink/ts.hpp"
#include "ts_builder.hpp"

using namespace nagare::ts;
using nagare::test::TsBuilder;
using Bytes = std::vector<std::uint8_t>;

namespace {

// The payload of packet `index` of `ts` (a TsBuilder output).
std::span<const std::uint8_t> payload_of(const Bytes& ts, std::size_t index) {
  const auto parsed = parse_packet(std::span(ts).subspan(index * kPacketSize, kPacketSize));
  REQUIRE(parsed);
  return parsed->payload;
}

// A PSI payload: pointer_field 0, the section, its CRC_32 (computed by the
// builder's own bitwise CRC, not the one under test), 0xff stuffing.
Bytes psi(Bytes section) {
  const std::size_t length = section.size() - 3 + 4;
  section[1] = static_cast<std::uint8_t>(0xb0 | (length >> 8));
  section[2] = static_cast<std::uint8_t>(length & 0xff);
  const std::uint32_t crc = nagare::test::ts_crc32(section);
  for (int shift = 24; shift >= 0; shift -= 8) section.push_back(static_cast<std::uint8_t>(crc >> shift));
  section.insert(section.begin(), 0x00);
  section.resize(184, 0xff);
  return section;
}

}  // namespace

TEST_CASE("parse_pat and parse_pmt read TsBuilder's tables", "[ts]") {
  TsBuilder builder;
  SECTION("H.264 and MPEG-1 audio, PCR on video") {
    const Bytes tables = builder.tables(true, 0x03);
    CHECK(parse_pat(payload_of(tables, 0)) == TsBuilder::kPmtPid);
    const auto pmt = parse_pmt(payload_of(tables, 1));
    REQUIRE(pmt);
    CHECK(pmt->pcr_pid == TsBuilder::kVideoPid);
    REQUIRE(pmt->streams.size() == 2);
    CHECK(pmt->streams[0].pid == TsBuilder::kVideoPid);
    CHECK(pmt->streams[0].stream_type == 0x1b);
    CHECK(pmt->streams[0].kind == StreamKind::kH264);
    CHECK(pmt->streams[1].pid == TsBuilder::kAudioPid);
    CHECK(pmt->streams[1].kind == StreamKind::kMpegAudio);
  }
  SECTION("ADTS audio only, PCR on audio") {
    const Bytes tables = builder.tables(false, 0x0f);
    const auto pmt = parse_pmt(payload_of(tables, 1));
    REQUIRE(pmt);
    CHECK(pmt->pcr_pid == TsBuilder::kAudioPid);
    REQUIRE(pmt->streams.size() == 1);
    CHECK(pmt->streams[0].kind == StreamKind::kAdts);
  }
  SECTION("a PAT is not a PMT and the other way round") {
    const Bytes tables = builder.tables(true, 0x03);
    CHECK_FALSE(parse_pmt(payload_of(tables, 0)));
    CHECK_FALSE(parse_pat(payload_of(tables, 1)));
  }
}

TEST_CASE("stream_type maps to a stream kind", "[ts]") {
  CHECK(kind_of_stream_type(0x1b) == StreamKind::kH264);
  CHECK(kind_of_stream_type(0x03) == StreamKind::kMpegAudio);
  CHECK(kind_of_stream_type(0x04) == StreamKind::kMpegAudio);
  CHECK(kind_of_stream_type(0x0f) == StreamKind::kAdts);
  CHECK(kind_of_stream_type(0x11) == StreamKind::kOther);  // LATM AAC
  CHECK(kind_of_stream_type(0x24) == StreamKind::kOther);  // HEVC
  CHECK(kind_of_stream_type(0x06) == StreamKind::kOther);  // private data
}

TEST_CASE("PSI sections are checked for CRC, length and pointer_field", "[ts]") {
  // A PAT listing program 0 (the NIT on PID 0x10) before program 1 on PMT
  // PID 0x100: the NIT entry is skipped.
  const Bytes pat = psi({0x00, 0, 0, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x10, 0x00, 0x01, 0xe1, 0x00});
  REQUIRE(parse_pat(pat) == 0x100);
  const std::size_t section_end = 1 + 16 + 4;

  SECTION("one flipped bit in the section or in its CRC") {
    Bytes p = pat;
    p[15] ^= 0x01;
    CHECK_FALSE(parse_pat(p));
    p = pat;
    p[section_end - 1] ^= 0x80;
    CHECK_FALSE(parse_pat(p));
  }
  SECTION("section cut short") {
    CHECK(parse_pat(std::span(pat).first(section_end)));
    CHECK_FALSE(parse_pat(std::span(pat).first(section_end - 1)));
    CHECK_FALSE(parse_pat(std::span(pat).first(3)));
    CHECK_FALSE(parse_pat({}));
  }
  SECTION("pointer_field skips bytes before the section, and may not run past the payload") {
    Bytes p = pat;
    p.insert(p.begin() + 1, {0xee, 0xee, 0xee});
    p[0] = 3;
    CHECK(parse_pat(p) == 0x100);
    p[0] = 0xff;
    CHECK_FALSE(parse_pat(p));
  }
  SECTION("a PAT with only the NIT names no PMT") {
    CHECK_FALSE(parse_pat(psi({0x00, 0, 0, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x10})));
  }
  SECTION("PMT descriptors are skipped; an ES_info_length past the section is refused") {
    // PCR PID 0x101, program_info_length 3 (one descriptor), then H.264 on
    // 0x101 with a 2-byte descriptor and ADTS on 0x102 with none.
    const Bytes pmt_section = {0x02, 0,    0,    0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x01, 0xf0, 0x03, 0x05, 0x01,
                               0x00, 0x1b, 0xe1, 0x01, 0xf0, 0x02, 0x28, 0x00, 0x0f, 0xe1, 0x02, 0xf0, 0x00};
    const auto pmt = parse_pmt(psi(pmt_section));
    REQUIRE(pmt);
    CHECK(pmt->pcr_pid == 0x101);
    REQUIRE(pmt->streams.size() == 2);
    CHECK(pmt->streams[0].pid == 0x101);
    CHECK(pmt->streams[0].kind == StreamKind::kH264);
    CHECK(pmt->streams[1].pid == 0x102);
    CHECK(pmt->streams[1].kind == StreamKind::kAdts);

    Bytes overlong = pmt_section;
    overlong.back() = 0x01;  // ADTS claims a descriptor byte the section lacks
    CHECK_FALSE(parse_pmt(psi(overlong)));
    Bytes big_info = pmt_section;
    big_info[11] = 0x40;  // program_info_length past the section
    CHECK_FALSE(parse_pmt(psi(big_info)));
  }
}

TEST_CASE("crc32_mpeg2 is CRC-32/MPEG-2", "[ts]") {
  // The catalogue check value: CRC-32/MPEG-2 of the ASCII "123456789".
  constexpr std::string_view check = "123456789";
  const auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(check.data()), check.size());
  CHECK(crc32_mpeg2(bytes) == 0x0376e6e7u);
  CHECK(crc32_mpeg2({}) == 0xffffffffu);
  // A section followed by its CRC_32 sums to zero (Annex A).
  const Bytes tables = TsBuilder().tables(true, 0x03);
  const auto payload = payload_of(tables, 0);
  const std::size_t length = 3 + (((payload[2] & 0x0f) << 8) | payload[3]);
  CHECK(crc32_mpeg2(payload.subspan(1, length)) == 0);
}
