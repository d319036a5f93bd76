// Assembler (plugins/h264depay/assembler.hpp) on damaged streams: sequence
// gaps and lost-packet notices, waiting for a key frame, late and duplicate
// packets, restarts, padding, bad payloads, drain() and reset().
//
// Packets are built with tests/support/rtp_builder.hpp. Every case states
// all counters (check_stats: unnamed ones must be 0).
#include <catch2/catch.hpp>

#include "assembler_harness.hpp"

using namespace nagare::h264;
using namespace nagare::test;

namespace {

constexpr AssemblerSettings kNoWait{.wait_for_keyframe = false};

const Bytes kIdr = nal(kNalIdr, 40);
const Bytes kP = nal(kNalSlice, 30);

}  // namespace

TEST_CASE("a sequence gap drops the broken access unit", "[assembler][loss]") {
  const bool wait = GENERATE(true, false);
  INFO("wait_for_keyframe " << wait);
  Harness h(AssemblerSettings{.wait_for_keyframe = wait});
  h.push(at(10, 1000, true), kIdr);
  REQUIRE(h.out.size() == 1);

  // An FU-A whose middle fragment (11 of 10..13) never comes.
  const Bytes big = nal(kNalIdr, 120);
  const auto frags = fu_a(big, 40);
  REQUIRE(frags.size() == 3);
  CHECK_FALSE(h.push(at(11, 4000), frags[0]).request_keyframe);
  const PushResult r = h.push(at(13, 4000, true), frags[2]);
  CHECK(r.request_keyframe);
  CHECK(r.malformation == Malformation::kNone);  // a loss, not the sender's fault
  CHECK(h.last_count == 0);
  CHECK(h.out.size() == 1);
  CHECK(h.live_refs == 0);
  check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 1});

  // The next whole IDR access unit is output, marked DISCONT.
  h.push(at(14, 7000, true), kIdr);
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[1].bytes == annexb({kIdr}));
  CHECK(h.out[1].discont);
  check_stats(h.assembler.stats(), {.packets = 4, .access_units = 2, .dropped = 1, .lost = 1});
}

TEST_CASE("DISCONT marks the first output after a loss", "[assembler][loss]") {
  Harness h(kNoWait);
  h.push(at(1, 1000, true), kIdr);
  h.push(at(2, 4000, true), kP);
  h.push(at(4, 10000, true), kP);  // 3 lost, between access units
  h.push(at(5, 13000, true), kP);
  REQUIRE(h.out.size() == 4);
  CHECK(h.out[0].discont);
  CHECK_FALSE(h.out[1].discont);
  CHECK(h.out[2].discont);
  CHECK_FALSE(h.out[3].discont);
  check_stats(h.assembler.stats(), {.packets = 4, .access_units = 4, .lost = 1});
}

TEST_CASE("packet_lost() drops the open access unit", "[assembler][loss]") {
  Harness h;
  h.push(at(10, 1000, true), kIdr);
  const Bytes big = nal(kNalIdr, 120);
  const auto frags = fu_a(big, 40);
  h.push(at(11, 4000), frags[0]);

  SECTION("and its gap is not counted again when the next packet comes") {
    const PushResult r = h.lost(12);
    CHECK(r.request_keyframe);
    CHECK(h.last_count == 0);
    h.push(at(13, 4000, true), frags[2]);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 1});
    h.push(at(14, 7000, true), kIdr);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].discont);
  }
  SECTION("two notices in a row count two") {
    h.lost(12);
    h.lost(13);
    h.push(at(14, 4000, true), frags[2]);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 2});
  }
  SECTION("a notice for a later packet counts the ones before it too") {
    h.lost(14);  // 12, 13 and 14
    h.push(at(15, 4000, true), frags[2]);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 3});
  }
  SECTION("a notice for a packet already handled changes nothing") {
    CHECK_FALSE(h.lost(11).request_keyframe);
    CHECK_FALSE(h.lost(5).request_keyframe);
    h.push(at(12, 4000), frags[1]);
    h.push(at(13, 4000, true), frags[2]);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].bytes == annexb({big}));
    CHECK_FALSE(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 4, .access_units = 2});
  }
  SECTION("a notice as far ahead as a restart is ignored; one short of it counts") {
    CHECK_FALSE(h.lost(static_cast<std::uint16_t>(12 + Assembler::kRestartDistance)).request_keyframe);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1});
    CHECK(h.lost(static_cast<std::uint16_t>(12 + Assembler::kRestartDistance - 1)).request_keyframe);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1, .lost = 3000});
  }
  SECTION("a notice without a sequence number counts one") {
    CHECK(h.lost(std::nullopt).request_keyframe);
    h.push(at(12, 4000), frags[1]);
    h.push(at(13, 4000, true), frags[2]);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 4, .access_units = 1, .dropped = 1, .lost = 1});
  }
}

