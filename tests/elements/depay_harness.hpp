// A GstHarness around nagareh264depay, with what its tests look at: RTP
// packets in; access units, downstream events (in order), upstream
// force-key-unit events, bus warnings and the stats property out.
//
// The packets are built byte by byte with tests/support/rtp_builder.hpp
// unless a test says it replays a capture.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "common/gst_ptr.hpp"
#include "gst_log.hpp"
#include "rtp_builder.hpp"
#include "stats_reader.hpp"

namespace nagare::test::elements {

inline constexpr const char* kRtpCaps =
    "application/x-rtp, media=(string)video, clock-rate=(int)90000, encoding-name=(string)H264, payload=(int)96";

// An RTP packet with the header fields the depayloader reads.
inline Bytes packet(std::uint16_t sequence, std::uint32_t timestamp, bool marker, const Bytes& payload) {
  RtpHeader h;
  h.sequence = sequence;
  h.timestamp = timestamp;
  h.marker = marker;
  return rtp(h, payload);
}

inline constexpr GstClockTime ms(std::uint64_t n) { return n * GST_MSECOND; }

// Copied out with gst_buffer_extract(): mapping would merge the memories of
// a writable buffer and hide how the element built it.
inline Bytes bytes_of(GstBuffer* buffer) {
  Bytes out(gst_buffer_get_size(buffer));
  REQUIRE(gst_buffer_extract(buffer, 0, out.data(), out.size()) == out.size());
  return out;
}

inline bool has_flag(GstBuffer* buffer, GstBufferFlags flag) { return GST_BUFFER_FLAG_IS_SET(buffer, flag); }

// The address of the bytes of memory `index` of `buffer`, to tell shared
// memory from a copy. Valid for as long as the memory lives.
inline const std::uint8_t* memory_data(GstBuffer* buffer, guint index) {
  GstMemory* memory = gst_buffer_peek_memory(buffer, index);
  GstMapInfo info;
  REQUIRE(gst_memory_map(memory, &info, GST_MAP_READ));
  const std::uint8_t* data = info.data;
  gst_memory_unmap(memory, &info);
  return data;
}

// The notice rtpjitterbuffer sends downstream for a packet that will not
// come (gst-plugins-good 1.22 rtpjitterbuffer.c, "GstRTPPacketLost").
inline GstEvent* packet_lost_event(guint seqnum, GstClockTime timestamp, GstClockTime duration, guint retry = 0) {
  return gst_event_new_custom(
      GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new("GstRTPPacketLost", "seqnum", G_TYPE_UINT, seqnum, "timestamp", G_TYPE_UINT64, timestamp,
                        "duration", G_TYPE_UINT64, duration, "retry", G_TYPE_UINT, retry, nullptr));
}

// The element's "stats" property. Every field is read with its type, so a
// missing or mistyped field fails.
struct Stats {
  std::uint64_t packets = 0, access_units = 0, dropped = 0, lost = 0, late = 0, malformed = 0, unsupported = 0,
                padding = 0, restarts = 0, keyframe_requests = 0;
  bool operator==(const Stats&) const = default;
};

struct DepayConfig {
  std::optional<bool> request_keyframe;
  std::optional<bool> wait_for_keyframe;
  std::optional<guint> keyframe_request_interval_ms;
  std::string caps = kRtpCaps;  // set on the harness at once; empty: not set
};

class Depay {
 public:
  explicit Depay(const DepayConfig& config = {}) {
    init_gstreamer();
    log_problems_at_start_ = LogProblems::get().count();
    // Properties first: wait-for-keyframe is copied when the element
    // starts, and the harness starts it.
    GstElement* made = gst_element_factory_make("nagareh264depay", nullptr);
    REQUIRE(made);  // GST_PLUGIN_PATH must lead to the built plugin
    auto element = GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
    if (config.request_keyframe)
      g_object_set(element.get(), "request-keyframe", gboolean{*config.request_keyframe}, nullptr);
    if (config.wait_for_keyframe)
      g_object_set(element.get(), "wait-for-keyframe", gboolean{*config.wait_for_keyframe}, nullptr);
    if (config.keyframe_request_interval_ms)
      g_object_set(element.get(), "keyframe-request-interval", *config.keyframe_request_interval_ms, nullptr);
    // A harnessed element has no bus; this one collects its messages.
    bus_ = GstPtr<GstBus>::adopt(gst_bus_new());
    gst_element_set_bus(element.get(), bus_.get());

    GstPad* src = gst_element_get_static_pad(element.get(), "src");
    const auto traced = static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
                                                     GST_PAD_PROBE_TYPE_EVENT_FLUSH);
    gst_pad_add_probe(src, traced, &Depay::trace_probe, this, nullptr);
    gst_object_unref(src);

    h_ = gst_harness_new_with_element(element.get(), "sink", "src");
    REQUIRE(h_);
    if (!config.caps.empty()) gst_harness_set_src_caps_str(h_, config.caps.c_str());
  }
  ~Depay() { teardown(); }
  Depay(const Depay&) = delete;
  Depay& operator=(const Depay&) = delete;

  // Frees the harness and with it the element (the harness holds the only
  // reference); for tests that look at what is left afterwards.
  void teardown() {
    if (!h_) return;
    gst_harness_teardown(std::exchange(h_, nullptr));
    // Queued messages hold their source, the element.
    gst_bus_set_flushing(bus_.get(), TRUE);
    const auto problems = LogProblems::get().since(log_problems_at_start_);
    for (const auto& m : problems) UNSCOPED_INFO("logged: " << m);
    CHECK(problems.empty());
  }

  GstHarness* harness() const { return h_; }
  GstElement* element() const { return h_->element; }

