// nagarealign through GstHarness: when packets leave and with which PTS.
// Release is driven by the harness's GstTestClock; the timeline position
// (the PTS) comes from arrival and RTP time alone, never from the release.
#include "align_harness.hpp"

namespace nagare::test::elements {
namespace {

// Opus at 48 kHz, 20 ms a packet (rtpopuspay's default), starting at a
// random-looking RTP time as a sender does (RFC 3550 §5.1).
constexpr std::uint32_t kTs0 = 0x5a3c1e00;

}  // namespace

TEST_CASE("a packet leaves when the clock reaches arrival + latency; its PTS is its arrival", "[align][timing]") {
  const auto [latency, label] = GENERATE(table<guint, const char*>({{500, "default"}, {200, "latency=200"}}));
  INFO(label);
  Align a({.latency_ms = latency});
  const GstClockTime hold = ms(latency);

  // The second has a DTS and a DISCONT of its own: neither goes on.
  REQUIRE(a.push(packet(100, kTs0), ms(1000)) == GST_FLOW_OK);
  const Bytes second = packet(101, kTs0 + kOpusTicks);
  GstBuffer* buffer = gst_buffer_new_memdup(second.data(), second.size());
  GST_BUFFER_PTS(buffer) = GST_BUFFER_DTS(buffer) = ms(1020);
  GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  a.set_time(ms(1020));
  REQUIRE(gst_harness_push(a.harness(), buffer) == GST_FLOW_OK);

  CHECK(a.next_wake() == ms(1000) + hold);
  CHECK(a.buffer_count() == 0);
  CHECK(a.crank() == ms(1000) + hold);
  REQUIRE(a.wait_for_buffers(0, 1));
  CHECK(a.next_wake() == ms(1020) + hold);
  CHECK(a.data() == std::vector<Out>{buffer_out(100, ms(1000), true)});
  CHECK(a.crank() == ms(1020) + hold);
  REQUIRE(a.wait_for_buffers(0, 2));
  CHECK(a.data() == std::vector<Out>{buffer_out(100, ms(1000), true), buffer_out(101, ms(1020))});
  // The packets themselves, untouched.
  CHECK(a.pull_bytes() == packet(100, kTs0));
  CHECK(a.pull_bytes() == second);
}

TEST_CASE("latency=0: a packet leaves as it arrives", "[align][timing]") {
  Align a({.latency_ms = 0});
  for (std::uint16_t i = 0; i < 3; ++i) {
    REQUIRE(a.push(packet(i, kTs0 + i * kOpusTicks), ms(1000 + 20 * i)) == GST_FLOW_OK);
    REQUIRE(a.wait_for_buffers(0, i + 1u));
  }
  CHECK(a.data() == std::vector<Out>{buffer_out(0, ms(1000), true), buffer_out(1, ms(1020)), buffer_out(2, ms(1040))});
  CHECK(a.pending_waits() == 0);
}

TEST_CASE("woken before its due time, a packet stays and the wait starts again", "[align][timing]") {
  Align a;
  REQUIRE(a.push(packet(1, kTs0), ms(1000)) == GST_FLOW_OK);
  a.wake_early();  // the clock still says 1000 ms
  CHECK(a.next_wake() == ms(1500));
  CHECK(a.buffer_count() == 0);
  CHECK(a.crank() == ms(1500));
  REQUIRE(a.wait_for_buffers(0, 1));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true)});
}

