// Assembler (plugins/h264depay/assembler.hpp), whole streams: how packets
// become access units, their boundaries, flags and bytes, and the SPS/PPS
// put in front of IDR access units. Loss and bad input are in
// test_assembler_loss.cpp.
//
// Packets are built with tests/support/rtp_builder.hpp; NAL bodies are
// counting bytes, which the assembler never looks into beyond the first
// bit of a slice header. The real SPS/PPS are x264's; the last test case
// replays a capture from openh264 (captured_openh264.hpp).
#include <catch2/catch.hpp>

#include "assembler_harness.hpp"
#include "captured_openh264.hpp"

using namespace nagare::h264;
using namespace nagare::test;

namespace {

constexpr AssemblerSettings kNoWait{.wait_for_keyframe = false};

}  // namespace

TEST_CASE("a single NAL unit packet with the marker is an access unit", "[assembler]") {
  Harness h;
  const Bytes idr = nal(kNalIdr, 40);
  const PushResult r = h.push(at(100, 9000, true), idr, 42);
  CHECK_FALSE(r.request_keyframe);
  CHECK(r.malformation == Malformation::kNone);
  REQUIRE(h.last_count == 1);
  CHECK(h.out[0].bytes == annexb({idr}));
  CHECK(h.out[0].rtp_timestamp == 9000);
  CHECK(h.out[0].keyframe);
  check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1});

  // The NAL unit is not copied: the piece points into the packet, which the
  // access unit keeps alive until it is released.
  const AccessUnit& au = h.assembler.ready()[0];
  REQUIRE(au.pieces.size() == 1);
  CHECK(au.pieces[0].source == Piece::Source::kPacket);
  CHECK(au.pieces[0].offset == 12);
  CHECK(au.pieces[0].size == idr.size());
  CHECK(au.output_size() == 4 + idr.size());
  CHECK(h.live_refs == 1);
  h.assembler.release_ready();
  CHECK(h.live_refs == 0);
  CHECK(h.assembler.ready().empty());
}

TEST_CASE("a STAP-A packet is an access unit of its units", "[assembler]") {
  Harness h;
  const Bytes idr = nal(kNalIdr, 30);
  h.push(at(7, 3000, true), stap_a({example_sps(), example_pps(), idr}));
  REQUIRE(h.last_count == 1);
  CHECK(h.out[0].bytes == annexb({example_sps(), example_pps(), idr}));
  CHECK(h.out[0].keyframe);
  CHECK(h.assembler.ready()[0].pieces.size() == 3);
  // The parameter sets were learned on the way.
  CHECK(h.assembler.parameter_sets().has_sps());
  CHECK(h.assembler.parameter_sets().has_pps());
  check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1});
}

TEST_CASE("FU-A fragments are reassembled byte for byte", "[assembler]") {
  Harness h;
  // NRI 2, so the rebuilt header must carry it from the FU indicator.
  const Bytes idr = nal(kNalIdr, 300, 0x10, 2);

  SECTION("three fragments") {
    const auto frags = fu_a(idr, 100);
    REQUIRE(frags.size() == 3);
    h.push(at(1, 3000), frags[0]);
    h.push(at(2, 3000), frags[1]);
    CHECK(h.out.empty());
    h.push(at(3, 3000, true), frags[2]);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({idr}));
    CHECK(h.out[0].keyframe);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1});
  }
  SECTION("many small fragments") {
    const auto frags = fu_a(idr, 7);
    REQUIRE(frags.size() == 43);
    for (std::size_t i = 0; i < frags.size(); ++i)
      h.push(at(static_cast<std::uint16_t>(i), 3000, i + 1 == frags.size()), frags[i]);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({idr}));
    check_stats(h.assembler.stats(), {.packets = 43, .access_units = 1});
  }
  SECTION("a middle fragment with no data") {
    const auto frags = fu_a(idr, 200);
    REQUIRE(frags.size() == 2);
    h.push(at(1, 3000), frags[0]);
    h.push(at(2, 3000), Bytes{frags[0][0], kNalIdr});  // neither S nor E, no bytes
    h.push(at(3, 3000, true), frags[1]);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({idr}));
  }
  // The reassembled unit lives in the access unit's own arena, so no packet
  // is held once its fragment is copied.
  CHECK(h.live_refs == 0);
}

