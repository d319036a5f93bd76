// RbspReader, parameter_set_id(), is_first_slice_of_picture() and the
// ParameterSets store (plugins/h264depay/parameter_sets.hpp).
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "captured_openh264.hpp"
#include "h264depay/parameter_sets.hpp"
#include "rtp_builder.hpp"

using namespace nagare::h264;
using nagare::test::Bytes;
using nagare::test::example_pps;
using nagare::test::example_sps;

namespace {

std::vector<Bytes> all_sps(const ParameterSets& ps) {
  std::vector<Bytes> out;
  ps.for_each_sps([&](std::span<const std::uint8_t> s) { out.emplace_back(s.begin(), s.end()); });
  return out;
}
std::vector<Bytes> all_pps(const ParameterSets& ps) {
  std::vector<Bytes> out;
  ps.for_each_pps([&](std::span<const std::uint8_t> s) { out.emplace_back(s.begin(), s.end()); });
  return out;
}

// An SPS whose seq_parameter_set_id is written by hand after profile 66,
// constraint flags 0xc0, level 21 (H.264 §7.3.2.1.1).
Bytes sps_with(std::initializer_list<std::uint8_t> after_level) {
  Bytes b{0x67, 0x42, 0xc0, 0x15};
  for (const std::uint8_t x : after_level) b.push_back(x);
  return b;
}

}  // namespace

TEST_CASE("RbspReader reads Exp-Golomb codes", "[parameter-sets]") {
  SECTION("ue(v) 0, 1, 2, then the data runs out") {
    // 1 | 010 | 011 | 0: codes 0, 1, 2 and one zero bit with nothing after it.
    const Bytes b{0xa6};
    RbspReader r(b);
    CHECK(r.read_ue() == 0u);
    CHECK(r.read_ue() == 1u);
    CHECK(r.read_ue() == 2u);
    CHECK_FALSE(r.read_ue());
  }
  SECTION("31 leading zeros is the longest code: 2^31 - 1") {
    const Bytes b{0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00};
    RbspReader r(b);
    CHECK(r.read_ue() == 0x7fffffffu);
  }
  SECTION("32 leading zeros is refused") {
    const Bytes b{0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00};
    RbspReader r(b);
    CHECK_FALSE(r.read_ue());
  }
  SECTION("read_bits past the end") {
    const Bytes b{0xff};
    RbspReader r(b);
    CHECK(r.read_bits(4) == 0xfu);
    CHECK_FALSE(r.read_bits(5));
  }
}

TEST_CASE("RbspReader skips emulation prevention bytes", "[parameter-sets]") {
  SECTION("00 00 03 01 reads as 00 00 01") {
    const Bytes b{0x00, 0x00, 0x03, 0x01};
    RbspReader r(b);
    CHECK(r.read_bits(24) == 0x000001u);
    CHECK_FALSE(r.read_bits(1));
  }
  SECTION("only the first 03 after two zeros is skipped") {
    const Bytes b{0x00, 0x00, 0x03, 0x03};
    RbspReader r(b);
    CHECK(r.read_bits(24) == 0x000003u);
  }
  SECTION("03 after one zero is data") {
    const Bytes b{0x00, 0x03, 0x00};
    RbspReader r(b);
    CHECK(r.read_bits(24) == 0x000300u);
  }
  SECTION("the zero count starts over after one") {
    // 00 00 03 | 00 03: the second 03 follows a single zero, so it is data.
    const Bytes b{0x00, 0x00, 0x03, 0x00, 0x03};
    RbspReader r(b);
    CHECK(r.read_bits(32) == 0x00000003u);
  }
  SECTION("two in a row") {
    const Bytes b{0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x01};
    RbspReader r(b);
    CHECK(r.read_bits(32) == 0u);
    CHECK(r.read_bits(8) == 0x01u);
    CHECK_FALSE(r.read_bits(1));
  }
  SECTION("a ue(v) that spans one") {
    // RBSP 00 00 00 20 = 26 zeros, then '1': the raw bytes need a 03.
    const Bytes b{0x00, 0x00, 0x03, 0x00, 0x20, 0x00, 0x00, 0x03, 0x00};
    RbspReader r(b);
    CHECK(r.read_ue() == (1u << 26) - 1);
  }
}

TEST_CASE("parameter_set_id of real parameter sets", "[parameter-sets]") {
  SECTION("x264 (tests/support/rtp_builder.hpp)") {
    CHECK(parameter_set_id(example_sps()) == 0u);
    CHECK(parameter_set_id(example_pps()) == 0u);
  }
  SECTION("openh264 (captured_openh264.hpp)") {
    CHECK(parameter_set_id(nagare::test::openh264_sps()) == 0u);
    CHECK(parameter_set_id(nagare::test::openh264_pps()) == 0u);
  }
}

