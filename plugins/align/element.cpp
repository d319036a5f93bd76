// The GObject shell of nagarealign. Each request pad sink_N comes with a
// src_N and a task that pushes the stream's packets when the Aligner says
// they are due; all timing logic lives in the Aligner.
//
// Example (an SFU's RTP forward on two ports):
//   gst-launch-1.0 nagarealign name=a latency=500
//     udpsrc port=5002 caps="application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111" ! a.sink_0
//     udpsrc port=5004 caps="application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96" ! a.sink_1
//     a.src_0 ! rtpopusdepay ! opusdec ! autoaudiosink
//     a.src_1 ! nagareh264depay ! avdec_h264 ! autovideosink
#include "element.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <variant>
#include <vector>

#include "../common/gst_ptr.hpp"
#include "../common/rtp_packet.hpp"
#include "aligner.hpp"
#include "handle_pool.hpp"

GST_DEBUG_CATEGORY_STATIC(nagare_align_debug);
#define GST_CAT_DEFAULT nagare_align_debug

namespace {

using namespace nagare;
using namespace nagare::align;

constexpr guint kDefaultLatency = 500;  // ms
constexpr guint kDefaultMinLatency = 50;
constexpr guint kDefaultMaxLatency = 2000;
constexpr guint kDefaultMaxJump = 3000;

enum {
  PROP_0,
  PROP_LATENCY,
  PROP_LATENCY_MODE,
  PROP_MIN_LATENCY,
  PROP_MAX_LATENCY,
  PROP_MAX_JUMP,
  PROP_STATS,
};

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink_%u", GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS("application/x-rtp"));
GstStaticPadTemplate src_template =
    GST_STATIC_PAD_TEMPLATE("src_%u", GST_PAD_SRC, GST_PAD_SOMETIMES, GST_STATIC_CAPS("application/x-rtp"));

struct Settings {
  guint latency_ms = kDefaultLatency;
  LatencyMode mode = LatencyMode::fixed;
  guint min_latency_ms = kDefaultMinLatency;
  guint max_latency_ms = kDefaultMaxLatency;
  guint max_jump_ms = kDefaultMaxJump;

  Config config() const {
    Config c;
    c.latency = latency_ms * kMillisecond;
    c.mode = mode;
    c.min_latency = min_latency_ms * kMillisecond;
    c.max_latency = max_latency_ms * kMillisecond;
    c.max_jump = max_jump_ms * kMillisecond;
    return c;
  }
};

// What a src task pushes, in order.
using Item = std::variant<GstPtr<GstBuffer>, GstPtr<GstEvent>>;

// One stream: its two pads and the state its task and chain share. All
// fields below `src` are guarded by the element's lock.
struct Lane {
  GstElement* element = nullptr;  // not a reference: the element owns the lane
  GstPad* sink = nullptr;
  GstPad* src = nullptr;
  Aligner::StreamId id = 0;
  Media media = Media::video;
  std::uint32_t clock_rate = 90000;
  GstSegment segment{};
  bool flushing = true;  // until the src pad is activated
  bool eos = false;
  GstFlowReturn flow = GST_FLOW_OK;
  GstClockID wait = nullptr;  // the clock wait in progress, to cut short
  std::optional<std::int64_t> waiting_until;
  std::int64_t last_arrival = 0;
  std::uint64_t malformed = 0;
  std::vector<std::uint32_t> scratch;  // handles given up on, reused
  std::vector<Output> out;             // the task's releases, reused
  // A serialized event and the packets admitted before it, let go early so
  // that the event keeps its place; the task pushes these first.
  std::vector<Item> pending;
};

}  // namespace

// Constructed in place in _init, destroyed in finalize.
struct NagareAlignPrivate {
  std::mutex settings_lock;
  Settings settings;  // guarded by settings_lock

  std::mutex lock;               // guards the aligner, the packets and every lane's state
  std::condition_variable wake;  // for tasks with nothing due, or no clock yet
  Aligner aligner;
  HandlePool<GstPtr<GstBuffer>> packets;
  std::vector<std::unique_ptr<Lane>> lanes;
  guint next_index = 0;
};

