// nagareh264depay through GstHarness: loss. Sequence gaps and rtpjitterbuffer's
// GstRTPPacketLost notices drop the broken access unit, mark the next output
// DISCONT and send a rate-limited upstream force-key-unit (all headers).
#include "depay_harness.hpp"

namespace nagare::test::elements {
namespace {

// A P slice big enough to need three FU-A fragments of at most 70 bytes.
const Bytes kBigSlice = nal(1, 200, 0x21);

void expect_access_unit(Depay& d, const Bytes& bytes, GstClockTime pts, bool discont, bool delta) {
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == bytes);
  CHECK(GST_BUFFER_PTS(out.get()) == pts);
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT) == discont);
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT) == delta);
}

}  // namespace

TEST_CASE("sequence gap: the broken access unit is dropped, the next output is DISCONT", "[h264depay][loss]") {
  Depay d;
  const Bytes idr = nal(5, 30), p1 = nal(1, 20, 0x10), p3 = nal(1, 21, 0x30), p5 = nal(1, 22, 0x50);
  const auto frags = fu_a(kBigSlice, 70);
  REQUIRE(frags.size() == 3);

  REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(0), true, false);
  REQUIRE(d.push(packet(1, 3000, true, p1), ms(33)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({p1}), ms(33), false, true);

  // The middle fragment (sequence 3) never comes.
  REQUIRE(d.push(packet(2, 6000, false, frags[0]), ms(66)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(4, 6000, true, frags[2]), ms(66)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  CHECK(d.keyframe_requests() == 1);

  SECTION("wait-for-keyframe (default): nothing until the next IDR") {
    REQUIRE(d.push(packet(5, 9000, true, p3), ms(100)) == GST_FLOW_OK);
    CHECK(d.buffers_waiting() == 0);
    // Dropping it asks again, but within keyframe-request-interval.
    CHECK(d.keyframe_requests() == 0);

    REQUIRE(d.push(packet(6, 12000, true, idr), ms(133)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({idr}), ms(133), true, false);
    REQUIRE(d.push(packet(7, 15000, true, p5), ms(166)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({p5}), ms(166), false, true);
    CHECK(d.stats() == Stats{.packets = 7, .access_units = 4, .dropped = 2, .lost = 1, .keyframe_requests = 1});
  }

  SECTION("a gap before the head of an access unit: its FU-A start is lost") {
    // Sequence 6 would have been the start fragment of the next slice.
    REQUIRE(d.push(packet(5, 9000, true, idr), ms(100)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({idr}), ms(100), true, false);
    REQUIRE(d.push(packet(7, 12000, false, frags[1]), ms(133)) == GST_FLOW_OK);
    REQUIRE(d.push(packet(8, 12000, true, frags[2]), ms(133)) == GST_FLOW_OK);
    CHECK(d.buffers_waiting() == 0);
    REQUIRE(d.push(packet(9, 15000, true, idr), ms(166)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({idr}), ms(166), true, false);
    CHECK(d.stats().lost == 2);
    CHECK(d.stats().dropped == 2);
  }
}

TEST_CASE("wait-for-keyframe=false: the next whole access unit goes out, DISCONT", "[h264depay][loss]") {
  DepayConfig config;
  config.wait_for_keyframe = false;
  Depay d(config);
  const Bytes idr = nal(5, 30), p0 = nal(1, 20, 0x10), p3 = nal(1, 21, 0x30), p4 = nal(1, 22, 0x40);
  const auto frags = fu_a(kBigSlice, 70);

  // No IDR first: output at once, as the first buffer.
  REQUIRE(d.push(packet(0, 0, true, p0), ms(0)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({p0}), ms(0), true, true);
  REQUIRE(d.push(packet(1, 3000, false, frags[0]), ms(33)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(3, 3000, true, frags[2]), ms(33)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  REQUIRE(d.push(packet(4, 6000, true, p3), ms(66)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({p3}), ms(66), true, true);
  REQUIRE(d.push(packet(5, 9000, true, idr), ms(100)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(100), false, false);
  REQUIRE(d.push(packet(6, 12000, true, p4), ms(133)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({p4}), ms(133), false, true);
  CHECK(d.keyframe_requests() == 1);
  CHECK(d.stats() == Stats{.packets = 6, .access_units = 4, .dropped = 1, .lost = 1, .keyframe_requests = 1});
}

TEST_CASE("wait-for-keyframe=true at the start: P frames are dropped until the first IDR", "[h264depay][loss]") {
  Depay d;
  const Bytes idr = nal(5, 30), p = nal(1, 20);
  REQUIRE(d.push(packet(0, 0, true, p), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(1, 3000, true, p), ms(33)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  // The stream cannot be decoded yet: ask for a key frame, once.
  CHECK(d.keyframe_requests() == 1);
  REQUIRE(d.push(packet(2, 6000, true, idr), ms(66)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(66), true, false);
  REQUIRE(d.push(packet(3, 9000, true, p), ms(100)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({p}), ms(100), false, true);
  CHECK(d.stats() == Stats{.packets = 4, .access_units = 2, .dropped = 2, .keyframe_requests = 1});
}

TEST_CASE("GstRTPPacketLost: the access unit is dropped, the event consumed, one key frame requested",
          "[h264depay][loss][lost-event]") {
  Depay d;
  const Bytes idr = nal(5, 30);
  const auto frags = fu_a(kBigSlice, 70);

  REQUIRE(d.push(packet(10, 0, true, idr), ms(0)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(0), true, false);
  d.take_trace();

  // rtpjitterbuffer gave up on sequence 12, the middle fragment.
  REQUIRE(d.push(packet(11, 3000, false, frags[0]), ms(33)) == GST_FLOW_OK);
  CHECK(d.lose(12, ms(33)));
  REQUIRE(d.push(packet(13, 3000, true, frags[2]), ms(33)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);

  // Consumed, not forwarded: nothing at all went downstream.
  CHECK(d.take_trace().empty());
  CHECK(d.custom_downstream_events().empty());
  // One force-key-unit although both the loss and the drop asked for one.
  CHECK(d.keyframe_requests() == 1);

  REQUIRE(d.push(packet(14, 6000, true, idr), ms(66)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(66), true, false);
  // The event accounted for sequence 12: sequence 13 is neither a gap nor late.
  CHECK(d.stats() == Stats{.packets = 4, .access_units = 2, .dropped = 1, .lost = 1, .keyframe_requests = 1});
}

TEST_CASE("GstRTPPacketLost during an outage: requests repeat on the lost packets' times",
          "[h264depay][loss][lost-event]") {
  // Only lost notices arrive (the publisher's uplink is down): their
  // timestamps move the limiter's clock, so a lost PLI is asked for again.
  Depay d;
  const Bytes idr = nal(5, 30);
  REQUIRE(d.push(packet(10, 0, true, idr), ms(0)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(0), true, false);
  CHECK(d.keyframe_requests() == 0);

  for (guint seq = 11; seq < 11 + 30; ++seq) CHECK(d.lose(seq, ms(std::uint64_t{33} * (seq - 10))));
  // Lost at 33, 66 ... 990 ms: a request at 33 ms and one 500 ms later (533 ms).
  CHECK(d.keyframe_requests() == 2);
  CHECK(d.stats().lost == 30);

  // A notice without a timestamp leaves the clock where it was.
  CHECK(d.lose(41));
  CHECK(d.keyframe_requests() == 0);
}

TEST_CASE("GstRTPPacketLost between access units: the next P frame waits for an IDR", "[h264depay][loss][lost-event]") {
  Depay d;
  const Bytes idr = nal(5, 30), p = nal(1, 20);
  REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
  CHECK(d.pull());
  CHECK(d.lose(1, ms(33)));
  REQUIRE(d.push(packet(2, 6000, true, p), ms(66)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  REQUIRE(d.push(packet(3, 9000, true, idr), ms(100)) == GST_FLOW_OK);
  expect_access_unit(d, annexb({idr}), ms(100), true, false);
  CHECK(d.keyframe_requests() == 1);
  CHECK(d.stats() == Stats{.packets = 3, .access_units = 2, .dropped = 1, .lost = 1, .keyframe_requests = 1});
}

TEST_CASE("GstRTPPacketLost for a packet already seen, or before any packet", "[h264depay][loss][lost-event]") {
  Depay d;
  SECTION("before any packet: counted, one request") {
    CHECK(d.lose(500));
    CHECK(d.keyframe_requests() == 1);
    CHECK(d.stats() == Stats{.lost = 1, .keyframe_requests = 1});
  }
  SECTION("a sequence number already handled changes nothing") {
    REQUIRE(d.push(packet(7, 0, true, nal(5, 30)), ms(0)) == GST_FLOW_OK);
    CHECK(d.pull());
    CHECK(d.lose(7));
    CHECK(d.lose(6));
    CHECK(d.keyframe_requests() == 0);
    REQUIRE(d.push(packet(8, 3000, true, nal(1, 20)), ms(33)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({nal(1, 20)}), ms(33), false, true);
    CHECK(d.stats() == Stats{.packets = 2, .access_units = 2});
  }
}

TEST_CASE("keyframe-request-interval: one request per interval of input running time", "[h264depay][loss][limit]") {
  const Bytes idr = nal(5, 30), p = nal(1, 20);

  SECTION("default 500 ms, measured on PTS in a plain segment") {
    Depay d;
    REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
    CHECK(d.lose(1));
    CHECK(d.keyframe_requests() == 1);  // at running time 0
    REQUIRE(d.push(packet(2, 18000, true, p), ms(200)) == GST_FLOW_OK);
    CHECK(d.lose(3));
    REQUIRE(d.push(packet(4, 44910, true, p), ms(499)) == GST_FLOW_OK);
    CHECK(d.keyframe_requests() == 0);
    REQUIRE(d.push(packet(5, 45000, true, p), ms(500)) == GST_FLOW_OK);
    CHECK(d.keyframe_requests() == 1);  // 500 ms after the first: allowed
    CHECK(d.lose(6));
    CHECK(d.keyframe_requests() == 0);
    REQUIRE(d.push(packet(7, 54000, true, idr), ms(600)) == GST_FLOW_OK);
    expect_access_unit(d, annexb({idr}), ms(0), true, false);
    expect_access_unit(d, annexb({idr}), ms(600), true, false);
    CHECK(d.stats() == Stats{.packets = 5, .access_units = 2, .dropped = 3, .lost = 3, .keyframe_requests = 2});
  }

  SECTION("running time, not PTS: a segment at rate 2 halves the distance") {
    Depay d;
    GstSegment segment;
    gst_segment_init(&segment, GST_FORMAT_TIME);
    segment.rate = 2.0;
    REQUIRE(d.push_event(gst_event_new_segment(&segment)));
    REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
    CHECK(d.lose(1));
    CHECK(d.keyframe_requests() == 1);
    REQUIRE(d.push(packet(2, 72000, true, p), ms(800)) == GST_FLOW_OK);  // running time 400 ms
    CHECK(d.keyframe_requests() == 0);
    REQUIRE(d.push(packet(3, 90000, true, p), ms(1000)) == GST_FLOW_OK);  // running time 500 ms
    CHECK(d.keyframe_requests() == 1);
  }

  SECTION("0 means no limit") {
    DepayConfig config;
    config.keyframe_request_interval_ms = 0;
    Depay d(config);
    REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
    CHECK(d.lose(1));
    CHECK(d.lose(2));
    REQUIRE(d.push(packet(3, 0, true, p), ms(0)) == GST_FLOW_OK);
    CHECK(d.keyframe_requests() == 3);
    CHECK(d.stats().keyframe_requests == 3);
  }

  SECTION("buffers without PTS: the limit runs on the monotonic clock") {
    DepayConfig config;
    config.keyframe_request_interval_ms = 60000;  // far longer than this test runs
    Depay d(config);
    REQUIRE(d.push(packet(0, 0, true, idr)) == GST_FLOW_OK);
    CHECK(d.lose(1));
    CHECK(d.lose(2));
    REQUIRE(d.push(packet(3, 3000, true, p)) == GST_FLOW_OK);
    CHECK(d.keyframe_requests() == 1);
    auto out = d.pull();
    REQUIRE(out);
    CHECK(GST_BUFFER_PTS(out.get()) == GST_CLOCK_TIME_NONE);
  }

  SECTION("buffers without PTS: the monotonic clock moves on") {
    DepayConfig config;
    config.keyframe_request_interval_ms = 1;
    Depay d(config);
    REQUIRE(d.push(packet(0, 0, true, idr)) == GST_FLOW_OK);
    CHECK(d.lose(1));
    CHECK(d.keyframe_requests() == 1);
    g_usleep(5000);  // past the 1 ms interval, whatever the machine's load
    CHECK(d.lose(2));
    CHECK(d.keyframe_requests() == 1);
  }
}

TEST_CASE("request-keyframe=false: loss is handled the same, nothing goes upstream", "[h264depay][loss][limit]") {
  DepayConfig config;
  config.request_keyframe = false;
  Depay d(config);
  const Bytes idr = nal(5, 30);
  const auto frags = fu_a(kBigSlice, 70);
  REQUIRE(d.push(packet(0, 0, true, idr), ms(0)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(1, 3000, false, frags[0]), ms(33)) == GST_FLOW_OK);
  CHECK(d.lose(2));
  REQUIRE(d.push(packet(3, 3000, true, frags[2]), ms(33)) == GST_FLOW_OK);
  REQUIRE(d.push(packet(5, 6000, true, idr), ms(66)) == GST_FLOW_OK);  // and a gap
  expect_access_unit(d, annexb({idr}), ms(0), true, false);
  expect_access_unit(d, annexb({idr}), ms(66), true, false);
  CHECK(d.keyframe_requests() == 0);
  CHECK(d.stats() == Stats{.packets = 4, .access_units = 2, .dropped = 1, .lost = 2});
}

}  // namespace nagare::test::elements
