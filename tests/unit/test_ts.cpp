// MPEG-TS reading (plugins/hlssink/ts.hpp): ISO/IEC 13818-1 §2.4.3.2
// packet headers, §2.4.3.4 adaptation fields, §2.4.3.6 PES headers and the
// 33-bit PTS wrap. PAT, PMT and CRC are in test_ts_psi.cpp.
//
// Packets are written by hand here (each test says which bytes matter) or
// by tests/support/ts_builder.hpp, which lays them out as mpegtsmux does.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>
#include <vector>

#include "hlssink/ts.hpp"
#include "ts_builder.hpp"

using namespace nagare::ts;
using nagare::test::TsBuilder;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::int64_t kWrap = std::int64_t{1} << 33;

// One 188-byte packet: sync byte, PID and payload_unit_start, then
// adaptation_field_control and continuity counter; the body counts 4, 5, 6 …
Bytes packet(std::uint16_t pid, bool start, std::uint8_t control, std::uint8_t counter) {
  Bytes p(kPacketSize);
  for (std::size_t i = 4; i < p.size(); ++i) p[i] = static_cast<std::uint8_t>(i);
  p[0] = 0x47;
  p[1] = static_cast<std::uint8_t>((start ? 0x40 : 0x00) | (pid >> 8));
  p[2] = static_cast<std::uint8_t>(pid & 0xff);
  p[3] = static_cast<std::uint8_t>((control << 4) | counter);
  return p;
}

// The payload of the first packet of `ts` (a TsBuilder output).
std::span<const std::uint8_t> first_payload(const Bytes& ts) {
  const auto parsed = parse_packet(std::span(ts).first(kPacketSize));
  REQUIRE(parsed);
  return parsed->payload;
}

}  // namespace

TEST_CASE("parse_packet reads the header and finds the payload", "[ts]") {
  SECTION("payload only: PID, start, counter, 184 payload bytes in place") {
    const Bytes p = packet(0x1fff, true, 0x1, 0xb);
    const auto parsed = parse_packet(p);
    REQUIRE(parsed);
    CHECK(parsed->pid == kNullPid);
    CHECK(parsed->payload_unit_start);
    CHECK(parsed->continuity_counter == 0xb);
    CHECK_FALSE(parsed->random_access);
    CHECK_FALSE(parsed->discontinuity);
    CHECK(parsed->payload.data() == p.data() + 4);
    CHECK(parsed->payload.size() == 184);
  }
  SECTION("adaptation field then payload: random_access and discontinuity flags") {
    Bytes p = packet(0x41, false, 0x3, 0);
    p[4] = 7;     // adaptation_field_length
    p[5] = 0x40;  // random_access_indicator
    auto parsed = parse_packet(p);
    REQUIRE(parsed);
    CHECK(parsed->random_access);
    CHECK_FALSE(parsed->discontinuity);
    CHECK_FALSE(parsed->payload_unit_start);
    CHECK(parsed->payload.data() == p.data() + 12);
    CHECK(parsed->payload.size() == 176);

    p[5] = 0x80;  // discontinuity_indicator
    parsed = parse_packet(p);
    REQUIRE(parsed);
    CHECK(parsed->discontinuity);
    CHECK_FALSE(parsed->random_access);
  }
  SECTION("a zero-length adaptation field has no flags byte") {
    Bytes p = packet(0x41, false, 0x3, 0);
    p[4] = 0;
    p[5] = 0xc0;  // already payload, not flags
    const auto parsed = parse_packet(p);
    REQUIRE(parsed);
    CHECK_FALSE(parsed->random_access);
    CHECK_FALSE(parsed->discontinuity);
    CHECK(parsed->payload.size() == 183);
  }
  SECTION("adaptation field only: 183 bytes fill the packet, no payload") {
    Bytes p = packet(0x41, false, 0x2, 0);
    p[4] = 183;
    p[5] = 0x00;
    const auto parsed = parse_packet(p);
    REQUIRE(parsed);
    CHECK(parsed->payload.empty());
  }
  SECTION("adaptation field of 182 leaves one payload byte") {
    Bytes p = packet(0x41, false, 0x3, 0);
    p[4] = 182;
    const auto parsed = parse_packet(p);
    REQUIRE(parsed);
    REQUIRE(parsed->payload.size() == 1);
    CHECK(parsed->payload.data() == p.data() + 187);
  }
}