struct _NagareAlign {
  GstElement parent;
};

G_DEFINE_TYPE_WITH_PRIVATE(NagareAlign, nagare_align, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(nagarealign, "nagarealign", GST_RANK_NONE, NAGARE_TYPE_ALIGN,
                                      GST_DEBUG_CATEGORY_INIT(nagare_align_debug, "nagarealign", 0,
                                                              "nagare A/V aligner and latency buffer"));

GType nagare_align_latency_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {static_cast<gint>(LatencyMode::fixed), "Hold every packet for exactly `latency`", "fixed"},
      {static_cast<gint>(LatencyMode::adaptive),
       "Size the latency from the observed arrival jitter, within min-latency and max-latency", "adaptive"},
      {0, nullptr, nullptr},
  };
  if (g_once_init_enter(&type)) g_once_init_leave(&type, g_enum_register_static("NagareAlignLatencyMode", values));
  return type;
}

namespace {

NagareAlignPrivate& priv(gpointer self) {
  return *static_cast<NagareAlignPrivate*>(nagare_align_get_instance_private(NAGARE_ALIGN(self)));
}

Lane* lane_of(GstPad* pad) { return static_cast<Lane*>(gst_pad_get_element_private(pad)); }

Settings settings_of(NagareAlignPrivate& p) {
  std::lock_guard lock(p.settings_lock);
  return p.settings;
}

// The element's clock and base time, read once per pass of a task (each
// read takes the element's object lock).
struct ElementClock {
  explicit ElementClock(GstElement* element)
      : clock(GstPtr<GstClock>::adopt(gst_element_get_clock(element))), base(gst_element_get_base_time(element)) {}

  // Running time now, when the element has a clock.
  std::optional<std::int64_t> now() const {
    if (!clock) return std::nullopt;
    return static_cast<std::int64_t>(gst_clock_get_time(clock.get()) - base);
  }

