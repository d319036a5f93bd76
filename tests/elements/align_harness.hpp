// GstHarnesses around one nagarealign: one harness per stream (sink_N in,
// src_N out), all on the GstTestClock the first one sets on the element, so
// a test decides when each release wait ends. RTP packets go in with their
// arrival time as PTS; what each src pad pushes is recorded in order
// (buffers, GstRTPPacketLost events, other events), with the fields the
// tests compare.
//
// The packets are built byte by byte with tests/support/rtp_builder.hpp.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/check/gsttestclock.h>
#include <gst/gst.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/gst_ptr.hpp"
#include "gst_log.hpp"
#include "rtp_builder.hpp"
#include "stats_reader.hpp"

namespace nagare::test::elements {

// What rtpopuspay and rtph264pay put in their caps (gst-plugins-good 1.22).
inline constexpr const char* kOpusCaps =
    "application/x-rtp, media=(string)audio, clock-rate=(int)48000, encoding-name=(string)OPUS, payload=(int)111";
inline constexpr const char* kH264Caps =
    "application/x-rtp, media=(string)video, clock-rate=(int)90000, encoding-name=(string)H264, payload=(int)96";

inline constexpr std::uint32_t kOpusRate = 48000;
inline constexpr std::uint32_t kOpusTicks = 960;  // 20 ms, Opus' default ptime
inline constexpr std::uint32_t kVideoRate = 90000;
inline constexpr std::uint32_t kFrameTicks = 3000;  // 1/30 s
inline constexpr std::uint32_t kSsrc = 0x11223344;

inline constexpr GstClockTime ms(std::uint64_t n) { return n * GST_MSECOND; }

// RTP ticks as nanoseconds, rounded down: what a media time of `ticks` is.
inline GstClockTime ticks_ns(std::uint64_t ticks, std::uint32_t rate) {
  return gst_util_uint64_scale(ticks, GST_SECOND, rate);
}

// An RTP packet with a payload of three bytes that name its sequence number.
inline Bytes packet(std::uint16_t sequence, std::uint32_t timestamp, std::uint32_t ssrc = kSsrc) {
  RtpHeader h;
  h.sequence = sequence;
  h.timestamp = timestamp;
  h.ssrc = ssrc;
  h.payload_type = 111;
  return rtp(h, {0xab, static_cast<std::uint8_t>(sequence >> 8), static_cast<std::uint8_t>(sequence)});
}

// One thing a src pad pushed.
struct Out {
  enum class Kind : std::uint8_t { buffer, lost, event };
  Kind kind = Kind::buffer;
  std::string event;                            // event: its type name ("eos", "caps", ...)
  std::uint16_t sequence = 0;                   // buffer: RTP sequence number; lost: "seqnum"
  GstClockTime pts = GST_CLOCK_TIME_NONE;       // buffer: PTS; lost: "timestamp"
  GstClockTime dts = GST_CLOCK_TIME_NONE;       // buffer
  GstClockTime duration = GST_CLOCK_TIME_NONE;  // lost: "duration"
  bool discont = false;                         // buffer
  bool operator==(const Out&) const = default;
};

// A buffer as it must come out: DTS is always NONE.
inline Out buffer_out(std::uint16_t sequence, GstClockTime pts, bool discont = false) {
  Out o;
  o.sequence = sequence;
  o.pts = pts;
  o.discont = discont;
  return o;
}
// A "GstRTPPacketLost" event with exactly rtpjitterbuffer's five fields,
// retry 0 and might-have-been-fec FALSE.
inline Out lost_out(std::uint16_t sequence, GstClockTime timestamp, GstClockTime duration) {
  Out o;
  o.kind = Out::Kind::lost;
  o.sequence = sequence;
  o.pts = timestamp;
  o.duration = duration;
  return o;
}
inline Out event_out(const char* name) {
  Out o;
  o.kind = Out::Kind::event;
  o.event = name;
  return o;
}

inline std::string time_string(GstClockTime t) {
  if (!GST_CLOCK_TIME_IS_VALID(t)) return "none";
  std::ostringstream o;
  o << t / GST_MSECOND;
  if (t % GST_MSECOND) o << '.' << std::to_string(GST_MSECOND + t % GST_MSECOND).substr(1);
  o << "ms";
  return o.str();
}

// The per-stream counters of the stats property, all guint64.
struct Counters {
  std::uint64_t packets = 0, lost = 0, late = 0, dropped = 0, duplicates = 0, reordered = 0, rejected = 0, restarts = 0,
                malformed = 0;
  bool operator==(const Counters&) const = default;
};

// One stream's structure in the stats property, every field read with its type.
struct StreamStats {
  std::string media;
  bool master = false;
  guint clock_rate = 0;
  Counters counters;
  std::uint64_t jitter = 0;
  std::uint64_t latency = 0;
  std::int64_t av_offset = 0;
  double drift_ppm = -1;
};

struct AlignConfig {
  // One stream per entry, on sink_0, sink_1, ...: the caps set on its
  // harness, none when empty.
  std::vector<std::string> caps = {kOpusCaps};
  std::optional<guint> latency_ms = std::nullopt;
  std::optional<const char*> latency_mode = std::nullopt;  // "fixed" or "adaptive"
  std::optional<guint> max_latency_ms = std::nullopt;
};

class Align {
 public:
  explicit Align(const AlignConfig& config = {}) {
    init_gstreamer();
    log_problems_at_start_ = LogProblems::get().count();
    GstElement* made = gst_element_factory_make("nagarealign", nullptr);
    REQUIRE(made);  // GST_PLUGIN_PATH must lead to the built plugin
    element_ = GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
    if (config.latency_ms) g_object_set(element_.get(), "latency", *config.latency_ms, nullptr);
    if (config.latency_mode) gst_util_set_object_arg(G_OBJECT(element_.get()), "latency-mode", *config.latency_mode);
    if (config.max_latency_ms) g_object_set(element_.get(), "max-latency", *config.max_latency_ms, nullptr);
    // A harnessed element has no bus; this one collects its messages.
    bus_ = GstPtr<GstBus>::adopt(gst_bus_new());
    gst_element_set_bus(element_.get(), bus_.get());

    // Every pad before the first harness starts the element: a pad added to
    // a running element is another test's subject.
    for (std::size_t i = 0; i < config.caps.size(); ++i) {
      const std::string name = "sink_" + std::to_string(i);
      GstPad* sink = gst_element_request_pad_simple(element_.get(), name.c_str());
      REQUIRE(sink);
      gst_object_unref(sink);
    }
    for (std::size_t i = 0; i < config.caps.size(); ++i) {
      auto lane = std::make_unique<Lane>();
      const std::string sink = "sink_" + std::to_string(i), src = "src_" + std::to_string(i);
      GstPad* pad = gst_element_get_static_pad(element_.get(), src.c_str());
      REQUIRE(pad);
      const auto traced = static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM);
      gst_pad_add_probe(pad, traced, &Align::trace_probe, lane.get(), nullptr);
      gst_object_unref(pad);
      // The second harness finds the first one's test clock on the element
      // and takes it (gst_harness_add_element_full()).
      lane->h = gst_harness_new_with_element(element_.get(), sink.c_str(), src.c_str());
      REQUIRE(lane->h);
      if (!config.caps[i].empty()) gst_harness_set_src_caps_str(lane->h, config.caps[i].c_str());
      lanes_.push_back(std::move(lane));
    }
    clock_ = GstPtr<GstTestClock>::adopt(gst_harness_get_testclock(lanes_.front()->h));
  }
  ~Align() { teardown(); }
  Align(const Align&) = delete;
  Align& operator=(const Align&) = delete;

