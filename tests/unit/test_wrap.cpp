// Wraparound helpers (plugins/common/wrap.hpp): RFC 3550 §A.1 sequence
// arithmetic and extended timestamps, at and around every wrap.
#include <catch2/catch.hpp>

#include <cstdint>

#include "common/wrap.hpp"

using nagare::seq_distance;
using nagare::ts_distance;
using nagare::Unwrapper;

TEST_CASE("seq_distance is signed and wraps at 16 bits", "[wrap]") {
  SECTION("forward across 65535 -> 0") {
    CHECK(seq_distance(65535, 0) == 1);
    CHECK(seq_distance(65534, 1) == 3);
  }
  SECTION("backward across 0 -> 65535") {
    CHECK(seq_distance(0, 65535) == -1);
    CHECK(seq_distance(1, 65534) == -3);
  }
  SECTION("same value") { CHECK(seq_distance(1234, 1234) == 0); }
  SECTION("half the range is the bound: +32767 is ahead, +32768 reads as behind") {
    CHECK(seq_distance(0, 32767) == 32767);
    CHECK(seq_distance(0, 32768) == -32768);
    CHECK(seq_distance(40000, static_cast<std::uint16_t>(40000 + 32767)) == 32767);
    CHECK(seq_distance(40000, static_cast<std::uint16_t>(40000 + 32768)) == -32768);
  }
}

TEST_CASE("ts_distance is signed and wraps at 32 bits", "[wrap]") {
  SECTION("forward across 0xffffffff -> 0") {
    CHECK(ts_distance(0xffffffffu, 0) == 1);
    CHECK(ts_distance(0xffffff00u, 0x100) == 0x200);
  }
  SECTION("backward across 0 -> 0xffffffff") {
    CHECK(ts_distance(0, 0xffffffffu) == -1);
    CHECK(ts_distance(0x100, 0xffffff00u) == -0x200);
  }
  SECTION("one 90 kHz frame at 30 fps") { CHECK(ts_distance(1000, 4000) == 3000); }
  SECTION("half the range is the bound") {
    CHECK(ts_distance(0, 0x7fffffffu) == 0x7fffffff);
    CHECK(ts_distance(0, 0x80000000u) == -std::int64_t{0x80000000});
  }
}

TEST_CASE("Unwrapper<uint16_t> extends sequence numbers", "[wrap]") {
  Unwrapper<std::uint16_t> u;
  CHECK_FALSE(u.last());

  SECTION("the first value is taken as is") {
    CHECK(u.unwrap(65534) == 65534);
    CHECK(u.last() == 65534);
  }
  SECTION("forwards across one wrap") {
    CHECK(u.unwrap(65534) == 65534);
    CHECK(u.unwrap(65535) == 65535);
    CHECK(u.unwrap(0) == 65536);
    CHECK(u.unwrap(1) == 65537);
  }
  SECTION("backwards across a wrap it went forwards over") {
    u.unwrap(65535);
    CHECK(u.unwrap(2) == 65538);
    CHECK(u.unwrap(65533) == 65533);  // reordered: 5 back
    CHECK(u.unwrap(3) == 65539);
  }
  SECTION("backwards below the first value") {
    u.unwrap(1);
    CHECK(u.unwrap(0) == 0);
    CHECK(u.unwrap(65535) == -1);
    CHECK(u.unwrap(65000) == -536);
  }
  SECTION("forwards across many wraps in steps under half the range") {
    std::int64_t expected = 100;
    std::uint16_t raw = 100;
    u.unwrap(raw);
    for (int i = 0; i < 20; ++i) {
      raw = static_cast<std::uint16_t>(raw + 30000);
      expected += 30000;
      CHECK(u.unwrap(raw) == expected);
    }
    CHECK(expected > std::int64_t{8} * 65536);
  }
  SECTION("a step of exactly half the range reads as backwards") {
    u.unwrap(0);
    CHECK(u.unwrap(32767) == 32767);
    CHECK(u.unwrap(0) == 0);
    CHECK(u.unwrap(32768) == -32768);
  }
  SECTION("reset forgets the reference") {
    u.unwrap(65535);
    u.unwrap(0);
    u.reset();
    CHECK_FALSE(u.last());
    CHECK(u.unwrap(7) == 7);
  }
}

TEST_CASE("Unwrapper<uint32_t> extends RTP timestamps", "[wrap]") {
  Unwrapper<std::uint32_t> u;

  SECTION("forwards across one wrap") {
    CHECK(u.unwrap(0xfffffff0u) == 0xfffffff0);
    CHECK(u.unwrap(0x10) == 0x100000010);
    CHECK(u.unwrap(0x3000) == 0x100003000);
  }
  SECTION("backwards across a wrap") {
    u.unwrap(0xfffffff0u);
    u.unwrap(0x10);
    CHECK(u.unwrap(0xffffff00u) == 0xffffff00);
  }
  SECTION("backwards below the first value") {
    u.unwrap(0);
    CHECK(u.unwrap(0xffffffffu) == -1);
  }
  SECTION("forwards across many wraps") {
    std::uint32_t raw = 0x12345678;
    std::int64_t expected = raw;
    u.unwrap(raw);
    for (int i = 0; i < 10; ++i) {
      raw += 0x70000000u;
      expected += 0x70000000;
      CHECK(u.unwrap(raw) == expected);
    }
    CHECK(expected > 4 * std::int64_t{0x100000000});
  }
  SECTION("a step of exactly half the range reads as backwards") {
    u.unwrap(0);
    CHECK(u.unwrap(0x7fffffffu) == 0x7fffffff);
    CHECK(u.unwrap(0) == 0);
    CHECK(u.unwrap(0x80000000u) == -std::int64_t{0x80000000});
  }
}