TEST_CASE("packet_lost() before any packet", "[assembler][loss]") {
  Harness h;
  CHECK(h.lost(5).request_keyframe);
  check_stats(h.assembler.stats(), {.lost = 1});
  h.push(at(9, 1000, true), kIdr);  // no reference yet: no gap counted
  CHECK(h.out.size() == 1);
  check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1, .lost = 1});
}

TEST_CASE("wait_for_keyframe: nothing until an IDR", "[assembler][loss]") {
  Harness h;  // wait_for_keyframe is on by default

  SECTION("at the start") {
    CHECK(h.push(at(1, 1000, true), kP).request_keyframe);
    CHECK(h.push(at(2, 4000, true), kP).request_keyframe);
    CHECK(h.out.empty());
    CHECK_FALSE(h.push(at(3, 7000, true), kIdr).request_keyframe);
    h.push(at(4, 10000, true), kP);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[0].keyframe);
    CHECK(h.out[0].discont);
    CHECK_FALSE(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 4, .access_units = 2, .dropped = 2});
  }
  SECTION("after a loss, even whole access units wait") {
    h.push(at(1, 1000, true), kIdr);
    h.push(at(2, 4000, true), kP);
    CHECK(h.push(at(4, 10000, true), kP).request_keyframe);  // 3 lost
    CHECK(h.push(at(5, 13000, true), kP).request_keyframe);
    CHECK(h.out.size() == 2);
    h.push(at(6, 16000, true), kIdr);
    REQUIRE(h.out.size() == 3);
    CHECK(h.out[2].keyframe);
    CHECK(h.out[2].discont);
    check_stats(h.assembler.stats(), {.packets = 5, .access_units = 3, .dropped = 2, .lost = 1});
  }
}

TEST_CASE("without wait_for_keyframe the next whole access unit goes out", "[assembler][loss]") {
  Harness h(kNoWait);
  SECTION("at the start") {
    h.push(at(1, 1000, true), kP);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].discont);
    CHECK_FALSE(h.out[0].keyframe);
    check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1});
  }
  SECTION("after a loss, with DISCONT") {
    h.push(at(1, 1000, true), kIdr);
    const PushResult r = h.push(at(3, 7000, true), kP);  // 2 lost
    CHECK(r.request_keyframe);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].bytes == annexb({kP}));
    CHECK(h.out[1].discont);
    CHECK_FALSE(h.out[1].keyframe);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2, .lost = 1});
  }
}

TEST_CASE("after a gap, an access unit must start at the head of a picture", "[assembler][loss]") {
  Harness h(kNoWait);
  h.push(at(1, 1000, true), kP);
  // Packet 2, the first slice of the picture at 4000, is lost.

  SECTION("a slice with first_mb_in_slice != 0 is not a head") {
    CHECK(h.push(at(3, 4000, true), later_slice(kNalSlice, 30)).request_keyframe);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1, .dropped = 1, .lost = 1});
  }
  SECTION("nor is an FU-A start of such a slice") {
    const auto frags = fu_a(later_slice(kNalSlice, 60), 40);
    h.push(at(3, 4000), frags[0]);
    h.push(at(4, 4000, true), frags[1]);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 1});
  }
  SECTION("nor an FU-A middle fragment: dropped, and not counted as malformed") {
    const auto frags = fu_a(nal(kNalSlice, 100), 40);
    h.push(at(3, 4000), frags[1]);
    h.push(at(4, 4000, true), frags[2]);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .lost = 1});
  }
  SECTION("the next access unit is whole again") {
    h.push(at(3, 4000, true), later_slice(kNalSlice, 30));
    h.push(at(4, 7000, true), kP);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 2, .dropped = 1, .lost = 1});
  }
  SECTION("an access unit delimiter is a head (H.264 §7.4.1.2.3)") {
    const Bytes aud{0x09, 0xf0};
    h.push(at(3, 4000), aud);
    h.push(at(4, 4000, true), kP);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].bytes == annexb({aud, kP}));
    CHECK(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 2, .lost = 1});
  }
}