TEST_CASE("parameter_set_id bounds", "[parameter-sets]") {
  SECTION("SPS id 31 is the largest (H.264 §7.4.2.1.1)") {
    CHECK(parameter_set_id(sps_with({0x04, 0x10})) == 31u);  // ue 00000 1 00000
    CHECK_FALSE(parameter_set_id(sps_with({0x04, 0x30})));   // ue 00000 1 00001 = 32
  }
  SECTION("PPS id 255 is the largest (§7.4.2.2)") {
    CHECK(parameter_set_id(Bytes{0x68, 0x00, 0x80, 0x40}) == 255u);  // ue 8 zeros, 1, 00000000
    CHECK_FALSE(parameter_set_id(Bytes{0x68, 0x00, 0x80, 0xc0}));    // 256
  }
  SECTION("an id after an emulation prevention byte") {
    // profile_idc 0, constraint flags 0, then 03 (prevention), level 0,
    // then ue 00100 = 3. Read without skipping the 03, the id would run out.
    CHECK(parameter_set_id(Bytes{0x67, 0x00, 0x00, 0x03, 0x00, 0x20}) == 3u);
  }
  SECTION("too short to hold an id") {
    CHECK_FALSE(parameter_set_id(Bytes{0x67, 0x42, 0xc0, 0x15}));
    CHECK_FALSE(parameter_set_id(Bytes{0x67}));
    CHECK_FALSE(parameter_set_id(Bytes{0x68}));
    CHECK_FALSE(parameter_set_id(Bytes{0x68, 0x00}));  // 8+ zeros and no '1'
    CHECK_FALSE(parameter_set_id(Bytes{}));
  }
  SECTION("not a parameter set") {
    CHECK_FALSE(parameter_set_id(Bytes{0x65, 0x88}));
    CHECK_FALSE(parameter_set_id(Bytes{0x06, 0x80}));
  }
}

TEST_CASE("is_first_slice_of_picture reads first_mb_in_slice == 0", "[parameter-sets]") {
  CHECK(is_first_slice_of_picture(Bytes{0x65, 0x88, 0x84}));
  CHECK(is_first_slice_of_picture(Bytes{0x41, 0x9a}));
  CHECK_FALSE(is_first_slice_of_picture(Bytes{0x65, 0x40}));  // ue 010 = 1
  CHECK_FALSE(is_first_slice_of_picture(Bytes{0x41, 0x00}));
  CHECK_FALSE(is_first_slice_of_picture(Bytes{0x65}));
  CHECK_FALSE(is_first_slice_of_picture(Bytes{}));
}

TEST_CASE("ParameterSets stores by id", "[parameter-sets]") {
  ParameterSets ps;
  CHECK_FALSE(ps.has_sps());
  CHECK_FALSE(ps.has_pps());
  CHECK(ps.latest_sps().empty());

  const Bytes sps0 = example_sps();
  const Bytes sps1 = sps_with({0x40});  // ue 010 = id 1
  const Bytes pps0 = example_pps();
  const Bytes pps1 = {0x68, 0x4e, 0x3c};  // ue 010 = id 1

  SECTION("store and read back") {
    CHECK(ps.store(sps0));
    CHECK(ps.store(pps0));
    CHECK(ps.has_sps());
    CHECK(ps.has_pps());
    CHECK(all_sps(ps) == std::vector<Bytes>{sps0});
    CHECK(all_pps(ps) == std::vector<Bytes>{pps0});
  }
  SECTION("different ids are kept side by side, in id order") {
    CHECK(ps.store(pps1));
    CHECK(ps.store(pps0));
    CHECK(ps.store(sps1));
    CHECK(ps.store(sps0));
    CHECK(all_sps(ps) == std::vector<Bytes>{sps0, sps1});
    CHECK(all_pps(ps) == std::vector<Bytes>{pps0, pps1});
  }
  SECTION("a new set with a known id replaces the old one") {
    ps.store(sps0);
    Bytes changed = sps0;
    changed.back() ^= 0x01;
    const auto before = ps.generation();
    CHECK(ps.store(changed));
    CHECK(ps.generation() > before);
    CHECK(all_sps(ps) == std::vector<Bytes>{changed});
  }
  SECTION("the same bytes again do not bump the generation") {
    ps.store(sps0);
    ps.store(pps0);
    const auto before = ps.generation();
    CHECK(ps.store(sps0));
    CHECK(ps.store(pps0));
    CHECK(ps.generation() == before);
  }
  SECTION("latest_sps is the SPS stored last") {
    ps.store(sps0);
    CHECK(Bytes(ps.latest_sps().begin(), ps.latest_sps().end()) == sps0);
    ps.store(sps1);
    CHECK(Bytes(ps.latest_sps().begin(), ps.latest_sps().end()) == sps1);
    // Switching back to a known SPS changes the caps, so the generation moves.
    const auto before = ps.generation();
    ps.store(sps0);
    CHECK(Bytes(ps.latest_sps().begin(), ps.latest_sps().end()) == sps0);
    CHECK(ps.generation() > before);
    // A PPS does not change it.
    ps.store(pps1);
    CHECK(Bytes(ps.latest_sps().begin(), ps.latest_sps().end()) == sps0);
  }
  SECTION("what is not an SPS or PPS is refused") {
    const auto before = ps.generation();
    CHECK_FALSE(ps.store(Bytes{0x65, 0x88, 0x84}));
    CHECK_FALSE(ps.store(Bytes{0x67, 0x42}));
    CHECK_FALSE(ps.store(Bytes{}));
    CHECK_FALSE(ps.has_sps());
    CHECK(ps.generation() == before);
  }
  SECTION("clear forgets everything and bumps the generation") {
    ps.store(sps0);
    ps.store(pps0);
    const auto before = ps.generation();
    ps.clear();
    CHECK_FALSE(ps.has_sps());
    CHECK_FALSE(ps.has_pps());
    CHECK(ps.latest_sps().empty());
    CHECK(all_sps(ps).empty());
    CHECK(ps.generation() > before);
  }
}