TEST_CASE("an access unit of several slices in mixed packet types", "[assembler]") {
  Harness h;
  const Bytes sei = nal(kNalSei, 12);
  const Bytes first = nal(kNalIdr, 40);
  const Bytes second = later_slice(kNalIdr, 250);
  const Bytes third = later_slice(kNalIdr, 20);
  const auto frags = fu_a(second, 100);
  REQUIRE(frags.size() == 3);

  h.push(at(10, 6000), stap_a({sei, first}));
  for (std::uint16_t i = 0; i < 3; ++i) h.push(at(static_cast<std::uint16_t>(11 + i), 6000), frags[i]);
  CHECK(h.out.empty());
  h.push(at(14, 6000, true), third);
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].bytes == annexb({sei, first, second, third}));
  CHECK(h.out[0].keyframe);
  check_stats(h.assembler.stats(), {.packets = 5, .access_units = 1});
  CHECK(h.live_refs == 2);  // the STAP-A and the last single NAL packet
}

TEST_CASE("the marker ends an access unit at once", "[assembler]") {
  Harness h;
  const Bytes a = nal(kNalIdr, 20);
  const Bytes b = later_slice(kNalIdr, 20);
  h.push(at(1, 3000), a);
  CHECK(h.last_count == 0);
  h.push(at(2, 3000, true), b);
  CHECK(h.last_count == 1);
  CHECK(h.out[0].bytes == annexb({a, b}));

  // ready() holds only what the last call finished.
  const Bytes p = nal(kNalSlice, 20);
  h.push(at(3, 6000), p);
  CHECK(h.last_count == 0);
  CHECK(h.assembler.ready().empty());
  check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1});
}

TEST_CASE("a new timestamp ends an access unit that had no marker", "[assembler]") {
  // RFC 6184 §5.1 asks for the marker, but not every sender sets it.
  Harness h;
  const Bytes idr = nal(kNalIdr, 20);
  const Bytes p1 = nal(kNalSlice, 20, 0x90);
  const Bytes p2 = nal(kNalSlice, 20, 0xa0);
  h.push(at(1, 1000), idr);
  CHECK(h.last_count == 0);
  h.push(at(2, 4000), p1);
  REQUIRE(h.last_count == 1);
  CHECK(h.out[0].bytes == annexb({idr}));
  CHECK(h.out[0].rtp_timestamp == 1000);
  h.push(at(3, 7000), p2);
  REQUIRE(h.last_count == 1);
  CHECK(h.out[1].bytes == annexb({p1}));
  CHECK(h.out[1].rtp_timestamp == 4000);
  // The last one waits for the end of the stream.
  h.drain();
  REQUIRE(h.last_count == 1);
  CHECK(h.out[2].bytes == annexb({p2}));
  check_stats(h.assembler.stats(), {.packets = 3, .access_units = 3});
}

TEST_CASE("one packet can finish two access units", "[assembler]") {
  // The open one ends on the new timestamp, the new one on the marker.
  Harness h;
  const Bytes idr = nal(kNalIdr, 20);
  const Bytes p = nal(kNalSlice, 20);
  h.push(at(1, 1000), idr);
  h.push(at(2, 4000, true), p);
  REQUIRE(h.last_count == 2);
  REQUIRE(h.assembler.ready().size() == 2);
  CHECK(h.out[0].bytes == annexb({idr}));
  CHECK(h.out[0].rtp_timestamp == 1000);
  CHECK(h.out[0].keyframe);
  CHECK(h.out[1].bytes == annexb({p}));
  CHECK(h.out[1].rtp_timestamp == 4000);
  CHECK_FALSE(h.out[1].keyframe);
  check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2});
}

TEST_CASE("the PTS of an access unit is its first packet's", "[assembler]") {
  Harness h;
  h.push(at(1, 1000), nal(kNalIdr, 20), 5'000'000);
  h.push(at(2, 1000, true), later_slice(kNalIdr, 20), 6'000'000);
  h.push(at(3, 4000, true), nal(kNalSlice, 20));  // no time given
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[0].pts == 5'000'000);
  CHECK(h.out[1].pts == -1);
}