  GstPtr<GstClock> clock;
  GstClockTime base;
};

// Cuts a lane's wait short when something it waits for has changed: a
// packet due earlier than the wait's end, EOS, a flush, a state change.
void wake_lane(NagareAlignPrivate& p, Lane& lane, bool always) {
  if (lane.wait) {
    const std::optional<std::int64_t> due = p.aligner.next_due(lane.id);
    if (always || !lane.waiting_until || (due && *due < *lane.waiting_until)) gst_clock_id_unschedule(lane.wait);
  }
  p.wake.notify_all();
}

// --- Output ----------------------------------------------------------------

GstClockTime to_pts(const Lane& lane, std::int64_t position) {
  const GstClockTime running = static_cast<GstClockTime>(std::max<std::int64_t>(0, position));
  const GstClockTime pts = gst_segment_position_from_running_time(&lane.segment, GST_FORMAT_TIME, running);
  return GST_CLOCK_TIME_IS_VALID(pts) ? pts : running;
}

// rtpjitterbuffer's form of a loss report, which rtpbasedepayload and
// nagareh264depay understand.
GstPtr<GstEvent> lost_event(const Lane& lane, const Output& o) {
  return GstPtr<GstEvent>::adopt(
      gst_event_new_custom(GST_EVENT_CUSTOM_DOWNSTREAM,
                           gst_structure_new("GstRTPPacketLost", "seqnum", G_TYPE_UINT, static_cast<guint>(o.sequence),
                                             "timestamp", G_TYPE_UINT64, to_pts(lane, o.position), "duration",
                                             G_TYPE_UINT64, static_cast<guint64>(o.duration), "retry", G_TYPE_UINT, 0u,
                                             "might-have-been-fec", G_TYPE_BOOLEAN, FALSE, nullptr)));
}

// Turns the Aligner's outputs into what the pad pushes, under the lock.
void collect(NagareAlignPrivate& p, Lane& lane, const std::vector<Output>& out, std::vector<Item>& items) {
  for (const Output& o : out) {
    if (o.kind == Output::Kind::lost) {
      items.emplace_back(lost_event(lane, o));
      continue;
    }
    GstPtr<GstBuffer> buffer = p.packets.take(o.handle);
    buffer = GstPtr<GstBuffer>::adopt(gst_buffer_make_writable(buffer.release()));
    GST_BUFFER_PTS(buffer.get()) = to_pts(lane, o.position);
    GST_BUFFER_DTS(buffer.get()) = GST_CLOCK_TIME_NONE;
    if (o.discont) {
      GST_BUFFER_FLAG_SET(buffer.get(), GST_BUFFER_FLAG_DISCONT);
    } else {
      GST_BUFFER_FLAG_UNSET(buffer.get(), GST_BUFFER_FLAG_DISCONT);
    }
    items.emplace_back(std::move(buffer));
  }
}

// Waits, with the lock released, until the lane's next packet is due or
// something wakes the lane.
void wait_for_due(NagareAlignPrivate& p, Lane& lane, const ElementClock& clock, std::unique_lock<std::mutex>& lock) {
  const std::optional<std::int64_t> due = p.aligner.next_due(lane.id);
  if (!due || !clock.clock) {
    p.wake.wait(lock);
    return;
  }
  const GstClockTime at = clock.base + static_cast<GstClockTime>(std::max<std::int64_t>(0, *due));
  GstClockID id = gst_clock_new_single_shot_id(clock.clock.get(), at);
  lane.wait = id;
  lane.waiting_until = due;
  lock.unlock();
  gst_clock_id_wait(id, nullptr);
  lock.lock();
  lane.wait = nullptr;
  lane.waiting_until.reset();
  gst_clock_id_unref(id);
}

void pause_on(Lane& lane, GstFlowReturn flow) {
  GST_DEBUG_OBJECT(lane.src, "pausing: %s", gst_flow_get_name(flow));
  gst_pad_pause_task(lane.src);
  if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS) {
    GST_ELEMENT_FLOW_ERROR(lane.element, flow);
    gst_pad_push_event(lane.src, gst_event_new_eos());
  }
}

void src_loop(gpointer data) {
  Lane& lane = *static_cast<Lane*>(data);
  NagareAlignPrivate& p = priv(lane.element);
  std::vector<Item> items;
  bool eos = false;
  {
    std::unique_lock lock(p.lock);
    if (lane.flushing) {
      gst_pad_pause_task(lane.src);
      return;
    }
    const ElementClock clock(lane.element);
    std::vector<Output>& out = lane.out;
    out.clear();
    if (!lane.pending.empty()) {
      items = std::move(lane.pending);
      lane.pending.clear();
    } else if (lane.eos) {
      p.aligner.drain(lane.id, out, lane.scratch);
      for (std::uint32_t h : lane.scratch) p.packets.take(h);
      lane.scratch.clear();
      eos = true;
    } else if (const std::optional<std::int64_t> now = clock.now()) {
      p.aligner.release(lane.id, *now, out);
    }
    if (out.empty() && items.empty() && !eos) {
      wait_for_due(p, lane, clock, lock);
      return;
    }
    collect(p, lane, out, items);
  }

  GstFlowReturn flow = GST_FLOW_OK;
  for (Item& item : items) {
    if (auto* buffer = std::get_if<GstPtr<GstBuffer>>(&item)) {
      flow = gst_pad_push(lane.src, buffer->release());
      if (flow != GST_FLOW_OK) break;
    } else {
      gst_pad_push_event(lane.src, std::get<GstPtr<GstEvent>>(item).release());
    }
  }
  if (flow != GST_FLOW_OK) {
    {
      std::lock_guard lock(p.lock);
      lane.flow = flow;
    }
    pause_on(lane, flow);
    return;
  }
  if (eos) {
    gst_pad_push_event(lane.src, gst_event_new_eos());
    gst_pad_pause_task(lane.src);
  }
}

