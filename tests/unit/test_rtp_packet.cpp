// parse_rtp() (plugins/common/rtp_packet.hpp): RFC 3550 §5.1 fixed header,
// §5.3.1 header extension, padding; and every way a header is refused.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "common/rtp_packet.hpp"
#include "rtp_builder.hpp"

using nagare::parse_rtp;
using nagare::RtpError;
using nagare::test::Bytes;
using nagare::test::rtp;
using nagare::test::RtpHeader;

namespace {

// The payload as an offset into the packet and a size, to show that it
// points into the given bytes and was not copied.
std::size_t payload_offset(const Bytes& packet) { return parse_rtp(packet).packet->payload.data() - packet.data(); }

RtpError error_of(const Bytes& packet) {
  const auto parsed = parse_rtp(packet);
  REQUIRE_FALSE(parsed.packet);
  return parsed.error;
}

}  // namespace

TEST_CASE("RTP fixed header fields", "[rtp]") {
  // Written by hand: V=2, M=1, PT=96, seq 0x1234, ts 0xdeadbeef,
  // SSRC 0x5eed0001, then a 2-byte payload.
  const Bytes packet{0x80, 0xe0, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x5e, 0xed, 0x00, 0x01, 0x41, 0x9a};
  const auto parsed = parse_rtp(packet);
  REQUIRE(parsed.packet);
  const auto& p = *parsed.packet;
  CHECK(p.payload_type == 96);
  CHECK(p.marker);
  CHECK_FALSE(p.padding);
  CHECK(p.sequence == 0x1234);
  CHECK(p.timestamp == 0xdeadbeefu);
  CHECK(p.ssrc == 0x5eed0001u);
  CHECK(p.payload.data() == packet.data() + 12);
  CHECK(p.payload.size() == 2);

  SECTION("marker clear and another payload type") {
    const Bytes b{0x80, 0x6f, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
    const auto q = parse_rtp(b);
    REQUIRE(q.packet);
    CHECK_FALSE(q.packet->marker);
    CHECK(q.packet->payload_type == 111);
    CHECK(q.packet->sequence == 65535);
    CHECK(q.packet->payload.empty());
  }
}

TEST_CASE("RTP CSRC list is skipped", "[rtp]") {
  RtpHeader h;
  SECTION("one CSRC") {
    h.csrc_count = 1;
    const Bytes b = rtp(h, {0x41, 0x9a});
    CHECK(payload_offset(b) == 16);
    CHECK(parse_rtp(b).packet->payload.size() == 2);
  }
  SECTION("fifteen CSRCs") {
    h.csrc_count = 15;
    const Bytes b = rtp(h, {0x41, 0x9a});
    CHECK(payload_offset(b) == 12 + 60);
  }
  SECTION("a CSRC list that ends exactly at the end leaves an empty payload") {
    h.csrc_count = 2;
    const Bytes b = rtp(h, std::span<const std::uint8_t>{});
    REQUIRE(b.size() == 20);
    const auto parsed = parse_rtp(b);
    REQUIRE(parsed.packet);
    CHECK(parsed.packet->payload.empty());
  }
}

TEST_CASE("RTP header extension is skipped", "[rtp]") {
  RtpHeader h;
  h.with_extension = true;
  SECTION("two words (a one-byte-header RFC 8285 block)") {
    h.extension = {0x10ff0000, 0x22000000};
    const Bytes b = rtp(h, {0x41, 0x9a, 0x01});
    CHECK(payload_offset(b) == 12 + 4 + 8);
    CHECK(parse_rtp(b).packet->payload.size() == 3);
  }
  SECTION("zero words") {
    const Bytes b = rtp(h, {0x41});
    CHECK(payload_offset(b) == 16);
  }
  SECTION("after CSRCs") {
    h.csrc_count = 2;
    h.extension = {0x12345678};
    const Bytes b = rtp(h, {0x41});
    CHECK(payload_offset(b) == 12 + 8 + 4 + 4);
    CHECK(parse_rtp(b).packet->payload[0] == 0x41);
  }
}

TEST_CASE("RTP padding is stripped", "[rtp]") {
  RtpHeader h;
  SECTION("four bytes of padding") {
    h.padding = 4;
    const Bytes b = rtp(h, {0x41, 0x9a, 0x02});
    const auto parsed = parse_rtp(b);
    REQUIRE(parsed.packet);
    CHECK(parsed.packet->padding);
    CHECK(parsed.packet->payload.size() == 3);
    CHECK(parsed.packet->payload.back() == 0x02);
  }
  SECTION("one byte of padding (only the count)") {
    h.padding = 1;
    const auto parsed = parse_rtp(rtp(h, {0x41, 0x9a}));
    REQUIRE(parsed.packet);
    CHECK(parsed.packet->payload.size() == 2);
  }
  SECTION("padding after an extension") {
    h.padding = 3;
    h.with_extension = true;
    h.extension = {0};
    const Bytes b = rtp(h, {0x41, 0x9a});
    CHECK(payload_offset(b) == 20);
    CHECK(parse_rtp(b).packet->payload.size() == 2);
  }
}

TEST_CASE("RTP padding-only packet has an empty payload", "[rtp]") {
  // What libwebrtc sends to probe bandwidth: 255 bytes of padding, no payload.
  RtpHeader h;
  h.padding = 255;
  const Bytes b = rtp(h, std::span<const std::uint8_t>{});
  REQUIRE(b.size() == 12 + 255);
  const auto parsed = parse_rtp(b);
  REQUIRE(parsed.packet);
  CHECK(parsed.packet->padding);
  CHECK(parsed.packet->payload.empty());
}

TEST_CASE("RTP malformed headers are refused", "[rtp][malformed]") {
  const Bytes good{0x80, 0x60, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 1, 0x41};

  SECTION("too short: 11 bytes, and nothing") {
    CHECK(error_of(Bytes(good.begin(), good.begin() + 11)) == RtpError::kTooShort);
    CHECK(error_of(Bytes{}) == RtpError::kTooShort);
    // The bound: 12 bytes is a whole header with an empty payload.
    CHECK(parse_rtp(Bytes(good.begin(), good.begin() + 12)).packet);
  }
  SECTION("version other than 2") {
    for (std::uint8_t v : {0x00, 0x40, 0xc0}) {
      Bytes b = good;
      b[0] = v;
      CHECK(error_of(b) == RtpError::kBadVersion);
    }
  }
  SECTION("CSRC list past the end") {
    Bytes b = good;
    b[0] = 0x81;  // one CSRC (4 bytes), but only 1 byte follows
    CHECK(error_of(b) == RtpError::kBadCsrc);
    b[0] = 0x8f;
    CHECK(error_of(b) == RtpError::kBadCsrc);
    // The bound: exactly 4 bytes after the header hold one CSRC.
    Bytes fits = good;
    fits[0] = 0x81;
    fits.insert(fits.end(), {0, 0, 0});
    CHECK(parse_rtp(fits).packet);
  }
  SECTION("extension header past the end") {
    Bytes b{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00};  // 3 of its 4 bytes
    CHECK(error_of(b) == RtpError::kBadExtension);
  }
  SECTION("extension data past the end") {
    // Length 2 words, but only one word follows.
    Bytes b{0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x02, 1, 2, 3, 4};
    CHECK(error_of(b) == RtpError::kBadExtension);
    // The bound: a second word makes it fit.
    b.insert(b.end(), {5, 6, 7, 8});
    CHECK(parse_rtp(b).packet);
  }
  SECTION("extension past the end after CSRCs") {
    Bytes b{0x91, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 9, 9, 9, 9, 0xbe, 0xde};
    CHECK(error_of(b) == RtpError::kBadExtension);
  }
  SECTION("padding count of zero") {
    Bytes b = good;
    b[0] |= 0x20;
    b.push_back(0x00);
    CHECK(error_of(b) == RtpError::kBadPadding);
  }
  SECTION("padding count larger than the payload") {
    Bytes b = good;  // 1 payload byte
    b[0] |= 0x20;
    b.push_back(0x03);  // 2 bytes after the header, 3 claimed
    CHECK(error_of(b) == RtpError::kBadPadding);
    // The bound: 2 claimed is everything after the header.
    b.back() = 0x02;
    const auto parsed = parse_rtp(b);
    REQUIRE(parsed.packet);
    CHECK(parsed.packet->payload.empty());
  }
  SECTION("padding may not eat into the header extension") {
    Bytes b{0xb0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0x00, 0x00, 0x02};
    CHECK(error_of(b) == RtpError::kBadPadding);
  }
  SECTION("P bit on a bare header: the count would be the SSRC's last byte") {
    const Bytes b{0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1};
    CHECK(error_of(b) == RtpError::kBadPadding);
    const Bytes zero{0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    CHECK(error_of(zero) == RtpError::kBadPadding);
  }
}