TEST_CASE("the key frame flag is set by an IDR slice only", "[assembler]") {
  Harness h(kNoWait);
  h.push(at(1, 1000, true), nal(kNalSlice, 20));
  h.push(at(2, 2000, true), stap_a({nal(kNalSei, 8), example_sps(), example_pps()}));
  h.push(at(3, 3000, true), stap_a({example_sps(), example_pps(), nal(kNalSlice, 20)}));
  const auto frags = fu_a(nal(kNalIdr, 50), 30);
  h.push(at(4, 4000), frags[0]);
  h.push(at(5, 4000, true), frags[1]);
  h.push(at(6, 5000, true), stap_a({example_sps(), example_pps(), nal(kNalIdr, 20)}));
  REQUIRE(h.out.size() == 5);
  CHECK_FALSE(h.out[0].keyframe);
  CHECK_FALSE(h.out[1].keyframe);  // parameter sets alone
  CHECK_FALSE(h.out[2].keyframe);  // parameter sets and a non-IDR slice
  CHECK(h.out[3].keyframe);        // IDR in FU-A
  CHECK(h.out[4].keyframe);        // IDR in STAP-A
  check_stats(h.assembler.stats(), {.packets = 6, .access_units = 5});
}

TEST_CASE("DISCONT is set on the first output only", "[assembler]") {
  Harness h;
  h.push(at(1, 1000, true), nal(kNalIdr, 20));
  h.push(at(2, 4000, true), nal(kNalSlice, 20));
  h.push(at(3, 7000, true), nal(kNalSlice, 20));
  REQUIRE(h.out.size() == 3);
  CHECK(h.out[0].discont);
  CHECK_FALSE(h.out[1].discont);
  CHECK_FALSE(h.out[2].discont);
}

TEST_CASE("sequence numbers wrap from 65535 to 0 without loss", "[assembler]") {
  Harness h;
  const Bytes idr = nal(kNalIdr, 100);
  const auto frags = fu_a(idr, 30);
  REQUIRE(frags.size() == 4);
  // 65534, 65535, 0, 1: one fragmented NAL unit across the wrap.
  for (std::uint16_t i = 0; i < 4; ++i) h.push(at(static_cast<std::uint16_t>(65534 + i), 1000, i == 3), frags[i]);
  h.push(at(2, 4000, true), nal(kNalSlice, 20));
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[0].bytes == annexb({idr}));
  CHECK_FALSE(h.out[1].discont);
  check_stats(h.assembler.stats(), {.packets = 5, .access_units = 2});
}