TEST_CASE("late and duplicate packets are counted and dropped", "[assembler][loss]") {
  Harness h;
  SECTION("after their access unit") {
    h.push(at(10, 1000, true), kIdr);
    const PushResult dup = h.push(at(10, 1000, true), kIdr);
    CHECK_FALSE(dup.request_keyframe);
    CHECK(h.last_count == 0);
    h.push(at(5, 900, true), kIdr);
    h.push(at(11, 4000, true), kP);
    REQUIRE(h.out.size() == 2);
    CHECK_FALSE(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 4, .access_units = 2, .late = 2});
  }
  SECTION("inside an FU-A, leaving the NAL unit exact") {
    const Bytes big = nal(kNalIdr, 120);
    const auto frags = fu_a(big, 40);
    h.push(at(20, 1000), frags[0]);
    h.push(at(21, 1000), frags[1]);
    h.push(at(21, 1000), frags[1]);
    h.push(at(20, 1000), frags[0]);
    h.push(at(22, 1000, true), frags[2]);
    REQUIRE(h.out.size() == 1);
    CHECK(h.out[0].bytes == annexb({big}));
    check_stats(h.assembler.stats(), {.packets = 5, .access_units = 1, .late = 2});
  }
  SECTION("a reordered packet: first a gap, then late") {
    h.push(at(1, 1000, true), kIdr);
    h.push(at(3, 7000, true), kIdr);
    h.push(at(2, 4000, true), kP);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 2, .lost = 1, .late = 1});
  }
  SECTION("the bound: 2999 behind is late") {
    h.push(at(5000, 1000, true), kIdr);
    h.push(at(5001 - 2999, 900, true), kIdr);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1, .late = 1});
  }
  CHECK(h.live_refs <= 1);
}

TEST_CASE("a new SSRC or a sequence jump is a restart", "[assembler][restart]") {
  Harness h;
  h.push(at(100, 1000, true), kIdr);
  REQUIRE(h.out.size() == 1);

  SECTION("SSRC change between access units, sequence continuing") {
    RtpHeader other = at(101, 555, true);
    other.ssrc = 0xabcdef01;
    const PushResult r = h.push(other, kIdr);
    CHECK(r.request_keyframe);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2, .restarts = 1});
  }
  SECTION("SSRC change inside an access unit drops it") {
    const auto frags = fu_a(nal(kNalIdr, 100), 60);
    h.push(at(101, 4000), frags[0]);
    RtpHeader other = at(7, 555, true);
    other.ssrc = 0xabcdef01;
    h.push(other, kIdr);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].rtp_timestamp == 555);
    CHECK(h.out[1].discont);
    CHECK(h.live_refs == 1);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 2, .dropped = 1, .restarts = 1});
  }
  SECTION("after a restart, the wait for a key frame starts over") {
    RtpHeader other = at(101, 555, true);
    other.ssrc = 0xabcdef01;
    h.push(other, kP);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1, .dropped = 1, .restarts = 1});
  }
  SECTION("a forward jump of 3000 is a restart, not 2999 lost") {
    h.push(at(101 + 3000, 4000, true), kIdr);
    CHECK(h.out.size() == 2);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2, .restarts = 1});
  }
  SECTION("the bound: a forward jump of 2999 is a loss") {
    h.push(at(101 + 2999, 4000, true), kIdr);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2, .lost = 2999});
  }
  SECTION("a backward jump of 3000 is a restart") {
    h.push(at(101 - 3000, 4000, true), kIdr);
    CHECK(h.out.size() == 2);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 2, .restarts = 1});
  }
}

TEST_CASE("padding-only packets are counted and ignored", "[assembler]") {
  // libwebrtc probes bandwidth with them (RFC 3550 §5.1 padding, no payload);
  // they take a sequence number, so skipping them must not read as a loss.
  Harness h;
  const Bytes big = nal(kNalIdr, 120);
  const auto frags = fu_a(big, 70);
  RtpHeader probe = at(2, 77777);  // another timestamp: still not an AU boundary
  probe.padding = 255;
  h.push(at(1, 1000), frags[0]);
  h.push(probe, Bytes{});
  CHECK(h.last_count == 0);
  h.push(at(3, 1000, true), frags[1]);
  probe.sequence = 4;
  h.push(probe, Bytes{});
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].bytes == annexb({big}));
  h.push(at(5, 4000, true), kP);
  REQUIRE(h.out.size() == 2);
  CHECK_FALSE(h.out[1].discont);
  check_stats(h.assembler.stats(), {.packets = 5, .access_units = 2, .padding = 2});

  SECTION("an empty payload without padding is malformed, but loses nothing") {
    const PushResult r = h.push(at(6, 7000), Bytes{});
    CHECK(r.malformation == Malformation::kEmpty);
    h.push(at(7, 7000, true), kP);
    REQUIRE(h.out.size() == 3);
    check_stats(h.assembler.stats(), {.packets = 7, .access_units = 3, .malformed = 1, .padding = 2});
  }
}

