// nagarealign through GstHarness: what a network does to a stream. Loss
// (GstRTPPacketLost events), reordering, duplicates, stragglers, a sender
// that restarts with a new SSRC, and the stats that count all of it.
#include "align_harness.hpp"

namespace nagare::test::elements {
namespace {

constexpr std::uint32_t kTs0 = 0x00012c00;
constexpr std::uint32_t kOtherSsrc = 0x55667788;

// Audio packet `n` of the grid: RTP time kTs0 + n * 20 ms.
Bytes nth(std::uint16_t sequence, std::uint32_t n, std::uint32_t ssrc = kSsrc) {
  return packet(sequence, kTs0 + n * kOpusTicks, ssrc);
}

}  // namespace

TEST_CASE("a gap: one GstRTPPacketLost per missing packet, just before the next", "[align][loss]") {
  Align a;
  REQUIRE(a.push(nth(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1020)) == GST_FLOW_OK);

  SECTION("one missing") {
    REQUIRE(a.push(nth(4, 3), ms(1060)) == GST_FLOW_OK);
    a.release(2);
    // Nothing is said about 3 until 4 leaves.
    CHECK(a.next_wake() == ms(1560));
    CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020))});
    a.release(3);
    CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)),
                                       lost_out(3, ms(1040), ms(20)), buffer_out(4, ms(1060))});
    CHECK(a.stats("sink_0").counters == Counters{.packets = 3, .lost = 1});
  }

  SECTION("the missing one comes in time after all: no loss") {
    REQUIRE(a.push(nth(4, 3), ms(1060)) == GST_FLOW_OK);
    REQUIRE(a.push(nth(3, 2), ms(1200)) == GST_FLOW_OK);  // due at 1540 ms
    a.release(4);
    CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040)),
                                       buffer_out(4, ms(1060))});
    CHECK(a.stats("sink_0").counters == Counters{.packets = 4, .reordered = 1});
  }
}

TEST_CASE("three missing across the sequence number wrap: three events, evenly spread", "[align][loss]") {
  Align a;
  REQUIRE(a.push(nth(65533, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(1, 4), ms(1080)) == GST_FLOW_OK);
  a.release(2);
  CHECK(a.data() == std::vector<Out>{buffer_out(65533, ms(1000), true), lost_out(65534, ms(1020), ms(20)),
                                     lost_out(65535, ms(1040), ms(20)), lost_out(0, ms(1060), ms(20)),
                                     buffer_out(1, ms(1080))});
  CHECK(a.stats("sink_0").counters == Counters{.packets = 2, .lost = 3});
}

TEST_CASE("a packet sent before the first to arrive still leaves first, with the DISCONT", "[align][loss]") {
  Align a;
  REQUIRE(a.push(nth(5, 1), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(4, 0), ms(1010)) == GST_FLOW_OK);  // 30 ms slower than 5
  CHECK(a.next_wake() == ms(1480));
  a.release(2);
  CHECK(a.data() == std::vector<Out>{buffer_out(4, ms(980), true), buffer_out(5, ms(1000))});
  CHECK(a.stats("sink_0").counters == Counters{.packets = 2, .reordered = 1});
}

TEST_CASE("a duplicate never leaves, queued or already gone", "[align][loss]") {
  Align a;
  REQUIRE(a.push(nth(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1020)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1021)) == GST_FLOW_OK);  // still queued
  a.release(2);
  REQUIRE(a.push(nth(1, 0), ms(1600)) == GST_FLOW_OK);  // left at 1500 ms
  REQUIRE(a.push(nth(3, 2), ms(1601)) == GST_FLOW_OK);  // late: leaves at once
  REQUIRE(a.wait_for_buffers(0, 3));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040))});
  CHECK(a.stats("sink_0").counters == Counters{.packets = 5, .late = 1, .duplicates = 2});
}

TEST_CASE("a packet older than one already gone is dropped, counted late and dropped", "[align][loss]") {
  Align a;
  REQUIRE(a.push(nth(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(3, 2), ms(1040)) == GST_FLOW_OK);
  a.release(2);  // 3 left at 1540 ms, after the loss of 2 was reported
  REQUIRE(a.push(nth(2, 1), ms(1545)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(4, 3), ms(1550)) == GST_FLOW_OK);  // due at 1560 ms
  CHECK(a.next_wake() == ms(1560));
  a.release(3);
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), lost_out(2, ms(1020), ms(20)),
                                     buffer_out(3, ms(1040)), buffer_out(4, ms(1060))});
  CHECK(a.stats("sink_0").counters == Counters{.packets = 4, .lost = 1, .late = 1, .dropped = 1});
}