TEST_CASE("audio PTS step exactly by RTP time, whatever the arrival jitter", "[align][timing]") {
  Align a;
  // Arrival minus the nominal 20 ms grid: early (a new lowest transit),
  // late, very late (still within the latency). Sequence numbers and RTP
  // times wrap on the way.
  const int jitter_ms[] = {0, 7, 3, -2, 15, 1, 30, 0, 4, -1, 120, 2};
  const std::uint32_t ts0 = 0xffffffffu - 2 * kOpusTicks;
  const std::uint16_t seq0 = 65533;
  std::vector<Out> want;
  for (std::size_t k = 0; k < std::size(jitter_ms); ++k) {
    const auto seq = static_cast<std::uint16_t>(seq0 + k);
    const std::uint32_t ts = ts0 + static_cast<std::uint32_t>(k) * kOpusTicks;
    const GstClockTime arrival = ms(1000 + 20 * k) + jitter_ms[k] * static_cast<GstClockTimeDiff>(GST_MSECOND);
    REQUIRE(a.push(packet(seq, ts), arrival) == GST_FLOW_OK);
    want.push_back(buffer_out(seq, ms(1000 + 20 * k), k == 0));
  }
  a.release(want.size());
  CHECK(a.data() == want);
  const StreamStats s = a.stats("sink_0");
  CHECK(s.counters == Counters{.packets = want.size()});
  CHECK(s.jitter > 0);
}

TEST_CASE("a packet by a faster path moves every queued packet's release earlier, not its PTS", "[align][timing]") {
  Align a;
  REQUIRE(a.push(packet(1, kTs0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(2, kTs0 + kOpusTicks), ms(1020)) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1500));
  // 5 ms faster than the first: the lowest transit falls, and the wait in
  // progress is cut short for the new, earlier due time.
  REQUIRE(a.push(packet(3, kTs0 + 2 * kOpusTicks), ms(1035)) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1495));
  CHECK(a.crank() == ms(1495));
  REQUIRE(a.wait_for_buffers(0, 1));
  CHECK(a.crank() == ms(1515));
  REQUIRE(a.wait_for_buffers(0, 2));
  CHECK(a.crank() == ms(1535));
  REQUIRE(a.wait_for_buffers(0, 3));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040))});
}

TEST_CASE("a packet that arrives after its due time leaves at once, its PTS from its RTP time", "[align][timing]") {
  Align a;
  REQUIRE(a.push(packet(1, kTs0), ms(1000)) == GST_FLOW_OK);
  a.release(1);
  // Due at 1000 + 20 + 500 ms; it arrives at 2000 ms.
  REQUIRE(a.push(packet(2, kTs0 + kOpusTicks), ms(2000)) == GST_FLOW_OK);
  REQUIRE(a.wait_for_buffers(0, 2));
  CHECK(a.now() == ms(2000));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020))});
  // One that comes on time again (1.2 s of media later, by its fastest
  // path) waits for its own due time.
  REQUIRE(a.push(packet(3, kTs0 + 60 * kOpusTicks), ms(2200)) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(2700));
  a.release(3);
  CHECK(a.data().back() == buffer_out(3, ms(2200)));
  CHECK(a.stats("sink_0").counters == Counters{.packets = 3, .late = 1});
}

TEST_CASE("a buffer without a PTS arrived when the element got it", "[align][timing]") {
  Align a;
  a.set_time(ms(1000));
  const Bytes p = packet(1, kTs0);
  REQUIRE(gst_harness_push(a.harness(), gst_buffer_new_memdup(p.data(), p.size())) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1500));
  a.release(1);
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true)});
}

TEST_CASE("a new latency applies to the packets that arrive after it is set", "[align][timing]") {
  Align a;
  REQUIRE(a.push(packet(1, kTs0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(2, kTs0 + kOpusTicks), ms(1020)) == GST_FLOW_OK);
  g_object_set(a.element(), "latency", 200u, nullptr);
  // Queued before: still 500 ms.
  CHECK(a.crank() == ms(1500));
  CHECK(a.crank() == ms(1520));
  // 30 packets (600 ms of RTP time) later, by the fastest path.
  REQUIRE(a.push(packet(3, kTs0 + 30 * kOpusTicks), ms(1600)) == GST_FLOW_OK);
  CHECK(a.crank() == ms(1800));
  g_object_set(a.element(), "latency", 800u, nullptr);
  REQUIRE(a.push(packet(4, kTs0 + 60 * kOpusTicks), ms(2200)) == GST_FLOW_OK);
  CHECK(a.crank() == ms(3000));
  REQUIRE(a.wait_for_buffers(0, 4));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1600)),
                                     buffer_out(4, ms(2200))});
  CHECK(a.stats_latency() == ms(800));
}

