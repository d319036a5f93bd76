// nagareh264depay through GstHarness: the stats property over a scripted
// stream, EOS, FLUSH, and that no reference to an input buffer outlives the
// element.
#include "depay_harness.hpp"

namespace nagare::test::elements {
namespace {

Bytes packet_from(std::uint32_t ssrc, std::uint16_t sequence, std::uint32_t timestamp, bool marker,
                  const Bytes& payload) {
  RtpHeader h;
  h.ssrc = ssrc;
  h.sequence = sequence;
  h.timestamp = timestamp;
  h.marker = marker;
  return rtp(h, payload);
}

int refcount(GstBuffer* buffer) { return GST_MINI_OBJECT_REFCOUNT_VALUE(buffer); }
int memory_refcount(GstBuffer* buffer) { return GST_MINI_OBJECT_REFCOUNT_VALUE(gst_buffer_peek_memory(buffer, 0)); }

GstPtr<GstBuffer> wrap(const Bytes& b, GstClockTime pts) {
  auto buffer = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(b.data(), b.size()));
  GST_BUFFER_PTS(buffer.get()) = pts;
  return buffer;
}

void push_flush(Depay& d) {
  REQUIRE(d.push_event(gst_event_new_flush_start()));
  REQUIRE(d.push_event(gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  REQUIRE(d.push_event(gst_event_new_segment(&segment)));
}

}  // namespace

TEST_CASE("stats: every counter exact over a scripted stream", "[h264depay][stats]") {
  DepayConfig config;
  config.keyframe_request_interval_ms = 0;  // every request goes out, so each is counted
  Depay d(config);
  const Bytes idr = nal(5, 30), p = nal(1, 20);
  Bytes bad_version = packet(12, 0, true, idr);
  bad_version[0] = 0x00;
  RtpHeader probe;
  probe.sequence = 3;
  probe.padding = 4;

  const auto push = [&d](const Bytes& bytes, GstClockTime pts) { REQUIRE(d.push(bytes, pts) == GST_FLOW_OK); };
  const std::uint32_t other_ssrc = 0x55667788;
  push(packet(1, 0, true, stap_a({example_sps(), example_pps(), idr})), ms(0));  // AU 1
  push(packet(2, 3000, true, p), ms(33));                                        // AU 2
  push(packet(2, 3000, true, p), ms(33));                                        // duplicate: late
  push(rtp(probe, Bytes{}), ms(33));                                             // padding only
  push(packet(4, 6000, false, {0x7e, 0x00}), ms(66));                            // type 30: malformed
  push(packet(5, 6000, true, p), ms(66));                                        // AU 3
  // STAP-B: unsupported; its unit dropped, request 1.
  push(packet(6, 9000, true, {0x79, 0x00, 0x01, 0x00, 0x02, 0x41, 0x88}), ms(100));
  push(packet(8, 12000, true, idr), ms(133));                      // 7 lost: request 2; AU 4
  push(bad_version, ms(150));                                      // header refused: malformed
  push(packet_from(other_ssrc, 9, 15000, true, idr), ms(166));     // new SSRC: restart, request 3; AU 5
  REQUIRE(d.lose(10, ms(180)));                                    // lost: request 4
  push(packet_from(other_ssrc, 11, 18000, true, p), ms(200));      // waits for an IDR: dropped, request 5
  push(packet_from(other_ssrc, 9000, 21000, true, idr), ms(233));  // jump: restart, request 6; AU 6

  const Stats want{.packets = 11,
                   .access_units = 6,
                   .dropped = 2,
                   .lost = 2,
                   .late = 1,
                   .malformed = 2,
                   .unsupported = 1,
                   .padding = 1,
                   .restarts = 2,
                   .keyframe_requests = 6};
  CHECK(d.stats() == want);
  CHECK(d.keyframe_requests() == 6);

  // DISCONT exactly on the first output and on those after a break.
  std::vector<bool> discont;
  while (auto out = d.pull()) discont.push_back(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(discont == std::vector<bool>{true, false, false, true, true, true});

  SECTION("a new start (READY -> PLAYING) begins from zero") {
    REQUIRE(gst_element_set_state(d.element(), GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
    CHECK(d.stats() == want);  // still readable while stopped
    REQUIRE(gst_element_set_state(d.element(), GST_STATE_PLAYING) == GST_STATE_CHANGE_SUCCESS);
    CHECK(d.stats() == Stats{});
    d.take_trace();
    push(packet(1, 0, true, idr), ms(0));  // sequence 1 again: a new stream, not late
    CHECK(d.take_trace() == std::vector<std::string>{"stream-start", "caps", "segment", "buffer"});
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr}));
    CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
    CHECK(d.stats() == Stats{.packets = 1, .access_units = 1});
  }
}

TEST_CASE("EOS drains a final access unit that never got its marker", "[h264depay][eos]") {
  Depay d;
  const Bytes idr = nal(5, 30);
  Bytes tail = nal(5, 12, 0x40);
  tail[1] &= 0x7f;
  d.take_trace();

  SECTION("whole: output before the EOS") {
    REQUIRE(d.push(packet(1, 0, false, idr), ms(40)) == GST_FLOW_OK);
    REQUIRE(d.push(packet(2, 0, false, tail), ms(40)) == GST_FLOW_OK);
    CHECK(d.buffers_waiting() == 0);
    REQUIRE(d.push_event(gst_event_new_eos()));
    CHECK(d.take_trace() == std::vector<std::string>{"buffer", "eos"});
    auto out = d.pull();
    REQUIRE(out);
    CHECK(bytes_of(out.get()) == annexb({idr, tail}));
    CHECK(GST_BUFFER_PTS(out.get()) == ms(40));
    CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
    CHECK_FALSE(has_flag(out.get(), GST_BUFFER_FLAG_DELTA_UNIT));
    CHECK(d.stats() == Stats{.packets = 2, .access_units = 1});
  }

  SECTION("an FU-A that never ended is dropped, not output") {
    const auto frags = fu_a(nal(5, 200), 70);
    REQUIRE(d.push(packet(1, 0, false, frags[0]), ms(40)) == GST_FLOW_OK);
    REQUIRE(d.push(packet(2, 0, false, frags[1]), ms(40)) == GST_FLOW_OK);
    REQUIRE(d.push_event(gst_event_new_eos()));
    CHECK(d.take_trace() == std::vector<std::string>{"eos"});
    CHECK(d.buffers_waiting() == 0);
    CHECK(d.keyframe_requests() == 0);  // nothing more will come to ask about
    CHECK(d.stats() == Stats{.packets = 2, .dropped = 1});
  }
}

TEST_CASE("FLUSH forgets the stream: partial unit, sequence, key-frame state, request limit", "[h264depay][flush]") {
  Depay d;
  const Bytes idr = nal(5, 30), p = nal(1, 20);
  const auto frags = fu_a(nal(1, 200), 70);

  REQUIRE(d.push(packet(100, 0, true, idr), ms(0)) == GST_FLOW_OK);
  CHECK(d.pull());
  CHECK(d.lose(101, ms(0)));
  CHECK(d.keyframe_requests() == 1);
  // A partial access unit that holds its packet, then the flush.
  const auto partial = wrap(packet(102, 6000, false, stap_a({nal(1, 10), nal(1, 12, 0x30)})), ms(66));
  REQUIRE(d.push(partial) == GST_FLOW_OK);
  CHECK(refcount(partial.get()) == 2);  // ours and the element's
  d.take_trace();
  push_flush(d);
  CHECK(d.take_trace() == std::vector<std::string>{"flush-start", "flush-stop", "segment"});
  CHECK(refcount(partial.get()) == 1);

  // A far sequence number is a new stream, not a restart or a loss; a P
  // frame waits for an IDR again, and its request is not held back by the
  // one before the flush (same running time 0).
  REQUIRE(d.push(packet(5000, 90000, true, p), ms(0)) == GST_FLOW_OK);
  CHECK(d.buffers_waiting() == 0);
  CHECK(d.keyframe_requests() == 1);
  REQUIRE(d.push(packet(5001, 93000, true, idr), ms(33)) == GST_FLOW_OK);
  auto out = d.pull();
  REQUIRE(out);
  CHECK(bytes_of(out.get()) == annexb({idr}));
  CHECK(has_flag(out.get(), GST_BUFFER_FLAG_DISCONT));
  CHECK(GST_BUFFER_PTS(out.get()) == ms(33));
  CHECK(d.stats() == Stats{.packets = 4, .access_units = 2, .dropped = 1, .lost = 1, .keyframe_requests = 2});
}

TEST_CASE("refcounts: the element keeps no input buffer or memory beyond its use", "[h264depay][refcount]") {
  auto d = std::make_unique<Depay>();
  GWeakRef element;
  g_weak_ref_init(&element, d->element());

  const Bytes idr = nal(5, 30);
  const auto single = wrap(packet(1, 0, true, idr), ms(0));
  const auto stap = wrap(packet(2, 3000, true, stap_a({nal(1, 10), nal(1, 12, 0x30)})), ms(33));
  const auto broken = wrap(packet(3, 6000, false, stap_a({nal(1, 10), nal(1, 12, 0x30)})), ms(66));
  const auto after_gap = wrap(packet(5, 6000, true, nal(1, 14)), ms(66));
  const auto idr_fragments = fu_a(nal(5, 100), 60);
  const auto fu_start = wrap(packet(6, 9000, false, idr_fragments[0]), ms(100));
  const auto fu_end = wrap(packet(7, 9000, true, idr_fragments[1]), ms(100));
  const auto pending = wrap(packet(8, 12000, false, stap_a({nal(6, 8), nal(6, 9)})), ms(133));
  const std::vector<const GstPtr<GstBuffer>*> inputs = {&single,   &stap,   &broken, &after_gap,
                                                        &fu_start, &fu_end, &pending};

  for (const auto* b : inputs) REQUIRE(d->push(*b) == GST_FLOW_OK);
  auto out1 = d->pull();
  auto out2 = d->pull();
  auto out3 = d->pull();
  REQUIRE(out1);
  REQUIRE(out2);
  REQUIRE(out3);
  CHECK(!d->pull());

  // Output shares the input's memory, not the buffer: the buffers are free
  // as soon as their access unit is out or dropped.
  CHECK(refcount(single.get()) == 1);
  CHECK(refcount(stap.get()) == 1);
  CHECK(refcount(broken.get()) == 1);
  CHECK(refcount(after_gap.get()) == 1);
  CHECK(refcount(fu_start.get()) == 1);  // FU-A bytes are copied
  CHECK(refcount(fu_end.get()) == 1);
  CHECK(memory_refcount(fu_start.get()) == 1);
  CHECK(refcount(pending.get()) == 2);  // its access unit is still open
  CHECK(memory_refcount(single.get()) == 2);
  CHECK(memory_refcount(stap.get()) == 3);  // two units shared

  d->teardown();
  CHECK(refcount(pending.get()) == 1);
  auto* still_there = static_cast<GObject*>(g_weak_ref_get(&element));
  CHECK(still_there == nullptr);
  if (still_there) g_object_unref(still_there);
  g_weak_ref_clear(&element);

  // Output outlives the element and stays readable.
  CHECK(bytes_of(out1.get()) == annexb({idr}));
  out1.reset();
  out2.reset();
  out3.reset();
  CHECK(memory_refcount(single.get()) == 1);
  CHECK(memory_refcount(stap.get()) == 1);
  for (const auto* b : inputs) {
    CHECK(refcount(b->get()) == 1);
    CHECK(memory_refcount(b->get()) == 1);
  }
}

}  // namespace nagare::test::elements
