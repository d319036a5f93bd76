// nagarealign through GstHarness: its pads, what it does with caps and
// other events, the latency query, properties, bytes that are not RTP, and
// that no packet outlives the pad it came in on.
#include <algorithm>

#include "align_harness.hpp"

namespace nagare::test::elements {
namespace {

GstPtr<GstElement> make_align() {
  init_gstreamer();
  GstElement* made = gst_element_factory_make("nagarealign", nullptr);
  REQUIRE(made);
  return GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
}

void record_name(GstElement*, GstPad* pad, gpointer names) {
  static_cast<std::vector<std::string>*>(names)->emplace_back(GST_PAD_NAME(pad));
}

bool has_pad(GstElement* element, const char* name) {
  auto pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(element, name));
  return static_cast<bool>(pad);
}

struct Latency {
  bool live = false;
  GstClockTime min = 0, max = 0;
  bool operator==(const Latency&) const = default;
};

// A latency query on src_N, as a sink downstream of it sends one.
Latency query_latency(GstHarness* h) {
  auto query = GstPtr<GstQuery>::adopt(gst_query_new_latency());
  REQUIRE(gst_pad_peer_query(h->sinkpad, query.get()));
  gboolean live = FALSE;
  Latency l;
  gst_query_parse_latency(query.get(), &live, &l.min, &l.max);
  l.live = live;
  return l;
}

GstPtr<GstCaps> caps(const char* text) { return GstPtr<GstCaps>::adopt(gst_caps_from_string(text)); }

}  // namespace

}  // namespace nagare::test::elements

template <>
struct Catch::StringMaker<nagare::test::elements::Latency> {
  static std::string convert(const nagare::test::elements::Latency& l) {
    using nagare::test::elements::time_string;
    return std::string("{live ") + (l.live ? "yes" : "no") + ", min " + time_string(l.min) + ", max " +
           time_string(l.max) + "}";
  }
};

