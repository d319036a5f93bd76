// parse_payload() (plugins/h264depay/depacketizer.hpp): what one RTP payload
// is, per RFC 6184 §5.2 Table 1, and every way one is refused. Payloads are
// written byte by byte; NAL header bytes are F|NRI|type (H.264 §7.3.1).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "h264depay/depacketizer.hpp"
#include "rtp_builder.hpp"

using namespace nagare::h264;
using nagare::test::Bytes;
using nagare::test::example_pps;
using nagare::test::example_sps;
using nagare::test::stap_a;

namespace {

Bytes to_bytes(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

Malformation why(const Bytes& payload) {
  const Payload p = parse_payload(payload);
  CHECK(p.kind == PayloadKind::kMalformed);
  CHECK(p.data.empty());  // nothing of a refused payload is handed on
  return p.malformation;
}

}  // namespace

TEST_CASE("single NAL unit packets carry types 1..23", "[depacketizer]") {
  for (std::uint8_t type = 1; type <= 23; ++type) {
    INFO("type " << int(type));
    const Bytes payload{static_cast<std::uint8_t>(0x60 | type), 0x88, 0x84};
    const Payload p = parse_payload(payload);
    CHECK(p.kind == PayloadKind::kSingle);
    CHECK(p.type == type);
    CHECK(p.malformation == Malformation::kNone);
    CHECK(p.data.data() == payload.data());
    CHECK(p.data.size() == payload.size());
  }
  SECTION("NRI 0 and a header-only NAL unit (end of sequence, type 10)") {
    const Bytes payload{0x0a};
    const Payload p = parse_payload(payload);
    CHECK(p.kind == PayloadKind::kSingle);
    CHECK(p.type == 10);
    CHECK(p.data.size() == 1);
  }
  SECTION("the real SPS and PPS") {
    CHECK(parse_payload(example_sps()).kind == PayloadKind::kSingle);
    CHECK(parse_payload(example_pps()).type == kNalPps);
  }
}

TEST_CASE("STAP-A with several units", "[depacketizer]") {
  const Bytes sei{0x06, 0x05, 0x01, 0x80};
  const Bytes idr{0x65, 0x88, 0x84, 0x00, 0x33};
  // 0x78: F=0, NRI=3, type 24; then [size][unit] three times (§5.7.1).
  const Bytes payload = stap_a({example_sps(), example_pps(), sei, idr});
  REQUIRE(payload[0] == 0x78);

  const Payload p = parse_payload(payload);
  REQUIRE(p.kind == PayloadKind::kStapA);
  CHECK(p.type == kNalStapA);
  CHECK(p.data.data() == payload.data() + 1);

  std::vector<Bytes> units;
  for (const auto unit : p.stap_units()) units.push_back(to_bytes(unit));
  CHECK(units == std::vector<Bytes>{example_sps(), example_pps(), sei, idr});

  SECTION("one unit, sizes written by hand") {
    const Bytes one{0x18, 0x00, 0x02, 0x09, 0xf0};  // an AUD
    const Payload q = parse_payload(one);
    REQUIRE(q.kind == PayloadKind::kStapA);
    std::vector<Bytes> got;
    for (const auto unit : q.stap_units()) got.push_back(to_bytes(unit));
    CHECK(got == std::vector<Bytes>{{0x09, 0xf0}});
  }
}

TEST_CASE("FU-A fragments", "[depacketizer]") {
  // FU indicator 0x5c: F=0, NRI=2, type 28. FU header: S|E|R|type.
  SECTION("start") {
    const Bytes payload{0x5c, 0x85, 0xb8, 0x00, 0x04};
    const Payload p = parse_payload(payload);
    REQUIRE(p.kind == PayloadKind::kFuA);
    CHECK(p.type == kNalFuA);
    CHECK(p.fu.start);
    CHECK_FALSE(p.fu.end);
    CHECK(to_bytes(p.data) == Bytes{0xb8, 0x00, 0x04});
  }
  SECTION("middle") {
    const Bytes payload{0x5c, 0x05, 0x11};
    const Payload p = parse_payload(payload);
    REQUIRE(p.kind == PayloadKind::kFuA);
    CHECK_FALSE(p.fu.start);
    CHECK_FALSE(p.fu.end);
    CHECK(to_bytes(p.data) == Bytes{0x11});
  }
  SECTION("end") {
    const Bytes payload{0x5c, 0x45, 0x11, 0x22};
    const Payload p = parse_payload(payload);
    REQUIRE(p.kind == PayloadKind::kFuA);
    CHECK_FALSE(p.fu.start);
    CHECK(p.fu.end);
    CHECK(to_bytes(p.data) == Bytes{0x11, 0x22});
  }
  SECTION("rebuilt NAL header: F and NRI from the indicator, type from the FU header (§5.8)") {
    CHECK(parse_payload(Bytes{0x5c, 0x85, 0}).fu.nal_header == 0x45);  // NRI 2, IDR
    CHECK(parse_payload(Bytes{0x7c, 0x81, 0}).fu.nal_header == 0x61);  // NRI 3, slice
    CHECK(parse_payload(Bytes{0x1c, 0x86, 0}).fu.nal_header == 0x06);  // NRI 0, SEI
    // The FU header's own top bits (S, E, R) never reach the NAL header.
    CHECK(parse_payload(Bytes{0x3c, 0xe7, 0}).fu.nal_header == 0x27);
  }
  SECTION("the R bit is ignored (§5.8: MUST be ignored by the receiver)") {
    const Payload p = parse_payload(Bytes{0x7c, 0xa5, 0x88});
    REQUIRE(p.kind == PayloadKind::kFuA);
    CHECK(p.fu.start);
    CHECK_FALSE(p.fu.end);
    CHECK(p.fu.nal_header == 0x65);
  }
  SECTION("a fragment with no data after the FU header") {
    const Bytes payload{0x7c, 0x05};
    const Payload p = parse_payload(payload);
    REQUIRE(p.kind == PayloadKind::kFuA);
    CHECK(p.data.empty());
    CHECK(p.data.data() == payload.data() + 2);
  }
}

TEST_CASE("interleaved-mode payloads are unsupported", "[depacketizer]") {
  // STAP-B (25), MTAP16 (26), MTAP24 (27), FU-B (29): RFC 6184 §6.3 only.
  for (std::uint8_t type : {25, 26, 27, 29}) {
    INFO("type " << int(type));
    const Payload p = parse_payload(Bytes{static_cast<std::uint8_t>(0x60 | type), 0x00, 0x01, 0x00, 0x02, 0x65});
    CHECK(p.kind == PayloadKind::kUnsupported);
    CHECK(p.type == type);
    CHECK(p.malformation == Malformation::kNone);
  }
}

TEST_CASE("reserved NAL types 0, 30 and 31", "[depacketizer]") {
  for (std::uint8_t type : {0, 30, 31}) {
    INFO("type " << int(type));
    const Payload p = parse_payload(Bytes{static_cast<std::uint8_t>(0x60 | type), 0x12});
    CHECK(p.kind == PayloadKind::kReserved);
    CHECK(p.type == type);
  }
}

TEST_CASE("malformed payloads are refused", "[depacketizer][malformed]") {
  SECTION("empty") { CHECK(why(Bytes{}) == Malformation::kEmpty); }

  SECTION("F bit set") {
    CHECK(why(Bytes{0xe1, 0x88}) == Malformation::kForbiddenBit);              // single NAL
    CHECK(why(Bytes{0xf8, 0x00, 0x01, 0x61}) == Malformation::kForbiddenBit);  // STAP-A header
    CHECK(why(Bytes{0xfc, 0x85, 0x88}) == Malformation::kForbiddenBit);        // FU indicator
    CHECK(why(Bytes{0x98, 0x00, 0x01, 0x61}) == Malformation::kForbiddenBit);  // F with NRI 0
    // A STAP-A unit whose own header has F set.
    CHECK(why(Bytes{0x78, 0x00, 0x01, 0x61, 0x00, 0x02, 0xe5, 0x88}) == Malformation::kForbiddenBit);
  }

  SECTION("STAP-A size field cut short") {
    CHECK(why(Bytes{0x78, 0x00}) == Malformation::kStapTruncated);
    // One whole unit, then one byte of the next size field.
    CHECK(why(Bytes{0x78, 0x00, 0x02, 0x09, 0xf0, 0x00}) == Malformation::kStapTruncated);
  }

  SECTION("STAP-A unit size longer than what is left: refused, not truncated") {
    // Size 5, but 4 bytes follow.
    CHECK(why(Bytes{0x78, 0x00, 0x05, 0x65, 0x88, 0x84, 0x00}) == Malformation::kStapTruncated);
    // The second unit claims 0xffff.
    CHECK(why(Bytes{0x78, 0x00, 0x01, 0x61, 0xff, 0xff, 0x65, 0x88}) == Malformation::kStapTruncated);
    // The bound: size 4 with 4 bytes fits exactly.
    CHECK(parse_payload(Bytes{0x78, 0x00, 0x04, 0x65, 0x88, 0x84, 0x00}).kind == PayloadKind::kStapA);
  }

  SECTION("STAP-A unit of size zero") {
    CHECK(why(Bytes{0x78, 0x00, 0x00}) == Malformation::kStapEmptyUnit);
    CHECK(why(Bytes{0x78, 0x00, 0x01, 0x61, 0x00, 0x00, 0x00, 0x01, 0x61}) == Malformation::kStapEmptyUnit);
  }

  SECTION("STAP-A unit of a type that is not 1..23") {
    for (std::uint8_t type : {0, 24, 25, 28, 29, 30, 31}) {
      INFO("inner type " << int(type));
      CHECK(why(Bytes{0x78, 0x00, 0x02, static_cast<std::uint8_t>(0x60 | type), 0x88}) ==
            Malformation::kStapBadUnitType);
    }
    // Every unit is checked, not just the first.
    CHECK(why(Bytes{0x78, 0x00, 0x01, 0x61, 0x00, 0x01, 0x7c}) == Malformation::kStapBadUnitType);
  }

  SECTION("STAP-A with no units") { CHECK(why(Bytes{0x78}) == Malformation::kStapNoUnits); }

  SECTION("FU-A without its FU header") { CHECK(why(Bytes{0x7c}) == Malformation::kFuTooShort); }

  SECTION("FU-A carrying a type that is not 1..23") {
    for (std::uint8_t type : {0, 24, 28, 29, 30, 31}) {
      INFO("FU type " << int(type));
      CHECK(why(Bytes{0x7c, static_cast<std::uint8_t>(0x80 | type), 0x88}) == Malformation::kFuBadType);
    }
  }

  SECTION("the malformed payload keeps its header type for logs") {
    CHECK(parse_payload(Bytes{0x78}).type == kNalStapA);
    CHECK(parse_payload(Bytes{0x7c}).type == kNalFuA);
  }
}