  // Frees the harnesses, which release the request pads, and the element
  // with the last one.
  void teardown() {
    if (lanes_.empty()) return;
    for (auto& lane : lanes_) gst_harness_teardown(std::exchange(lane->h, nullptr));
    lanes_.clear();
    clock_.reset();
    // Queued messages hold their source, the element.
    gst_bus_set_flushing(bus_.get(), TRUE);
    element_.reset();
    const auto problems = LogProblems::get().since(log_problems_at_start_);
    for (const auto& m : problems) UNSCOPED_INFO("logged: " << m);
    CHECK(problems.empty());
  }

  GstElement* element() const { return element_.get(); }
  GstHarness* harness(std::size_t lane = 0) const { return lanes_.at(lane)->h; }

  // --- Input ---------------------------------------------------------------

  // The packet arrives now: the clock moves on to `arrival` (never back) and
  // the buffer's PTS says when it arrived.
  GstFlowReturn push(std::size_t lane, const Bytes& bytes, GstClockTime arrival) {
    set_time(arrival);
    GstBuffer* buffer = gst_buffer_new_memdup(bytes.data(), bytes.size());
    GST_BUFFER_PTS(buffer) = arrival;
    return gst_harness_push(harness(lane), buffer);
  }
  GstFlowReturn push(const Bytes& bytes, GstClockTime arrival) { return push(0, bytes, arrival); }
  bool push_event(std::size_t lane, GstEvent* event) { return gst_harness_push_event(harness(lane), event); }
  bool push_event(GstEvent* event) { return push_event(0, event); }