namespace nagare::test::elements {

TEST_CASE("sink_N comes with src_N, added first; a name in use is refused; release removes both", "[align][pads]") {
  const auto element = make_align();
  const std::size_t problems_at_start = LogProblems::get().count();
  std::size_t expected_problems = 0;
  std::vector<std::string> added, removed;
  g_signal_connect(element.get(), "pad-added", G_CALLBACK(record_name), &added);
  g_signal_connect(element.get(), "pad-removed", G_CALLBACK(record_name), &removed);

  GstPad* sink0 = gst_element_request_pad_simple(element.get(), "sink_0");
  REQUIRE(sink0);
  CHECK(std::string(GST_PAD_NAME(sink0)) == "sink_0");
  // src_N first, so that a pad-added handler can link it before data flows.
  CHECK(added == std::vector<std::string>{"src_0", "sink_0"});
  {
    auto src0 = GstPtr<GstPad>::adopt(gst_element_get_static_pad(element.get(), "src_0"));
    REQUIRE(src0);
    CHECK(GST_PAD_DIRECTION(src0.get()) == GST_PAD_SRC);
    auto templ = GstPtr<GstPadTemplate>::adopt(gst_pad_get_pad_template(src0.get()));
    REQUIRE(templ);
    CHECK(GST_PAD_TEMPLATE_PRESENCE(templ.get()) == GST_PAD_SOMETIMES);
  }

  SECTION("a name in use: NULL, and no pad added") {
    // GStreamer itself calls this undefined, with a critical, then asks the
    // element anyway.
    const std::size_t before = LogProblems::get().count();
    CHECK(gst_element_request_pad_simple(element.get(), "sink_0") == nullptr);
    const auto logged = LogProblems::get().since(before);
    REQUIRE(logged.size() == 1);
    CHECK(logged[0].find("already has a pad named sink_0") != std::string::npos);
    expected_problems = 1;
    CHECK(added.size() == 2);
    CHECK(element->numpads == 2);
  }

  SECTION("sink_%u takes the next index above every one given") {
    GstPad* five = gst_element_request_pad_simple(element.get(), "sink_5");
    REQUIRE(five);
    GstPad* next = gst_element_request_pad_simple(element.get(), "sink_%u");
    REQUIRE(next);
    CHECK(std::string(GST_PAD_NAME(next)) == "sink_6");
    CHECK(added == std::vector<std::string>{"src_0", "sink_0", "src_5", "sink_5", "src_6", "sink_6"});
    gst_element_release_request_pad(element.get(), five);
    gst_element_release_request_pad(element.get(), next);
    gst_object_unref(five);
    gst_object_unref(next);
  }

  SECTION("releasing sink_N removes src_N too; the name is free again") {
    GstPad* one = gst_element_request_pad_simple(element.get(), "sink_1");
    REQUIRE(one);
    gst_element_release_request_pad(element.get(), sink0);
    CHECK(removed == std::vector<std::string>{"src_0", "sink_0"});
    CHECK_FALSE(has_pad(element.get(), "src_0"));
    CHECK_FALSE(has_pad(element.get(), "sink_0"));
    CHECK(has_pad(element.get(), "src_1"));
    CHECK(has_pad(element.get(), "sink_1"));
    gst_object_unref(sink0);
    sink0 = gst_element_request_pad_simple(element.get(), "sink_0");
    REQUIRE(sink0);
    CHECK(has_pad(element.get(), "src_0"));
    gst_element_release_request_pad(element.get(), one);
    gst_object_unref(one);
  }

  gst_element_release_request_pad(element.get(), sink0);
  gst_object_unref(sink0);
  CHECK(element->numpads == 0);
  CHECK(LogProblems::get().since(problems_at_start).size() == expected_problems);
}

TEST_CASE("a stream requested while PLAYING flows like the others", "[align][pads]") {
  Align a;
  REQUIRE(a.push(packet(1, 0), ms(1000)) == GST_FLOW_OK);
  // gst_harness_new_with_element() requests sink_1 of the running element.
  GstHarness* h1 = gst_harness_new_with_element(a.element(), "sink_1", "src_1");
  REQUIRE(h1);
  gst_harness_set_src_caps_str(h1, kH264Caps);
  const Bytes frame = packet(500, 90000);
  GstBuffer* buffer = gst_buffer_new_memdup(frame.data(), frame.size());
  GST_BUFFER_PTS(buffer) = ms(1010);
  a.set_time(ms(1010));
  CHECK(gst_harness_push(h1, buffer) == GST_FLOW_OK);

  CHECK(a.next_wake(2) == ms(1500));
  CHECK(a.crank() == ms(1500));
  CHECK(a.crank() == ms(1510));
  GstBuffer* out = gst_harness_pull(h1);
  REQUIRE(out);
  // Video follows the audio master: its first frame in line with the
  // master's anchor, which is zero while the audio's ptime is unknown.
  CHECK(GST_BUFFER_PTS(out) == ms(1010));
  CHECK(GST_BUFFER_FLAG_IS_SET(out, GST_BUFFER_FLAG_DISCONT));
  gst_buffer_unref(out);
  REQUIRE(a.wait_for_buffers(0, 1));
  CHECK(a.data() == std::vector<Out>{buffer_out(1, ms(1000), true)});
  gst_harness_teardown(h1);
}

TEST_CASE("caps, segment and other events go on to src_N", "[align][events]") {
  Align a({.caps = {""}});
  gst_harness_set_src_caps_str(a.harness(), kOpusCaps);
  // Serialized events travel with the packets, pushed by the src task.
  REQUIRE(a.wait_for_event(0, GST_EVENT_SEGMENT));
  CHECK(a.outputs() == std::vector<Out>{event_out("stream-start"), event_out("caps"), event_out("segment")});
  auto downstream = GstPtr<GstCaps>::adopt(gst_pad_get_current_caps(a.harness()->sinkpad));
  REQUIRE(downstream);
  CHECK(gst_caps_is_equal(downstream.get(), caps(kOpusCaps).get()));

  REQUIRE(a.push_event(gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty("x-test"))));
  REQUIRE(a.push_event(gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM_OOB, gst_structure_new_empty("x-oob"))));
  REQUIRE(a.wait_for_event(0, GST_EVENT_CUSTOM_DOWNSTREAM));
  // Out of band goes on at once; in band waits its turn in the task.
  const std::vector<Out> all = a.outputs();
  CHECK(all.size() == 5);
  CHECK(std::count(all.begin(), all.end(), event_out("custom-downstream")) == 1);
  CHECK(std::count(all.begin(), all.end(), event_out("custom-downstream-oob")) == 1);

  SECTION("new caps: the stream's media and clock rate follow them") {
    gst_harness_set_src_caps_str(a.harness(), "application/x-rtp, clock-rate=(int)8000, encoding-name=(string)PCMU");
    const auto expected = caps("application/x-rtp, clock-rate=(int)8000, encoding-name=(string)PCMU");
    for (int i = 0; i < 500; ++i) {  // the src task forwards the caps a moment later
      downstream = GstPtr<GstCaps>::adopt(gst_pad_get_current_caps(a.harness()->sinkpad));
      if (gst_caps_is_equal(downstream.get(), expected.get())) break;
      g_usleep(10000);
    }
    CHECK(gst_caps_is_equal(downstream.get(), expected.get()));
    // No packet yet: the stream is a video stream now (no media field), at 8 kHz.
    const StreamStats s = a.stats("sink_0");
    CHECK(s.media == "video");
    CHECK(s.clock_rate == 8000);
    CHECK_FALSE(s.master);
  }
}