// --- Input -----------------------------------------------------------------

GstFlowReturn chain(GstPad* pad, GstObject* parent, GstBuffer* raw) {
  GstPtr<GstBuffer> buffer = GstPtr<GstBuffer>::adopt(raw);
  Lane* lane = lane_of(pad);
  if (!lane) return GST_FLOW_FLUSHING;
  NagareAlignPrivate& p = priv(parent);

  Arrival arrival;
  bool parsed = false;
  {
    BufferMap map(buffer.get(), GST_MAP_READ);
    if (const RtpParse rtp = parse_rtp(map.bytes()); rtp.packet) {
      arrival.sequence = rtp.packet->sequence;
      arrival.timestamp = rtp.packet->timestamp;
      arrival.ssrc = rtp.packet->ssrc;
      parsed = true;
    }
  }

  std::lock_guard lock(p.lock);
  if (lane->flushing) return GST_FLOW_FLUSHING;
  if (lane->eos) return GST_FLOW_EOS;
  if (lane->flow != GST_FLOW_OK) return lane->flow;
  if (!parsed) {
    ++lane->malformed;
    GST_DEBUG_OBJECT(pad, "dropping a packet that is not RTP (%" G_GSIZE_FORMAT " bytes)",
                     gst_buffer_get_size(buffer.get()));
    return GST_FLOW_OK;
  }
  // The arrival time is the buffer's running time (udpsrc and webrtcbin
  // stamp it on receipt); a buffer without one arrived now.
  const GstClockTime pts = GST_BUFFER_PTS(buffer.get());
  const GstClockTime running = GST_CLOCK_TIME_IS_VALID(pts)
                                   ? gst_segment_to_running_time(&lane->segment, GST_FORMAT_TIME, pts)
                                   : GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID(running)) {
    arrival.arrival = static_cast<std::int64_t>(running);
  } else {
    arrival.arrival = ElementClock(lane->element).now().value_or(lane->last_arrival);
  }
  lane->last_arrival = arrival.arrival;

  const std::uint32_t handle = p.packets.put(std::move(buffer));
  const Verdict verdict = p.aligner.admit(lane->id, arrival, handle, lane->scratch);
  if (verdict != Verdict::queued && verdict != Verdict::held) {
    GST_LOG_OBJECT(pad, "packet %u not queued (verdict %d)", arrival.sequence, static_cast<int>(verdict));
    p.packets.take(handle);
  }
  for (std::uint32_t h : lane->scratch) p.packets.take(h);
  lane->scratch.clear();
  wake_lane(p, *lane, false);
  return GST_FLOW_OK;
}

bool read_caps(GstElement* element, GstCaps* caps, Media* media, std::uint32_t* clock_rate) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  gint rate = 0;
  if (!gst_structure_get_int(s, "clock-rate", &rate) || rate <= 0) {
    GST_ELEMENT_ERROR(element, STREAM, FORMAT, ("RTP caps without a clock-rate"),
                      ("caps %" GST_PTR_FORMAT " lack a positive clock-rate; the aligner needs it to read timestamps",
                       static_cast<void*>(caps)));
    return false;
  }
  const gchar* kind = gst_structure_get_string(s, "media");
  *media = kind && g_str_equal(kind, "audio") ? Media::audio : Media::video;
  *clock_rate = static_cast<std::uint32_t>(rate);
  return true;
}