TEST_CASE("a new SSRC takes two consecutive packets; then DISCONT, a new timeline, restarts 1", "[align][restart]") {
  Align a;
  REQUIRE(a.push(nth(10, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(11, 1), ms(1020)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(12, 2), ms(1040)) == GST_FLOW_OK);

  SECTION("after the old stream has left") {
    a.release(3);
    // The sender restarts: new SSRC, sequence numbers and RTP times.
    REQUIRE(a.push(packet(500, 777000, kOtherSsrc), ms(2000)) == GST_FLOW_OK);
    // Held aside until the next packet confirms it: nothing to wait for.
    CHECK_FALSE(a.next_wake(1, 300));
    CHECK(a.buffer_count() == 3);
    REQUIRE(a.push(packet(501, 777000 + kOpusTicks, kOtherSsrc), ms(2020)) == GST_FLOW_OK);
    CHECK(a.next_wake() == ms(2500));
    a.release(5);
    // No loss reported across the restart, for all the sequence jump.
    CHECK(a.data() == std::vector<Out>{buffer_out(10, ms(1000), true), buffer_out(11, ms(1020)),
                                       buffer_out(12, ms(1040)), buffer_out(500, ms(2000), true),
                                       buffer_out(501, ms(2020))});
  }

  SECTION("with the old stream still queued: the old one leaves first") {
    REQUIRE(a.push(packet(500, 777000, kOtherSsrc), ms(1060)) == GST_FLOW_OK);
    REQUIRE(a.push(packet(501, 777000 + kOpusTicks, kOtherSsrc), ms(1080)) == GST_FLOW_OK);
    a.release(5);
    CHECK(a.data() == std::vector<Out>{buffer_out(10, ms(1000), true), buffer_out(11, ms(1020)),
                                       buffer_out(12, ms(1040)), buffer_out(500, ms(1060), true),
                                       buffer_out(501, ms(1080))});
  }

  CHECK(a.stats("sink_0").counters == Counters{.packets = 5, .restarts = 1});
}

TEST_CASE("a lone packet of another SSRC never leaves and starts nothing", "[align][restart]") {
  Align a;
  REQUIRE(a.push(nth(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1020)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(9000, 4242, kOtherSsrc), ms(1030)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(3, 2), ms(1040)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(4, 3), ms(1060)) == GST_FLOW_OK);
  a.release(4);
  REQUIRE(a.push_event(gst_event_new_eos()));
  REQUIRE(a.wait_for_event(0, GST_EVENT_EOS));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040)),
                                     buffer_out(4, ms(1060)), event_out("eos")});
  // Given up at EOS.
  CHECK(a.stats("sink_0").counters == Counters{.packets = 5, .rejected = 1});
}

TEST_CASE("stats: every field of a stream, exact over a scripted one", "[align][stats]") {
  Align a;
  CHECK(a.stats_latency() == ms(500));
  const StreamStats before = a.stats("sink_0");
  CHECK(before.media == "audio");
  CHECK_FALSE(before.master);  // not until its first packet
  CHECK(before.clock_rate == kOpusRate);
  CHECK(before.counters == Counters{});

  REQUIRE(a.push(nth(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1020)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(2, 1), ms(1021)) == GST_FLOW_OK);  // duplicate
  REQUIRE(a.push(nth(4, 3), ms(1060)) == GST_FLOW_OK);
  REQUIRE(a.push(nth(3, 2), ms(1061)) == GST_FLOW_OK);          // reordered, 21 ms late
  REQUIRE(a.push(nth(6, 5), ms(1100)) == GST_FLOW_OK);          // 5 lost
  REQUIRE(a.push(Bytes{0x80, 0x6f}, ms(1101)) == GST_FLOW_OK);  // malformed
  a.release(5);
  REQUIRE(a.push(nth(5, 4), ms(1700)) == GST_FLOW_OK);  // dropped: 6 has left
  REQUIRE(a.push(nth(7, 6), ms(1700)) == GST_FLOW_OK);  // late: due at 1620 ms, leaves at once
  REQUIRE(a.wait_for_buffers(0, 6));
  REQUIRE(a.push(nth(7, 6), ms(1701)) == GST_FLOW_OK);  // duplicate of one gone
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040)),
                                     buffer_out(4, ms(1060)), lost_out(5, ms(1080), ms(20)), buffer_out(6, ms(1100)),
                                     buffer_out(7, ms(1120))});

  const StreamStats s = a.stats("sink_0");
  CHECK(s.counters == Counters{.packets = 9,
                               .lost = 1,
                               .late = 2,
                               .dropped = 1,
                               .duplicates = 2,
                               .reordered = 1,
                               .rejected = 0,
                               .restarts = 0,
                               .malformed = 1});
  CHECK(s.media == "audio");
  CHECK(s.master);
  CHECK(s.clock_rate == kOpusRate);
  CHECK(s.latency == ms(500));
  CHECK(s.av_offset == 0);    // the master sits where its own arrivals put it
  CHECK(s.drift_ppm == 0.0);  // not measured before ten seconds

  // RFC 3550 §6.4.1 interarrival jitter, J += (|D| - J) / 16, in ns, over
  // the transits (arrival - RTP time) of the packets queued: 1, 2, 4, 3,
  // 6, 7 (duplicates and the dropped one never reach the queue).
  const std::int64_t transits_ms[] = {1000, 1000, 1000, 1021, 1000, 1580};
  std::int64_t jitter = 0, last = transits_ms[0];
  for (const std::int64_t t : transits_ms) {
    const std::int64_t d = (t - last) * 1'000'000;
    jitter += ((d < 0 ? -d : d) - jitter) / 16;
    last = t;
  }
  CHECK(s.jitter == static_cast<std::uint64_t>(jitter));
}

}  // namespace nagare::test::elements