  // --- The clock -----------------------------------------------------------

  GstClockTime now() const { return gst_clock_get_time(GST_CLOCK(clock_.get())); }
  void set_time(GstClockTime t) {
    if (t > now()) gst_test_clock_set_time(clock_.get(), t);
  }
  // When the earliest clock wait ends, once at least `waits` of them are
  // pending (one per stream task with something queued); nothing if they
  // do not all appear within `timeout_ms`.
  std::optional<GstClockTime> next_wake(guint waits = 1, guint timeout_ms = 2000) {
    GList* pending = nullptr;
    gst_test_clock_timed_wait_for_multiple_pending_ids(clock_.get(), waits, timeout_ms, &pending);
    const guint found = g_list_length(pending);
    g_list_free_full(pending, gst_clock_id_unref);
    if (found < waits) return std::nullopt;
    const GstClockTime t = gst_test_clock_get_next_entry_time(clock_.get());
    return GST_CLOCK_TIME_IS_VALID(t) ? std::optional(t) : std::nullopt;
  }
  std::size_t pending_waits() const { return gst_test_clock_peek_id_count(clock_.get()); }

  // Ends the earliest clock wait, moving the clock on to its time first;
  // returns that time.
  GstClockTime crank() {
    const std::optional<GstClockTime> t = next_wake();
    REQUIRE(t);
    GstClockID id = nullptr;
    REQUIRE(gst_test_clock_peek_next_pending_id(clock_.get(), &id));
    set_time(gst_clock_id_get_time(id));
    gst_test_clock_process_id(clock_.get(), id);  // takes the reference
    return *t;
  }
  // Ends the earliest clock wait without moving the clock: a wake-up before
  // its time (a spurious one, or an unschedule that raced with it).
  void wake_early() {
    REQUIRE(next_wake());
    GstClockID id = nullptr;
    REQUIRE(gst_test_clock_peek_next_pending_id(clock_.get(), &id));
    gst_test_clock_process_id(clock_.get(), id);  // takes the reference
  }
  // Ends clock waits in time order until `done` holds; false if it does not
  // hold within 5 s.
  bool crank_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      GstClockID id = nullptr;
      if (gst_test_clock_peek_next_pending_id(clock_.get(), &id)) {
        set_time(gst_clock_id_get_time(id));
        gst_test_clock_process_id(clock_.get(), id);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return true;
  }
  // Cranks until stream `lane` has pushed `buffers` buffers in all.
  void release(std::size_t lane, std::size_t buffers) {
    INFO("waiting for " << buffers << " buffers on src_" << lane);
    REQUIRE(crank_until([&] { return buffer_count(lane) >= buffers; }));
  }
  void release(std::size_t buffers) { release(0, buffers); }

  // --- Output --------------------------------------------------------------