void reset_lane_locked(NagareAlignPrivate& p, Lane& lane) {
  p.aligner.flush(lane.id, lane.scratch);
  for (std::uint32_t h : lane.scratch) p.packets.take(h);
  lane.scratch.clear();
  lane.pending.clear();
  lane.eos = false;
  lane.flow = GST_FLOW_OK;
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  Lane* lane = lane_of(pad);
  if (!lane) {
    gst_event_unref(event);
    return FALSE;
  }
  NagareAlignPrivate& p = priv(parent);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      Media media;
      std::uint32_t rate = 0;
      if (!read_caps(lane->element, caps, &media, &rate)) {
        gst_event_unref(event);
        return FALSE;
      }
      {
        std::lock_guard lock(p.lock);
        lane->media = media;
        lane->clock_rate = rate;
        p.aligner.set_format(lane->id, media, rate);
      }
      break;
    }
    case GST_EVENT_SEGMENT: {
      std::lock_guard lock(p.lock);
      gst_event_copy_segment(event, &lane->segment);
      break;
    }
    case GST_EVENT_EOS: {
      // Everything queued leaves first; the task sends EOS after it.
      std::lock_guard lock(p.lock);
      lane->eos = true;
      wake_lane(p, *lane, true);
      gst_event_unref(event);
      return TRUE;
    }
    case GST_EVENT_FLUSH_START: {
      const gboolean ok = gst_pad_push_event(lane->src, event);
      {
        std::lock_guard lock(p.lock);
        lane->flushing = true;
        wake_lane(p, *lane, true);
      }
      gst_pad_pause_task(lane->src);
      return ok;
    }
    case GST_EVENT_FLUSH_STOP: {
      {
        std::lock_guard lock(p.lock);
        reset_lane_locked(p, *lane);
        lane->flushing = false;
      }
      const gboolean ok = gst_pad_push_event(lane->src, event);
      gst_pad_start_task(lane->src, src_loop, lane, nullptr);
      return ok;
    }
    default: break;
  }
  if ((static_cast<unsigned>(GST_EVENT_TYPE(event)) & GST_EVENT_TYPE_SERIALIZED) != 0) {
    // In order with the packets: everything admitted before it leaves
    // first, early (events mid-stream are rare; order matters more).
    std::lock_guard lock(p.lock);
    if (lane->flushing) {
      gst_event_unref(event);
      return FALSE;
    }
    std::vector<Output> out;
    p.aligner.release_all(lane->id, out);
    collect(p, *lane, out, lane->pending);
    lane->pending.emplace_back(GstPtr<GstEvent>::adopt(event));
    wake_lane(p, *lane, true);
    return TRUE;
  }
  return gst_pad_push_event(lane->src, event);
}

// --- Pads ------------------------------------------------------------------

gboolean src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  Lane* lane = lane_of(pad);
  if (lane && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    if (!gst_pad_peer_query(lane->sink, query)) return FALSE;
    gboolean live = FALSE;
    GstClockTime min = 0, max = GST_CLOCK_TIME_NONE;
    gst_query_parse_latency(query, &live, &min, &max);
    GstClockTime hold = 0;
    {
      NagareAlignPrivate& p = priv(parent);
      std::lock_guard lock(p.lock);
      hold = static_cast<GstClockTime>(p.aligner.max_hold());
    }
    // Packets wait here `hold` at most; and like a queue without a time
    // limit, the element can buffer whatever downstream needs beyond that.
    min += hold;
    max = GST_CLOCK_TIME_NONE;
    gst_query_set_latency(query, live, min, max);
    return TRUE;
  }
  return gst_pad_query_default(pad, parent, query);
}

gboolean src_activate_mode(GstPad* pad, GstObject* parent, GstPadMode mode, gboolean active) {
  Lane* lane = lane_of(pad);
  if (mode != GST_PAD_MODE_PUSH || !lane) return FALSE;
  NagareAlignPrivate& p = priv(parent);
  if (active) {
    {
      std::lock_guard lock(p.lock);
      lane->flushing = false;
      lane->flow = GST_FLOW_OK;
    }
    return gst_pad_start_task(pad, src_loop, lane, nullptr);
  }
  {
    std::lock_guard lock(p.lock);
    lane->flushing = true;
    wake_lane(p, *lane, true);
  }
  return gst_pad_stop_task(pad);
}

GstIterator* iterate_internal_links(GstPad* pad, GstObject*) {
  Lane* lane = lane_of(pad);
  if (!lane) return nullptr;
  GValue other = G_VALUE_INIT;
  g_value_init(&other, GST_TYPE_PAD);
  g_value_set_object(&other, pad == lane->sink ? lane->src : lane->sink);
  GstIterator* it = gst_iterator_new_single(GST_TYPE_PAD, &other);
  g_value_unset(&other);
  return it;
}