TEST_CASE("parse_packet rejects malformed packets", "[ts]") {
  const Bytes good = packet(0x100, true, 0x1, 0);
  REQUIRE(parse_packet(good));

  SECTION("wrong sync byte") {
    Bytes p = good;
    p[0] = 0x46;
    CHECK_FALSE(parse_packet(p));
  }
  SECTION("transport_error_indicator set") {
    Bytes p = good;
    p[1] |= 0x80;
    CHECK_FALSE(parse_packet(p));
  }
  SECTION("adaptation_field_control 00 is reserved") {
    Bytes p = good;
    p[3] &= 0x0f;
    CHECK_FALSE(parse_packet(p));
  }
  SECTION("adaptation field longer than the packet") {
    Bytes p = packet(0x100, false, 0x3, 0);
    p[4] = 184;
    CHECK_FALSE(parse_packet(p));
    p[4] = 0xff;
    CHECK_FALSE(parse_packet(p));
  }
  SECTION("not exactly 188 bytes") {
    CHECK_FALSE(parse_packet(std::span(good).first(187)));
    Bytes longer = good;
    longer.push_back(0);
    CHECK_FALSE(parse_packet(longer));
    CHECK_FALSE(parse_packet({}));
  }
}

TEST_CASE("set_continuity_counter rewrites only the low four bits of byte 3", "[ts]") {
  Bytes p = packet(0x41, false, 0x3, 0x5);
  p[3] |= 0xc0;  // transport_scrambling_control, to see it kept
  set_continuity_counter(p, 0xa);
  CHECK(p[3] == 0xfa);
  set_continuity_counter(p, 0x13);  // only the counter's 4 bits are used
  CHECK(p[3] == 0xf3);
  CHECK(p[0] == 0x47);
  CHECK(p[4] == 4);
}

TEST_CASE("parse_pes_header reads 33-bit PTS and DTS", "[ts]") {
  TsBuilder builder;
  const Bytes es = {0x00, 0x00, 0x00, 0x01, 0x09, 0xf0};

  SECTION("PTS only, every bit of 33 used") {
    const Bytes ts = builder.pes(TsBuilder::kVideoPid, kWrap - 1, es);
    const auto pes = parse_pes_header(first_payload(ts));
    REQUIRE(pes);
    CHECK(pes->stream_id == 0xe0);
    CHECK(pes->pts == kWrap - 1);
    CHECK_FALSE(pes->dts);
    CHECK(Bytes(pes->data.begin(), pes->data.end()) == es);
  }
  SECTION("PTS and DTS, alternating bit patterns") {
    const Bytes ts = builder.pes(TsBuilder::kVideoPid, 0x1'5555'5555, es, true, 0x0'aaaa'aaaa);
    const auto pes = parse_pes_header(first_payload(ts));
    REQUIRE(pes);
    CHECK(pes->pts == 0x1'5555'5555);
    CHECK(pes->dts == 0x0'aaaa'aaaa);
    CHECK(Bytes(pes->data.begin(), pes->data.end()) == es);
  }
  SECTION("audio stream id") {
    const Bytes ts = builder.pes(TsBuilder::kAudioPid, TsBuilder::kClockBase, nagare::test::mp3_frame());
    const auto pes = parse_pes_header(first_payload(ts));
    REQUIRE(pes);
    CHECK(pes->stream_id == 0xc0);
    CHECK(pes->pts == TsBuilder::kClockBase);
  }
  SECTION("no timestamps is allowed") {
    // 00 00 01 e0, length 0, '10' marker, no flags, header length 0.
    const Bytes payload = {0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x80, 0x00, 0x00, 0xaa};
    const auto pes = parse_pes_header(payload);
    REQUIRE(pes);
    CHECK_FALSE(pes->pts);
    CHECK_FALSE(pes->dts);
    CHECK(pes->data.size() == 1);
  }
}