TEST_CASE("broken FU-A sequences are malformed and drop the access unit", "[assembler][malformed]") {
  Harness h;
  h.push(at(1, 1000, true), kIdr);
  REQUIRE(h.out.size() == 1);
  const Bytes big = nal(kNalIdr, 120);
  const auto frags = fu_a(big, 40);  // start, middle, end
  Malformation why = Malformation::kNone;
  std::uint16_t seq = 2;

  SECTION("a fragment with no start before it") {
    why = h.push(at(seq++, 4000), frags[1]).malformation;
    CHECK(why == Malformation::kFuWithoutStart);
    h.push(at(seq++, 4000, true), frags[2]);
  }
  SECTION("fragments that change the NAL unit type") {
    h.push(at(seq++, 4000), frags[0]);
    Bytes other_type = frags[2];
    other_type[1] = (other_type[1] & 0xe0) | kNalSlice;
    why = h.push(at(seq++, 4000, true), other_type).malformation;
    CHECK(why == Malformation::kFuTypeChanged);
  }
  SECTION("a new start before the end") {
    h.push(at(seq++, 4000), frags[0]);
    why = h.push(at(seq++, 4000), frags[0]).malformation;
    CHECK(why == Malformation::kFuUnfinished);
    h.push(at(seq++, 4000, true), frags[2]);
  }
  SECTION("a single NAL unit before the end") {
    h.push(at(seq++, 4000), frags[0]);
    why = h.push(at(seq++, 4000, true), later_slice(kNalIdr, 20)).malformation;
    CHECK(why == Malformation::kFuUnfinished);
  }
  SECTION("a STAP-A before the end") {
    h.push(at(seq++, 4000), frags[0]);
    why = h.push(at(seq++, 4000, true), stap_a({later_slice(kNalIdr, 20)})).malformation;
    CHECK(why == Malformation::kFuUnfinished);
  }
  SECTION("the marker before the end") {
    h.push(at(seq++, 4000), frags[0]);
    why = h.push(at(seq++, 4000, true), frags[1]).malformation;
    CHECK(why == Malformation::kFuUnfinished);
  }
  SECTION("a new timestamp before the end") {
    h.push(at(seq++, 4000), frags[0]);
    const PushResult r = h.push(at(seq++, 7000, true), kIdr);
    why = r.malformation;
    CHECK(why == Malformation::kFuUnfinished);
    REQUIRE(h.out.size() == 2);  // the new access unit is whole
    CHECK(h.out[1].bytes == annexb({kIdr}));
    CHECK(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = seq - 1u, .access_units = 2, .dropped = 1, .malformed = 1});
    return;
  }

  CHECK(why != Malformation::kNone);
  CHECK(h.out.size() == 1);
  check_stats(h.assembler.stats(), {.packets = seq - 1u, .access_units = 1, .dropped = 1, .malformed = 1});
  // The stream goes on: the next access unit is output, after a DISCONT.
  h.push(at(seq++, 7000, true), kIdr);
  REQUIRE(h.out.size() == 2);
  CHECK(h.out[1].discont);
}

TEST_CASE("a malformed payload drops its access unit", "[assembler][malformed]") {
  Harness h;
  h.push(at(1, 1000, true), kIdr);
  const Bytes bad_stap{0x78, 0x00, 0x09, 0x65, 0x88};  // unit of 9 bytes, 2 there
  const Bytes f_bit{0xe5, 0x88};

  SECTION("inside the access unit") {
    h.push(at(2, 4000), kIdr);
    const PushResult r = h.push(at(3, 4000, true), bad_stap);
    CHECK(r.malformation == Malformation::kStapTruncated);
    CHECK(r.request_keyframe);
  }
  SECTION("as its first packet") {
    CHECK(h.push(at(2, 4000), f_bit).malformation == Malformation::kForbiddenBit);
    h.push(at(3, 4000, true), later_slice(kNalIdr, 20));
  }
  CHECK(h.out.size() == 1);
  CHECK(h.live_refs == 0);
  check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1, .malformed = 1});
}