GstPad* request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name, const GstCaps*) {
  NagareAlignPrivate& p = priv(element);
  guint index = 0;
  {
    std::lock_guard lock(p.lock);
    if (name && std::sscanf(name, "sink_%u", &index) == 1) {
      for (const auto& lane : p.lanes) {
        if (g_strcmp0(GST_PAD_NAME(lane->sink), name) == 0) {
          GST_WARNING_OBJECT(element, "pad %s already exists", name);
          return nullptr;
        }
      }
    } else {
      index = p.next_index;
    }
    p.next_index = std::max(p.next_index, index + 1);
  }

  auto lane = std::make_unique<Lane>();
  lane->element = element;
  gst_segment_init(&lane->segment, GST_FORMAT_TIME);
  gchar* sink_name_raw = g_strdup_printf("sink_%u", index);
  gchar* src_name_raw = g_strdup_printf("src_%u", index);
  lane->sink = gst_pad_new_from_template(templ, sink_name_raw);
  lane->src = gst_pad_new_from_static_template(&src_template, src_name_raw);
  g_free(sink_name_raw);
  g_free(src_name_raw);

  gst_pad_set_chain_function(lane->sink, chain);
  gst_pad_set_event_function(lane->sink, sink_event);
  gst_pad_set_iterate_internal_links_function(lane->sink, iterate_internal_links);
  GST_PAD_SET_PROXY_CAPS(lane->sink);
  GST_PAD_SET_PROXY_ALLOCATION(lane->sink);
  gst_pad_set_query_function(lane->src, src_query);
  gst_pad_set_activatemode_function(lane->src, src_activate_mode);
  gst_pad_set_iterate_internal_links_function(lane->src, iterate_internal_links);
  GST_PAD_SET_PROXY_CAPS(lane->src);
  gst_pad_set_element_private(lane->sink, lane.get());
  gst_pad_set_element_private(lane->src, lane.get());

  Lane& added = *lane;
  {
    std::lock_guard lock(p.lock);
    lane->id = p.aligner.add_stream(lane->media, lane->clock_rate);
    p.lanes.push_back(std::move(lane));
  }
  // The src pad first, so that a pad-added handler (gst-launch's delayed
  // links) can link it before data flows.
  gst_element_add_pad(element, added.src);
  gst_element_add_pad(element, added.sink);
  return added.sink;
}

void release_pad(GstElement* element, GstPad* pad) {
  NagareAlignPrivate& p = priv(element);
  Lane* lane = lane_of(pad);
  if (!lane || pad != lane->sink) return;
  gst_pad_set_active(lane->src, FALSE);  // stops the task
  GST_PAD_STREAM_LOCK(lane->sink);       // and waits out a chain in progress
  {
    std::lock_guard lock(p.lock);
    p.aligner.remove_stream(lane->id, lane->scratch);
    for (std::uint32_t h : lane->scratch) p.packets.take(h);
    lane->scratch.clear();
    gst_pad_set_element_private(lane->sink, nullptr);
    gst_pad_set_element_private(lane->src, nullptr);
  }
  GST_PAD_STREAM_UNLOCK(lane->sink);
  GstPad* sink = lane->sink;
  GstPad* src = lane->src;
  {
    std::lock_guard lock(p.lock);
    std::erase_if(p.lanes, [&](const std::unique_ptr<Lane>& l) { return l.get() == lane; });
  }
  gst_element_remove_pad(element, src);
  gst_element_remove_pad(element, sink);
}

// --- GObject ---------------------------------------------------------------

const char* media_name(Media m) { return m == Media::audio ? "audio" : "video"; }