  // Everything src_N pushed so far, in order.
  std::vector<Out> outputs(std::size_t lane = 0) const {
    Lane& l = *lanes_.at(lane);
    std::lock_guard lock(l.mutex);
    return l.outs;
  }
  // Buffers, lost-packet events and EOS only: the stream's data.
  std::vector<Out> data(std::size_t lane = 0) const {
    std::vector<Out> out;
    for (const Out& o : outputs(lane)) {
      if (o.kind != Out::Kind::event || o.event == "eos") out.push_back(o);
    }
    return out;
  }
  std::size_t buffer_count(std::size_t lane = 0) const {
    Lane& l = *lanes_.at(lane);
    std::lock_guard lock(l.mutex);
    return l.buffers;
  }
  // Waits up to 5 s until src_N has pushed `count` buffers in all.
  bool wait_for_buffers(std::size_t lane, std::size_t count) {
    Lane& l = *lanes_.at(lane);
    std::unique_lock lock(l.mutex);
    return l.changed.wait_for(lock, std::chrono::seconds(5), [&] { return l.buffers >= count; });
  }
  // Waits up to 5 s until src_N has pushed an event of this type.
  bool wait_for_event(std::size_t lane, GstEventType type) {
    Lane& l = *lanes_.at(lane);
    const std::string name = gst_event_type_get_name(type);
    std::unique_lock lock(l.mutex);
    return l.changed.wait_for(lock, std::chrono::seconds(5), [&] {
      for (const Out& o : l.outs)
        if (o.kind == Out::Kind::event && o.event == name) return true;
      return false;
    });
  }
  // The bytes of the next buffer that reached the harness (which it may
  // do a moment after the probe saw it); nothing after 60 s.
  std::optional<Bytes> pull_bytes(std::size_t lane = 0) {
    GstBuffer* raw = gst_harness_pull(harness(lane));
    if (!raw) return std::nullopt;
    const auto buffer = GstPtr<GstBuffer>::adopt(raw);
    Bytes out(gst_buffer_get_size(raw));
    gst_buffer_extract(raw, 0, out.data(), out.size());
    return out;
  }

  std::vector<GstPtr<GstMessage>> messages(GstMessageType type) {
    std::vector<GstPtr<GstMessage>> out;
    while (GstMessage* m = gst_bus_pop_filtered(bus_.get(), type)) out.push_back(GstPtr<GstMessage>::adopt(m));
    return out;
  }

  // --- Stats ---------------------------------------------------------------

  // The top level: its name, one field per stream besides `latency`, and
  // `latency` itself.
  std::uint64_t stats_latency() const {
    const StatsReader reader(element_.get(), "application/x-nagare-align-stats", static_cast<gint>(1 + lanes_.size()));
    std::uint64_t latency = 0;
    reader.get("latency", latency);
    return latency;
  }
  StreamStats stats(const char* pad) const {
    GstStructure* raw = nullptr;
    g_object_get(element_.get(), "stats", &raw, nullptr);
    REQUIRE(raw);
    const auto top = GstPtr<GstStructure>::adopt(raw);
    INFO("stats " << pad);
    GstStructure* one_raw = nullptr;
    REQUIRE(gst_structure_get(raw, pad, GST_TYPE_STRUCTURE, &one_raw, nullptr));
    const auto one = GstPtr<GstStructure>::adopt(one_raw);
    CHECK(gst_structure_has_name(one_raw, "application/x-nagare-align-stream"));
    CHECK(gst_structure_n_fields(one_raw) == 16);
    StreamStats s;
    const gchar* media = gst_structure_get_string(one_raw, "media");
    REQUIRE(media);
    s.media = media;
    gboolean master = FALSE;
    REQUIRE(gst_structure_get_boolean(one_raw, "master", &master));
    s.master = master;
    REQUIRE(gst_structure_get_uint(one_raw, "clock-rate", &s.clock_rate));
    const auto u64 = [one_raw](const char* field, std::uint64_t& out) {
      INFO("field " << field);
      guint64 v = 0;
      REQUIRE(gst_structure_get_uint64(one_raw, field, &v));
      out = v;
    };
    u64("packets", s.counters.packets);
    u64("lost", s.counters.lost);
    u64("late", s.counters.late);
    u64("dropped", s.counters.dropped);
    u64("duplicates", s.counters.duplicates);
    u64("reordered", s.counters.reordered);
    u64("rejected", s.counters.rejected);
    u64("restarts", s.counters.restarts);
    u64("malformed", s.counters.malformed);
    u64("jitter", s.jitter);
    u64("latency", s.latency);
    gint64 av_offset = 0;
    REQUIRE(gst_structure_get_int64(one_raw, "av-offset", &av_offset));
    s.av_offset = av_offset;
    REQUIRE(gst_structure_get_double(one_raw, "drift-ppm", &s.drift_ppm));
    return s;
  }