// Serialized events keep their place among buffers (the GstPad contract;
// rtpjitterbuffer queues them with its packets): a caps change must not
// overtake the packets sent with the old caps, nor a custom event the data
// it followed.
TEST_CASE("a serialized event leaves in its place among the packets", "[align][events]") {
  Align a;
  REQUIRE(a.wait_for_event(0, GST_EVENT_SEGMENT));
  const std::size_t sticky = a.outputs().size();  // stream-start, caps, segment
  REQUIRE(a.push(packet(1, 0), ms(1000)) == GST_FLOW_OK);
  REQUIRE(a.push_event(gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM, gst_structure_new_empty("x-marker"))));
  REQUIRE(a.push(packet(2, kOpusTicks), ms(1020)) == GST_FLOW_OK);
  a.release(2);
  const std::vector<Out> all = a.outputs();
  CHECK(std::vector<Out>(all.begin() + static_cast<std::ptrdiff_t>(sticky), all.end()) ==
        std::vector<Out>{buffer_out(1, ms(1000), true), event_out("custom-downstream"), buffer_out(2, ms(1020))});
}

TEST_CASE("caps without a usable clock-rate are refused with an element error", "[align][events]") {
  Align a({.caps = {""}});
  const char* bad = GENERATE("application/x-rtp, media=(string)audio, encoding-name=(string)OPUS",
                             "application/x-rtp, media=(string)audio, clock-rate=(int)0",
                             "application/x-rtp, media=(string)audio, clock-rate=(string)48000");
  INFO(bad);
  GstPad* sink = GST_PAD_PEER(a.harness()->srcpad);
  CHECK_FALSE(gst_pad_send_event(sink, gst_event_new_caps(caps(bad).get())));
  CHECK_FALSE(gst_pad_has_current_caps(sink));
  const auto errors = a.messages(GST_MESSAGE_ERROR);
  REQUIRE(errors.size() == 1);
  GError* error = nullptr;
  gst_message_parse_error(errors[0].get(), &error, nullptr);
  CHECK(error->domain == GST_STREAM_ERROR);
  CHECK(error->code == GST_STREAM_ERROR_FORMAT);
  g_error_free(error);
  CHECK(a.outputs().empty());

  // Through the harness: the caps stay with its pad and are offered again
  // before each packet, which therefore cannot flow.
  REQUIRE(a.push_event(gst_event_new_caps(caps(bad).get())));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  REQUIRE(a.push_event(gst_event_new_segment(&segment)));
  CHECK(a.push(packet(1, 0), ms(1000)) == GST_FLOW_NOT_NEGOTIATED);
  CHECK(a.stats("sink_0").counters.packets == 0);
  // Sticky events go in order: the segment waits behind the refused caps.
  REQUIRE(a.wait_for_event(0, GST_EVENT_STREAM_START));
  CHECK(a.outputs() == std::vector<Out>{event_out("stream-start")});
}

TEST_CASE("latency query: upstream's minimum plus the most a packet is held, no maximum", "[align][latency]") {
  SECTION("fixed: plus latency") {
    Align a;
    gst_harness_set_upstream_latency(a.harness(), ms(20));
    CHECK(query_latency(a.harness()) == Latency{true, ms(520), GST_CLOCK_TIME_NONE});

    // Changing it tells the pipeline to ask again; the same value does not.
    g_object_set(a.element(), "latency", 200u, nullptr);
    CHECK(a.messages(GST_MESSAGE_LATENCY).size() == 1);
    CHECK(query_latency(a.harness()) == Latency{true, ms(220), GST_CLOCK_TIME_NONE});
    g_object_set(a.element(), "latency", 200u, nullptr);
    CHECK(a.messages(GST_MESSAGE_LATENCY).empty());
    CHECK(a.stats_latency() == ms(200));

    // Adaptive mode can hold a packet up to max-latency.
    gst_util_set_object_arg(G_OBJECT(a.element()), "latency-mode", "adaptive");
    CHECK(a.messages(GST_MESSAGE_LATENCY).size() == 1);
    CHECK(query_latency(a.harness()) == Latency{true, ms(2020), GST_CLOCK_TIME_NONE});
  }

  SECTION("adaptive: plus max-latency") {
    Align a({.latency_mode = "adaptive", .max_latency_ms = 1500});
    CHECK(query_latency(a.harness()) == Latency{true, ms(1500), GST_CLOCK_TIME_NONE});
  }

  SECTION("not live upstream stays not live") {
    Align a;
    // The harness answers live; a pad in between says otherwise.
    gst_pad_set_query_function(
        a.harness()->srcpad, +[](GstPad*, GstObject*, GstQuery* q) -> gboolean {
          if (GST_QUERY_TYPE(q) != GST_QUERY_LATENCY) return FALSE;
          gst_query_set_latency(q, FALSE, ms(5), ms(40));
          return TRUE;
        });
    CHECK(query_latency(a.harness()) == Latency{false, ms(505), GST_CLOCK_TIME_NONE});
  }
}