  GstFlowReturn push(const Bytes& rtp_packet, GstClockTime pts = GST_CLOCK_TIME_NONE) {
    GstBuffer* buffer = gst_buffer_new_memdup(rtp_packet.data(), rtp_packet.size());
    GST_BUFFER_PTS(buffer) = pts;
    return gst_harness_push(h_, buffer);
  }
  GstFlowReturn push(GstPtr<GstBuffer> buffer) { return gst_harness_push(h_, buffer.release()); }
  bool push_event(GstEvent* event) { return gst_harness_push_event(h_, event); }
  bool lose(guint seqnum, GstClockTime timestamp = GST_CLOCK_TIME_NONE) {
    return push_event(packet_lost_event(seqnum, timestamp, 0));
  }

  // The next access unit, or null when there is none: the element works in
  // the pushing thread, so what it made is already queued.
  GstPtr<GstBuffer> pull() { return GstPtr<GstBuffer>::adopt(gst_harness_try_pull(h_)); }
  guint buffers_waiting() const { return gst_harness_buffers_in_queue(h_); }

  // Every upstream event so far, each of which must be an upstream
  // force-key-unit asking for all headers (what webrtcbin and rtpbin turn
  // into an RTCP PLI); returns how many there were. The one exception is the
  // RECONFIGURE that gst_pad_link() sends the harness's own source pad.
  std::size_t keyframe_requests() {
    std::size_t n = 0;
    while (GstEvent* raw = gst_harness_try_pull_upstream_event(h_)) {
      const auto event = GstPtr<GstEvent>::adopt(raw);
      if (GST_EVENT_TYPE(raw) == GST_EVENT_RECONFIGURE) continue;
      INFO("upstream event " << GST_EVENT_TYPE_NAME(raw));
      REQUIRE(GST_EVENT_TYPE(raw) == GST_EVENT_CUSTOM_UPSTREAM);
      REQUIRE(gst_video_event_is_force_key_unit(raw));
      GstClockTime running_time = 0;
      gboolean all_headers = FALSE;
      guint count = 99;
      REQUIRE(gst_video_event_parse_upstream_force_key_unit(raw, &running_time, &all_headers, &count));
      CHECK(all_headers);
      CHECK(running_time == GST_CLOCK_TIME_NONE);  // "as soon as possible"
      CHECK(count == 0);
      ++n;
    }
    return n;
  }

  // Downstream buffers and events in the order the element pushed them:
  // "buffer" or the event type name ("caps", "segment", "eos", ...).
  std::vector<std::string> take_trace() { return std::exchange(trace_, {}); }
  std::vector<GstPtr<GstCaps>> take_caps() { return std::exchange(caps_, {}); }
  // Names of the custom downstream events that reached the harness.
  std::vector<std::string> custom_downstream_events() {
    std::vector<std::string> names;
    while (GstEvent* raw = gst_harness_try_pull_event(h_)) {
      const auto event = GstPtr<GstEvent>::adopt(raw);
      if (GST_EVENT_TYPE(raw) == GST_EVENT_CUSTOM_DOWNSTREAM)
        names.emplace_back(gst_structure_get_name(gst_event_get_structure(raw)));
    }
    return names;
  }

  // The caps downstream has now.
  GstPtr<GstCaps> src_caps() const { return GstPtr<GstCaps>::adopt(gst_pad_get_current_caps(h_->sinkpad)); }

  // Warning messages the element posted so far.
  std::vector<GstPtr<GstMessage>> warnings() {
    std::vector<GstPtr<GstMessage>> out;
    while (GstMessage* m = gst_bus_pop_filtered(bus_.get(), GST_MESSAGE_WARNING))
      out.push_back(GstPtr<GstMessage>::adopt(m));
    return out;
  }

  Stats stats() const {
    const StatsReader stats(h_->element, "application/x-nagare-h264depay-stats", 10);
    Stats out;
    const auto get = [&stats](const char* name, std::uint64_t& field) { stats.get(name, field); };
    get("packets", out.packets);
    get("access-units", out.access_units);
    get("dropped", out.dropped);
    get("lost", out.lost);
    get("late", out.late);
    get("malformed", out.malformed);
    get("unsupported", out.unsupported);
    get("padding", out.padding);
    get("restarts", out.restarts);
    get("keyframe-requests", out.keyframe_requests);
    return out;
  }

 private:
  static GstPadProbeReturn trace_probe(GstPad*, GstPadProbeInfo* info, gpointer self) {
    auto* d = static_cast<Depay*>(self);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      d->trace_.emplace_back("buffer");
    } else {
      GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
      d->trace_.emplace_back(GST_EVENT_TYPE_NAME(event));
      if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        d->caps_.push_back(GstPtr<GstCaps>::ref(caps));
      }
    }
    return GST_PAD_PROBE_OK;
  }

  GstHarness* h_ = nullptr;
  std::size_t log_problems_at_start_ = 0;
  GstPtr<GstBus> bus_;
  std::vector<std::string> trace_;
  std::vector<GstPtr<GstCaps>> caps_;
};

inline std::string caps_field(GstCaps* caps, const char* field) {
  const gchar* v = gst_structure_get_string(gst_caps_get_structure(caps, 0), field);
  return v ? v : "(none)";
}

}  // namespace nagare::test::elements

template <>
struct Catch::StringMaker<nagare::test::elements::Stats> {
  static std::string convert(const nagare::test::elements::Stats& s) {
    std::ostringstream o;
    o << "{packets " << s.packets << ", access-units " << s.access_units << ", dropped " << s.dropped << ", lost "
      << s.lost << ", late " << s.late << ", malformed " << s.malformed << ", unsupported " << s.unsupported
      << ", padding " << s.padding << ", restarts " << s.restarts << ", keyframe-requests " << s.keyframe_requests
      << "}";
    return o.str();
  }
};