 private:
  struct Lane {
    GstHarness* h = nullptr;
    mutable std::mutex mutex;  // the probe runs in the src pad's task
    std::condition_variable changed;
    std::vector<Out> outs;
    std::size_t buffers = 0;
  };

  static Out describe_buffer(GstBuffer* buffer) {
    Out o;
    std::uint8_t header[4] = {};
    if (gst_buffer_extract(buffer, 0, header, sizeof header) == sizeof header)
      o.sequence = static_cast<std::uint16_t>(header[2] << 8 | header[3]);
    o.pts = GST_BUFFER_PTS(buffer);
    o.dts = GST_BUFFER_DTS(buffer);
    o.discont = GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT);
    return o;
  }

  // A GstRTPPacketLost event as lost_out() describes it, or, when a field
  // is missing, of another type or not rtpjitterbuffer's value, an event
  // entry that prints the whole structure.
  static Out describe_event(GstEvent* event) {
    const GstStructure* s = gst_event_get_structure(event);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_DOWNSTREAM || !s || !gst_structure_has_name(s, "GstRTPPacketLost"))
      return event_out(GST_EVENT_TYPE_NAME(event));
    guint seqnum = 0, retry = 99;
    guint64 timestamp = 0, duration = 0;
    gboolean fec = TRUE;
    if (gst_structure_n_fields(s) == 5 && gst_structure_get_uint(s, "seqnum", &seqnum) &&
        gst_structure_get_uint64(s, "timestamp", &timestamp) && gst_structure_get_uint64(s, "duration", &duration) &&
        gst_structure_get_uint(s, "retry", &retry) && retry == 0 &&
        gst_structure_get_boolean(s, "might-have-been-fec", &fec) && !fec && seqnum <= G_MAXUINT16)
      return lost_out(static_cast<std::uint16_t>(seqnum), timestamp, duration);
    gchar* text = gst_structure_to_string(s);
    Out o = event_out(text);
    g_free(text);
    return o;
  }

  static GstPadProbeReturn trace_probe(GstPad*, GstPadProbeInfo* info, gpointer data) {
    auto* lane = static_cast<Lane*>(data);
    const bool is_buffer = GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER;
    Out o =
        is_buffer ? describe_buffer(GST_PAD_PROBE_INFO_BUFFER(info)) : describe_event(GST_PAD_PROBE_INFO_EVENT(info));
    {
      std::lock_guard lock(lane->mutex);
      lane->outs.push_back(std::move(o));
      if (is_buffer) ++lane->buffers;
    }
    lane->changed.notify_all();
    return GST_PAD_PROBE_OK;
  }

  GstPtr<GstElement> element_;
  GstPtr<GstBus> bus_;
  GstPtr<GstTestClock> clock_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::size_t log_problems_at_start_ = 0;
};

}  // namespace nagare::test::elements

template <>
struct Catch::StringMaker<nagare::test::elements::Out> {
  static std::string convert(const nagare::test::elements::Out& o) {
    using nagare::test::elements::Out;
    using nagare::test::elements::time_string;
    std::ostringstream s;
    switch (o.kind) {
      case Out::Kind::buffer:
        s << "{buffer " << o.sequence << " pts " << time_string(o.pts);
        if (GST_CLOCK_TIME_IS_VALID(o.dts)) s << " dts " << time_string(o.dts);
        if (o.discont) s << " DISCONT";
        s << '}';
        break;
      case Out::Kind::lost:
        s << "{lost " << o.sequence << " at " << time_string(o.pts) << " for " << time_string(o.duration) << '}';
        break;
      case Out::Kind::event: s << '{' << o.event << '}'; break;
    }
    return s.str();
  }
};

template <>
struct Catch::StringMaker<nagare::test::elements::Counters> {
  static std::string convert(const nagare::test::elements::Counters& c) {
    std::ostringstream o;
    o << "{packets " << c.packets << ", lost " << c.lost << ", late " << c.late << ", dropped " << c.dropped
      << ", duplicates " << c.duplicates << ", reordered " << c.reordered << ", rejected " << c.rejected
      << ", restarts " << c.restarts << ", malformed " << c.malformed << "}";
    return o.str();
  }
};