TEST_CASE("parse_pes_header rejects malformed and foreign PES headers", "[ts]") {
  TsBuilder builder;
  const Bytes es = {0xaa, 0xbb};
  const Bytes with_dts = builder.pes(TsBuilder::kVideoPid, 9000, es, true, 6000);
  const auto first = first_payload(with_dts);
  const Bytes good(first.begin(), first.end());
  REQUIRE(parse_pes_header(good));
  // Bytes 6-8: '10' marker, PTS_DTS_flags, PES_header_data_length (10).
  REQUIRE(good[7] == 0xc0);
  REQUIRE(good[8] == 10);

  SECTION("DTS without PTS (flags 01) is forbidden") {
    Bytes p = good;
    p[7] = 0x40;
    CHECK_FALSE(parse_pes_header(p));
  }
  SECTION("header length too short for the timestamps it announces") {
    Bytes p = good;
    p[8] = 5;  // room for the PTS, not the DTS
    CHECK_FALSE(parse_pes_header(p));
    p[7] = 0x80;
    p[8] = 4;  // not even the PTS
    CHECK_FALSE(parse_pes_header(p));
  }
  SECTION("header runs past the bytes given") {
    CHECK_FALSE(parse_pes_header(std::span(good).first(18)));
    CHECK(parse_pes_header(std::span(good).first(19)));  // header exactly, no data
    Bytes p = good;
    p[8] = 200;
    CHECK_FALSE(parse_pes_header(p));
  }
  SECTION("truncated before the fixed fields end") {
    CHECK_FALSE(parse_pes_header(std::span(good).first(8)));
    CHECK_FALSE(parse_pes_header(std::span(good).first(5)));
    CHECK_FALSE(parse_pes_header({}));
  }
  SECTION("no start code prefix") {
    Bytes p = good;
    p[2] = 0x02;
    CHECK_FALSE(parse_pes_header(p));
  }
  SECTION("missing '10' marker bits") {
    Bytes p = good;
    p[6] = 0x40;
    CHECK_FALSE(parse_pes_header(p));
  }
  SECTION("stream ids other than audio 0xc0-0xdf and video 0xe0-0xef") {
    for (const std::uint8_t id : {0xbc, 0xbd, 0xbe, 0xbf, 0xf0, 0xff}) {
      Bytes p = good;
      p[3] = id;
      CAPTURE(int{id});
      CHECK_FALSE(parse_pes_header(p));
    }
    for (const std::uint8_t id : {0xc0, 0xdf, 0xe0, 0xef}) {
      Bytes p = good;
      p[3] = id;
      CAPTURE(int{id});
      CHECK(parse_pes_header(p));
    }
  }
}

TEST_CASE("PtsUnwrapper places each 33-bit value nearest the previous one", "[ts]") {
  PtsUnwrapper u;
  SECTION("the first value is taken as is") { CHECK(u.unwrap(kWrap - 1) == kWrap - 1); }
  SECTION("forwards across the wrap, then B-frame reordering just behind it") {
    CHECK(u.unwrap(kWrap - 3000) == kWrap - 3000);
    CHECK(u.unwrap(0) == kWrap);
    CHECK(u.unwrap(3000) == kWrap + 3000);
    CHECK(u.unwrap(kWrap - 1500) == kWrap - 1500);
    CHECK(u.unwrap(6000) == kWrap + 6000);
  }
  SECTION("backwards across the wrap goes below zero") {
    CHECK(u.unwrap(1500) == 1500);
    CHECK(u.unwrap(kWrap - 1500) == -1500);
    CHECK(u.unwrap(3000) == 3000);
  }
  SECTION("many wraps forwards in steps just under half the range") {
    const std::int64_t step = kWrap / 2 - 1;
    std::int64_t expected = 0;
    CHECK(u.unwrap(0) == 0);
    for (int i = 0; i < 10; ++i) {
      expected += step;
      REQUIRE(u.unwrap(expected % kWrap) == expected);
    }
    CHECK(expected > 2 * kWrap);
  }
  SECTION("half the range is the bound: a step of exactly 2^32 reads as backwards") {
    CHECK(u.unwrap(0) == 0);
    CHECK(u.unwrap(kWrap / 2) == -kWrap / 2);
  }
  SECTION("bits above 33 are ignored") {
    CHECK(u.unwrap(kWrap + 5) == 5);
    CHECK(u.unwrap(3 * kWrap + 10) == 10);
  }
  SECTION("reset takes the next value as is") {
    CHECK(u.unwrap(kWrap - 10) == kWrap - 10);
    CHECK(u.unwrap(10) == kWrap + 10);
    u.reset();
    CHECK(u.unwrap(10) == 10);
  }
}

TEST_CASE("ticks_to_ns converts 90 kHz ticks exactly where it can", "[ts]") {
  STATIC_REQUIRE(ticks_to_ns(9) == 100'000);
  CHECK(ticks_to_ns(0) == 0);
  CHECK(ticks_to_ns(90'000) == 1'000'000'000);
  CHECK(ticks_to_ns(3003) == 33'366'666);  // one 29.97 fps frame, rounded down
  CHECK(ticks_to_ns(1) == 11'111);
  CHECK(ticks_to_ns(-9) == -100'000);
  CHECK(ticks_to_ns(kWrap) == 95'443'717'688'888);  // one whole wrap, 26.5 h
  CHECK(ticks_to_ns(TsBuilder::kClockBase) == 3600'000'000'000);
}