GstStructure* make_stats(NagareAlignPrivate& p) {
  std::lock_guard lock(p.lock);
  GstStructure* s = gst_structure_new("application/x-nagare-align-stats", "latency", G_TYPE_UINT64,
                                      static_cast<guint64>(p.aligner.latency()), nullptr);
  for (const auto& lane : p.lanes) {
    const StreamStats st = p.aligner.stats(lane->id);
    const StreamCounters& c = st.counters;
    GstStructure* one = gst_structure_new(
        "application/x-nagare-align-stream", "media", G_TYPE_STRING, media_name(st.media), "master", G_TYPE_BOOLEAN,
        st.master, "clock-rate", G_TYPE_UINT, st.clock_rate, "packets", G_TYPE_UINT64, c.packets, "lost", G_TYPE_UINT64,
        c.lost, "late", G_TYPE_UINT64, c.late, "dropped", G_TYPE_UINT64, c.dropped, "duplicates", G_TYPE_UINT64,
        c.duplicates, "reordered", G_TYPE_UINT64, c.reordered, "rejected", G_TYPE_UINT64, c.rejected, "restarts",
        G_TYPE_UINT64, c.restarts, "malformed", G_TYPE_UINT64, lane->malformed, "jitter", G_TYPE_UINT64,
        static_cast<guint64>(st.jitter), "latency", G_TYPE_UINT64, static_cast<guint64>(st.latency), "av-offset",
        G_TYPE_INT64, static_cast<gint64>(st.av_offset), "drift-ppm", G_TYPE_DOUBLE, st.drift_ppm.value_or(0.0),
        nullptr);
    gst_structure_set(s, GST_PAD_NAME(lane->sink), GST_TYPE_STRUCTURE, one, nullptr);
    gst_structure_free(one);
  }
  return s;
}

// Applies the settings to the running aligner, and tells the pipeline when
// the latency it reports has changed.
void apply_settings(GstElement* element) {
  NagareAlignPrivate& p = priv(element);
  const Config config = settings_of(p).config();
  bool changed = false;
  {
    std::lock_guard lock(p.lock);
    const std::int64_t before = p.aligner.max_hold();
    p.aligner.configure(config);
    changed = before != p.aligner.max_hold();
  }
  if (changed) gst_element_post_message(element, gst_message_new_latency(GST_OBJECT(element)));
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  NagareAlignPrivate& p = priv(object);
  {
    std::lock_guard lock(p.settings_lock);
    switch (id) {
      case PROP_LATENCY: p.settings.latency_ms = g_value_get_uint(value); break;
      case PROP_LATENCY_MODE: p.settings.mode = static_cast<LatencyMode>(g_value_get_enum(value)); break;
      case PROP_MIN_LATENCY: p.settings.min_latency_ms = g_value_get_uint(value); break;
      case PROP_MAX_LATENCY: p.settings.max_latency_ms = g_value_get_uint(value); break;
      case PROP_MAX_JUMP: p.settings.max_jump_ms = g_value_get_uint(value); break;
      default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); return;
    }
  }
  apply_settings(GST_ELEMENT(object));
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  NagareAlignPrivate& p = priv(object);
  if (id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(p));
    return;
  }
  std::lock_guard lock(p.settings_lock);
  switch (id) {
    case PROP_LATENCY: g_value_set_uint(value, p.settings.latency_ms); break;
    case PROP_LATENCY_MODE: g_value_set_enum(value, static_cast<gint>(p.settings.mode)); break;
    case PROP_MIN_LATENCY: g_value_set_uint(value, p.settings.min_latency_ms); break;
    case PROP_MAX_LATENCY: g_value_set_uint(value, p.settings.max_latency_ms); break;
    case PROP_MAX_JUMP: g_value_set_uint(value, p.settings.max_jump_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

// A fresh timeline for a new run, with the current settings; the lanes keep
// their pads and their caps.
void start(NagareAlignPrivate& p) {
  const Config config = settings_of(p).config();
  std::lock_guard lock(p.lock);
  for (const auto& lane : p.lanes) reset_lane_locked(p, *lane);
  p.aligner = Aligner(config);
  for (const auto& lane : p.lanes) {
    lane->id = p.aligner.add_stream(lane->media, lane->clock_rate);
    lane->malformed = 0;
    lane->last_arrival = 0;
  }
}

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) {
  NagareAlignPrivate& p = priv(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) start(p);
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(nagare_align_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_PLAYING || transition == GST_STATE_CHANGE_PLAYING_TO_PAUSED) {
    // Waits were made against another base time, or without a clock.
    std::lock_guard lock(p.lock);
    for (const auto& lane : p.lanes) wake_lane(p, *lane, true);
  }
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    std::lock_guard lock(p.lock);
    for (const auto& lane : p.lanes) reset_lane_locked(p, *lane);
  }
  return ret;
}