TEST_CASE("SPS and PPS are put before an IDR access unit that lacks them", "[assembler]") {
  Harness h;
  const Bytes sps = example_sps();
  const Bytes pps = example_pps();
  const Bytes idr = nal(kNalIdr, 30);
  const Bytes aud{0x09, 0xf0};

  SECTION("learned in band") {
    h.push(at(1, 1000, true), stap_a({sps, pps, idr}));
    h.push(at(2, 4000, true), idr);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].bytes == annexb({sps, pps, idr}));
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2});
  }
  SECTION("after a leading access unit delimiter (H.264 §7.4.1.2.3)") {
    h.push(at(1, 1000, true), stap_a({sps, pps, idr}));
    h.push(at(2, 4000), aud);
    h.push(at(3, 4000, true), idr);
    h.push(at(4, 7000, true), stap_a({aud, idr}));
    REQUIRE(h.out.size() == 3);
    CHECK(h.out[1].bytes == annexb({aud, sps, pps, idr}));
    CHECK(h.out[2].bytes == annexb({aud, sps, pps, idr}));
  }
  SECTION("after a leading delimiter that came fragmented") {
    // An FU-A may carry any type (§5.8), even a 2-byte AUD: S and E must be
    // in different packets, so its start fragment carries no data.
    h.push(at(1, 1000, true), stap_a({sps, pps, idr}));
    h.push(at(2, 4000), Bytes{0x1c, 0x89});
    h.push(at(3, 4000), Bytes{0x1c, 0x49, 0xf0});
    const Bytes big = nal(kNalIdr, 100);
    const auto frags = fu_a(big, 60);
    h.push(at(4, 4000), frags[0]);
    h.push(at(5, 4000, true), frags[1]);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].bytes == annexb({aud, sps, pps, big}));
  }
  SECTION("from out of band (sprop-parameter-sets, RFC 6184 §8.1)") {
    CHECK(h.assembler.add_parameter_set(sps));
    CHECK(h.assembler.add_parameter_set(pps));
    CHECK_FALSE(h.assembler.add_parameter_set(idr));
    CHECK_FALSE(h.assembler.add_parameter_set(Bytes{}));
    h.push(at(1, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, pps, idr}));
  }
  SECTION("from out of band, into an FU-A access unit") {
    h.assembler.add_parameter_set(sps);
    h.assembler.add_parameter_set(pps);
    const Bytes big = nal(kNalIdr, 200);
    const auto frags = fu_a(big, 120);
    h.push(at(1, 1000), frags[0]);
    h.push(at(2, 1000, true), frags[1]);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, pps, big}));
  }
  SECTION("every stored set, in id order") {
    const Bytes sps1{0x67, 0x42, 0xc0, 0x15, 0x40};  // seq_parameter_set_id 1
    const Bytes pps1{0x68, 0x4e, 0x3c};              // pic_parameter_set_id 1
    h.assembler.add_parameter_set(pps1);
    h.assembler.add_parameter_set(sps1);
    h.assembler.add_parameter_set(pps);
    h.assembler.add_parameter_set(sps);
    h.push(at(1, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, sps1, pps, pps1, idr}));
  }
  SECTION("not when the access unit has them") {
    h.assembler.add_parameter_set(sps);
    h.assembler.add_parameter_set(pps);
    h.push(at(1, 1000), sps);
    h.push(at(2, 1000), pps);
    h.push(at(3, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, pps, idr}));
  }
  SECTION("a missing SPS goes in front of the access unit's PPS") {
    h.assembler.add_parameter_set(sps);
    h.push(at(1, 1000), pps);
    h.push(at(2, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, pps, idr}));
  }
  SECTION("a missing PPS brings the SPS with it, so no PPS precedes its SPS") {
    h.assembler.add_parameter_set(sps);
    h.assembler.add_parameter_set(pps);
    h.push(at(1, 1000), sps);
    h.push(at(2, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({sps, pps, sps, idr}));
  }
  SECTION("not before a non-IDR access unit") {
    Harness n(kNoWait);
    n.assembler.add_parameter_set(sps);
    n.assembler.add_parameter_set(pps);
    const Bytes p = nal(kNalSlice, 20);
    n.push(at(1, 1000, true), p);
    REQUIRE(n.out.size() == 1);
    CHECK(n.out[0].bytes == annexb({p}));
  }
  SECTION("nothing when none is known") {
    h.push(at(1, 1000, true), idr);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({idr}));
  }
}

TEST_CASE("a captured openh264 stream gives rtph264depay's access units", "[assembler][captured]") {
  Harness h;
  const auto packets = openh264_packets();
  for (std::size_t i = 0; i < packets.size(); ++i) h.push_packet(packets[i], static_cast<std::int64_t>(i) * 1'000'000);
  const auto reference = openh264_reference_aus();
  REQUIRE(h.out.size() == reference.size());
  for (std::size_t i = 0; i < reference.size(); ++i) {
    INFO("access unit " << i);
    CHECK(h.out[i].bytes == reference[i]);
  }
  CHECK(h.out[0].rtp_timestamp == 1000);
  CHECK(h.out[1].rtp_timestamp == 3999);
  CHECK(h.out[2].rtp_timestamp == 6999);
  CHECK(h.out[0].pts == 0);
  CHECK(h.out[1].pts == 3'000'000);
  CHECK(h.out[0].keyframe);
  CHECK_FALSE(h.out[1].keyframe);
  CHECK_FALSE(h.out[2].keyframe);
  CHECK(h.out[0].discont);
  CHECK_FALSE(h.out[1].discont);
  CHECK_FALSE(h.out[2].discont);
  check_stats(h.assembler.stats(), {.packets = 5, .access_units = 3});
}