TEST_CASE("reserved NAL types are counted, their access unit kept", "[assembler][malformed]") {
  // RFC 6184 §5.2: types 0, 30, 31 are to be ignored by receivers.
  const std::uint8_t type = GENERATE(0, 30, 31);
  INFO("type " << int(type));
  Harness h;
  const Bytes big = nal(kNalIdr, 100);
  const auto frags = fu_a(big, 60);
  h.push(at(1, 1000), frags[0]);
  const PushResult r = h.push(at(2, 1000), Bytes{static_cast<std::uint8_t>(0x60 | type), 0x12, 0x34});
  CHECK(r.malformation == Malformation::kReservedType);
  CHECK_FALSE(r.request_keyframe);
  h.push(at(3, 1000, true), frags[1]);
  REQUIRE(h.out.size() == 1);
  CHECK(h.out[0].bytes == annexb({big}));
  check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .malformed = 1});
}

TEST_CASE("interleaved-mode payloads are counted unsupported", "[assembler]") {
  // STAP-B, MTAP16, MTAP24, FU-B (RFC 6184 §6.3): their data is lost to a
  // non-interleaved receiver, so their access unit is too.
  const std::uint8_t type = GENERATE(25, 26, 27, 29);
  INFO("type " << int(type));
  Harness h;
  h.push(at(1, 1000), kIdr);
  const PushResult r = h.push(at(2, 1000, true), Bytes{static_cast<std::uint8_t>(0x60 | type), 0, 1, 0, 2, 0x65});
  CHECK(r.unsupported);
  CHECK(r.request_keyframe);
  CHECK(h.out.empty());
  check_stats(h.assembler.stats(), {.packets = 2, .dropped = 1, .unsupported = 1});
}

TEST_CASE("drain() ends the stream", "[assembler]") {
  Harness h;
  SECTION("an open whole access unit is output") {
    h.push(at(1, 1000), kIdr);
    h.drain();
    REQUIRE(h.last_count == 1);
    CHECK(h.out[0].bytes == annexb({kIdr}));
    check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1});
  }
  SECTION("an unfinished FU-A is dropped, as truncated rather than malformed") {
    h.push(at(1, 1000, true), kIdr);
    h.push(at(2, 4000), fu_a(nal(kNalIdr, 100), 60)[0]);
    h.drain();
    CHECK(h.last_count == 0);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 2, .access_units = 1, .dropped = 1});
  }
  SECTION("with nothing open, nothing happens") {
    h.push(at(1, 1000, true), kIdr);
    h.drain();
    h.drain();
    CHECK(h.last_count == 0);
    check_stats(h.assembler.stats(), {.packets = 1, .access_units = 1});
  }
  h.assembler.release_ready();
  CHECK(h.live_refs == 0);
}

TEST_CASE("reset() forgets the stream but keeps parameter sets and stats", "[assembler]") {
  Harness h;
  h.push(at(1, 1000, true), stap_a({example_sps(), example_pps(), kIdr}));
  h.push(at(2, 4000), kP);  // left open
  CHECK(h.live_refs == 1);
  h.assembler.reset();
  CHECK(h.live_refs == 0);

  SECTION("no gap or restart is seen across it, and the AU in the air is gone") {
    RtpHeader next = at(40000, 90000, true);
    next.ssrc = 0x0badcafe;
    h.push(next, kIdr);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].discont);
    CHECK(h.out[1].bytes == annexb({example_sps(), example_pps(), kIdr}));  // sets kept
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 2});
  }
  SECTION("it waits for a key frame again") {
    h.push(at(3, 7000, true), kP);
    CHECK(h.out.size() == 1);
    check_stats(h.assembler.stats(), {.packets = 3, .access_units = 1, .dropped = 1});
  }
  SECTION("its first access unit must start at the head of a picture") {
    h.push(at(3, 7000, true), later_slice(kNalIdr, 20));
    CHECK(h.out.size() == 1);
    h.push(at(4, 10000, true), kIdr);
    REQUIRE(h.out.size() == 2);
    CHECK(h.out[1].discont);
    check_stats(h.assembler.stats(), {.packets = 4, .access_units = 2, .dropped = 1});
  }
}