void finalize(GObject* object) {
  priv(object).~NagareAlignPrivate();
  G_OBJECT_CLASS(nagare_align_parent_class)->finalize(object);
}

}  // namespace

static void nagare_align_class_init(NagareAlignClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;
  element_class->request_new_pad = request_new_pad;
  element_class->release_pad = release_pad;

  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING);
  g_object_class_install_property(
      gobject_class, PROP_LATENCY,
      g_param_spec_uint("latency", "Latency",
                        "How long a packet that arrived by the fastest path is held, in milliseconds: one that "
                        "came 100 ms later is held 100 ms less, one later than the latency leaves at once. "
                        "In adaptive mode, the starting point",
                        0, 60000, kDefaultLatency, rw));
  g_object_class_install_property(
      gobject_class, PROP_LATENCY_MODE,
      g_param_spec_enum("latency-mode", "Latency mode",
                        "fixed: hold for `latency`; adaptive: size the latency from the arrival jitter of the "
                        "last ~10 s (worst lateness plus a quarter, at least 20 ms more), within min-latency "
                        "and max-latency, rising at most 100 ms and falling at most 20 ms per second",
                        NAGARE_TYPE_ALIGN_LATENCY_MODE, static_cast<gint>(LatencyMode::fixed), rw));
  g_object_class_install_property(
      gobject_class, PROP_MIN_LATENCY,
      g_param_spec_uint("min-latency", "Minimum latency", "Adaptive mode's lower bound, in milliseconds", 0, 60000,
                        kDefaultMinLatency, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_LATENCY,
      g_param_spec_uint("max-latency", "Maximum latency",
                        "Adaptive mode's upper bound, in milliseconds; also the latency the element reports "
                        "in adaptive mode",
                        0, 60000, kDefaultMaxLatency, rw));
  g_object_class_install_property(
      gobject_class, PROP_MAX_JUMP,
      g_param_spec_uint("max-jump", "Maximum jump",
                        "A change of transit time (arrival minus RTP time) beyond this many milliseconds, "
                        "confirmed by the next packet, starts the stream's timeline over: a DISCONT buffer",
                        1, 3600000, kDefaultMaxJump, rw));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "latency (guint64 ns) and, per stream, a structure named after its sink pad: media, "
                         "master (the audio stream others follow), clock-rate, packets, lost, late (arrived "
                         "after their due time), dropped (too late to leave), duplicates, reordered, rejected "
                         "(strays), restarts, malformed (all guint64), jitter and latency (guint64 ns), "
                         "av-offset (gint64 ns: the shift from the stream's own arrival placement), drift-ppm "
                         "(double: its clock against the master's; the master's against ours)",
                         GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "A/V aligner and latency buffer (nagare)", "Filter/Network/RTP",
      "Puts RTP streams on one timeline without RTCP (audio exactly as its RTP clock says, video "
      "placed and slewed to follow it) and releases each packet at its arrival base + media time + latency",
      "nagare developers");
  gst_type_mark_as_plugin_api(NAGARE_TYPE_ALIGN_LATENCY_MODE, static_cast<GstPluginAPIFlags>(0));
}

static void nagare_align_init(NagareAlign* self) { new (nagare_align_get_instance_private(self)) NagareAlignPrivate(); }