TEST_CASE("adaptive latency falls from `latency` by 20 ms a second over a steady stream", "[align][timing]") {
  Align a({.latency_mode = "adaptive"});
  // 2 s of packets without jitter: the latency falls 0.4 ms a packet after
  // the first, toward min-latency (50 ms).
  // They reach the element faster than the clock runs (a burst, as after a
  // stall upstream), so that none is due before the test cranks it.
  constexpr std::uint32_t kPackets = 101;
  for (std::uint32_t k = 0; k < kPackets; ++k) {
    const Bytes p = packet(static_cast<std::uint16_t>(k), kTs0 + k * kOpusTicks);
    GstBuffer* buffer = gst_buffer_new_memdup(p.data(), p.size());
    GST_BUFFER_PTS(buffer) = ms(1000 + 20 * k);
    REQUIRE(gst_harness_push(a.harness(), buffer) == GST_FLOW_OK);
  }
  CHECK(a.stats_latency() == ms(460));
  CHECK(a.stats("sink_0").latency == ms(460));
  // Each packet keeps the latency it came in with.
  CHECK(a.next_wake() == ms(1500));
  a.release(kPackets);
  REQUIRE(a.push(packet(kPackets, kTs0 + kPackets * kOpusTicks), ms(1000 + 20 * kPackets)) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1000 + 20 * kPackets + 460));
}

TEST_CASE("EOS: everything queued leaves at once, in order, then EOS", "[align][eos]") {
  Align a;
  REQUIRE(a.push(packet(1, kTs0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(3, kTs0 + 2 * kOpusTicks), ms(1040)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(2, kTs0 + kOpusTicks), ms(1041)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(5, kTs0 + 4 * kOpusTicks), ms(1080)) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1500));
  REQUIRE(a.push_event(gst_event_new_eos()));
  REQUIRE(a.wait_for_event(0, GST_EVENT_EOS));
  CHECK(a.now() == ms(1080));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true), buffer_out(2, ms(1020)), buffer_out(3, ms(1040)),
                                     lost_out(4, ms(1060), ms(20)), buffer_out(5, ms(1080)), event_out("eos")});
  CHECK(a.pending_waits() == 0);
  CHECK(a.push(packet(6, kTs0 + 5 * kOpusTicks), ms(1100)) == GST_FLOW_EOS);

  SECTION("a flush starts the stream over") {
    REQUIRE(a.push_event(gst_event_new_flush_start()));
    REQUIRE(a.push_event(gst_event_new_flush_stop(TRUE)));
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    REQUIRE(a.push_event(gst_event_new_segment(&segment)));
    // Sequence number 1 again is a new stream, not a duplicate.
    REQUIRE(a.push(packet(1, kTs0), ms(3000)) == GST_FLOW_OK);
    a.release(5);
    CHECK(a.data().back() == buffer_out(1, ms(3000), true));
  }
}

TEST_CASE("EOS with nothing queued goes on at once", "[align][eos]") {
  Align a;
  REQUIRE(a.push_event(gst_event_new_eos()));
  REQUIRE(a.wait_for_event(0, GST_EVENT_EOS));
  CHECK(a.data() == std::vector<Out>{event_out("eos")});
}

TEST_CASE("PTS follow the segment: running time in, stream time of the segment out", "[align][timing]") {
  Align a;
  // A segment starting at 10 s (base 0): a PTS of 11 s is running time 1 s.
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = segment.position = GST_SECOND * 10;
  REQUIRE(a.push_event(gst_event_new_segment(&segment)));
  a.set_time(ms(1000));
  const Bytes p = packet(1, kTs0);
  GstBuffer* buffer = gst_buffer_new_memdup(p.data(), p.size());
  GST_BUFFER_PTS(buffer) = ms(11000);
  REQUIRE(gst_harness_push(a.harness(), buffer) == GST_FLOW_OK);
  CHECK(a.next_wake() == ms(1500));  // running time 1 s + latency
  a.release(1);
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(11000), true)});
}

}  // namespace nagare::test::elements