TEST_CASE("properties: defaults, units and bounds as documented", "[align][properties]") {
  const auto element = make_align();
  guint latency = 0, min_latency = 0, max_latency = 0, max_jump = 0;
  gint mode = -1;
  g_object_get(element.get(), "latency", &latency, "latency-mode", &mode, "min-latency", &min_latency, "max-latency",
               &max_latency, "max-jump", &max_jump, nullptr);
  CHECK(latency == 500);
  CHECK(mode == 0);  // fixed
  CHECK(min_latency == 50);
  CHECK(max_latency == 2000);
  CHECK(max_jump == 3000);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element.get()), "latency");
  REQUIRE(spec);
  CHECK(G_PARAM_SPEC_UINT(spec)->maximum == 60000);
  CHECK(spec->flags & GST_PARAM_MUTABLE_PLAYING);
  spec = g_object_class_find_property(G_OBJECT_GET_CLASS(element.get()), "stats");
  REQUIRE(spec);
  CHECK_FALSE(spec->flags & G_PARAM_WRITABLE);
}

TEST_CASE("bytes that are not RTP are counted as malformed and dropped", "[align][input]") {
  Align a;
  Bytes bad_version = packet(2, 960);
  bad_version[0] = 0x40;  // RTP version 1
  Bytes bad_padding = packet(2, 960);
  bad_padding[0] |= 0x20;  // P: the last byte counts 0xff bytes of padding, more than there are
  bad_padding.back() = 0xff;
  const Bytes cases[] = {Bytes{0x80, 0x6f, 0x00}, bad_version, bad_padding};
  REQUIRE(a.push(packet(1, 0), ms(1000)) == GST_FLOW_OK);
  for (const Bytes& b : cases) CHECK(a.push(b, ms(1010)) == GST_FLOW_OK);
  REQUIRE(a.push(packet(3, 1920), ms(1040)) == GST_FLOW_OK);
  a.release(2);
  // Sequence number 2 never arrived as RTP: it is reported lost.
  CHECK(a.data() ==
        std::vector<Out>{buffer_out(1, ms(1000), true), lost_out(2, ms(1020), ms(20)), buffer_out(3, ms(1040))});
  const StreamStats s = a.stats("sink_0");
  CHECK(s.counters == Counters{.packets = 2, .lost = 1, .malformed = 3});
}

TEST_CASE("no packet outlives its pad or the element", "[align][lifecycle]") {
  const Bytes first = packet(1, 0), second = packet(2, 960);
  auto kept = GstPtr<GstBuffer>::adopt(gst_buffer_new_memdup(first.data(), first.size()));
  GST_BUFFER_PTS(kept.get()) = ms(1000);
  Align a({.caps = {kOpusCaps, kOpusCaps}});
  REQUIRE(gst_harness_push(a.harness(0), gst_buffer_ref(kept.get())) == GST_FLOW_OK);
  REQUIRE(a.push(1, second, ms(1000)) == GST_FLOW_OK);
  CHECK(a.next_wake(2) == ms(1500));
  CHECK(GST_MINI_OBJECT_REFCOUNT_VALUE(kept.get()) == 2);

  SECTION("released with packets queued") {
    gst_element_release_request_pad(a.element(), GST_PAD_PEER(a.harness(0)->srcpad));
    CHECK(GST_MINI_OBJECT_REFCOUNT_VALUE(kept.get()) == 1);
    CHECK_FALSE(has_pad(a.element(), "src_0"));
    // The other stream goes on.
    a.release(1, 1);
    CHECK(a.data(1) == std::vector<Out>{buffer_out(2, ms(1000), true)});
  }

  SECTION("stopped with packets queued; a new start begins from zero") {
    REQUIRE(gst_element_set_state(a.element(), GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS);
    CHECK(GST_MINI_OBJECT_REFCOUNT_VALUE(kept.get()) == 1);
    CHECK(a.stats("sink_0").counters.packets == 1);  // still readable while stopped
    REQUIRE(gst_element_set_state(a.element(), GST_STATE_PLAYING) == GST_STATE_CHANGE_SUCCESS);
    CHECK(a.stats("sink_0").counters == Counters{});
  }

  SECTION("torn down with packets queued") {
    a.teardown();
    CHECK(GST_MINI_OBJECT_REFCOUNT_VALUE(kept.get()) == 1);
  }
}

}  // namespace nagare::test::elements
