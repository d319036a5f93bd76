// The GObject shell of nagareh264depay. It maps buffers, events and
// properties onto the Assembler; all depayloading logic lives there.
//
// Example:
//   gst-launch-1.0 udpsrc port=5000
//       caps="application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96"
//     ! rtpjitterbuffer ! nagareh264depay ! h264parse ! avdec_h264 ! autovideosink
#include "element.hpp"

#include <gst/pbutils/pbutils.h>
#include <gst/video/video.h>

#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "../common/gst_ptr.hpp"
#include "assembler.hpp"
#include "keyframe_limiter.hpp"

GST_DEBUG_CATEGORY_STATIC(nagare_h264_depay_debug);
#define GST_CAT_DEFAULT nagare_h264_depay_debug

namespace {

using namespace nagare;
using namespace nagare::h264;

constexpr gboolean kDefaultRequestKeyframe = TRUE;
constexpr gboolean kDefaultWaitForKeyframe = TRUE;
constexpr guint kDefaultKeyframeRequestInterval = 500;  // ms

enum {
  PROP_0,
  PROP_REQUEST_KEYFRAME,
  PROP_WAIT_FOR_KEYFRAME,
  PROP_KEYFRAME_REQUEST_INTERVAL,
  PROP_STATS,
};

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS,
                            GST_STATIC_CAPS("application/x-rtp, media = (string) video, clock-rate = (int) 90000, "
                                            "encoding-name = (string) H264"));

GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS,
    GST_STATIC_CAPS("video/x-h264, stream-format = (string) byte-stream, alignment = (string) au"));

struct Settings {
  bool request_keyframe = kDefaultRequestKeyframe;
  bool wait_for_keyframe = kDefaultWaitForKeyframe;
  guint keyframe_request_interval_ms = kDefaultKeyframeRequestInterval;
};

}  // namespace

// Constructed in place in _init, destroyed in finalize.
struct NagareH264DepayPrivate {
  GstPad* sinkpad = nullptr;
  GstPad* srcpad = nullptr;

  std::mutex settings_lock;
  Settings settings;  // guarded by settings_lock

  // Streaming state: touched only with the sink pad's stream lock held, or
  // in state changes while the pads are inactive.
  Assembler assembler;
  KeyframeLimiter limiter;
  GstSegment segment{};
  GstPtr<GstCaps> src_caps;
  std::uint64_t caps_generation = 0;
  GstClockTime last_running_time = GST_CLOCK_TIME_NONE;
  bool warned_unsupported = false;
  Counter keyframe_requests;

  // "00 00 00 01", shared by every output buffer that borrows a NAL unit.
  GstPtr<GstMemory> start_code =
      GstPtr<GstMemory>::adopt(gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, const_cast<std::uint8_t*>(kStartCode),
                                                      sizeof kStartCode, 0, sizeof kStartCode, nullptr, nullptr));
};

struct _NagareH264Depay {
  GstElement parent;
};

G_DEFINE_TYPE_WITH_PRIVATE(NagareH264Depay, nagare_h264_depay, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(nagareh264depay, "nagareh264depay", GST_RANK_NONE, NAGARE_TYPE_H264_DEPAY,
                                      GST_DEBUG_CATEGORY_INIT(nagare_h264_depay_debug, "nagareh264depay", 0,
                                                              "nagare H.264 RTP depayloader"));

namespace {

NagareH264DepayPrivate& priv(gpointer self) {
  return *static_cast<NagareH264DepayPrivate*>(nagare_h264_depay_get_instance_private(NAGARE_H264_DEPAY(self)));
}

Settings settings_of(NagareH264DepayPrivate& p) {
  std::lock_guard lock(p.settings_lock);
  return p.settings;
}

// --- Output ----------------------------------------------------------------

void release_gst_buffer(void* buffer) { gst_buffer_unref(static_cast<GstBuffer*>(buffer)); }
GstBuffer* packet_buffer(const AccessUnit& au, std::uint32_t i) { return static_cast<GstBuffer*>(au.packets[i].get()); }

// A memory holding `size` bytes at `offset` of `buffer`, shared when they lie
// in one shareable memory, copied otherwise.
GstMemory* borrow(GstBuffer* buffer, std::uint32_t offset, std::uint32_t size) {
  guint index = 0, count = 0;
  gsize skip = 0;
  if (gst_buffer_find_memory(buffer, offset, size, &index, &count, &skip) && count == 1) {
    GstMemory* memory = gst_buffer_peek_memory(buffer, index);
    // gst_memory_share() refuses NO_SHARE memory with a critical; such
    // memory (some pools and allocators hand it out) is copied instead.
    if (!GST_MEMORY_FLAG_IS_SET(memory, GST_MEMORY_FLAG_NO_SHARE)) {
      if (GstMemory* shared = gst_memory_share(memory, static_cast<gssize>(skip), size)) return shared;
    }
  }
  GstMemory* copy = gst_allocator_alloc(nullptr, size, nullptr);
  GstMapInfo info;
  gst_memory_map(copy, &info, GST_MAP_WRITE);
  gst_buffer_extract(buffer, offset, info.data, size);
  gst_memory_unmap(copy, &info);
  return copy;
}

// Hands the access unit's arena to a GstMemory without copying it.
GstMemory* adopt_arena(std::vector<std::uint8_t>&& arena) {
  auto* owned = new std::vector<std::uint8_t>(std::move(arena));
  return gst_memory_new_wrapped(GST_MEMORY_FLAG_READONLY, owned->data(), owned->capacity(), 0, owned->size(), owned,
                                [](gpointer v) { delete static_cast<std::vector<std::uint8_t>*>(v); });
}

// Copies the whole access unit into one memory: for the rare access unit
// with more pieces than a GstBuffer holds memories.
GstBuffer* copy_access_unit(const AccessUnit& au) {
  GstBuffer* out = gst_buffer_new_allocate(nullptr, au.output_size(), nullptr);
  BufferMap out_map(out, GST_MAP_WRITE);
  std::vector<BufferMap> maps;
  maps.reserve(au.packets.size());
  for (std::uint32_t i = 0; i < au.packets.size(); ++i) maps.emplace_back(packet_buffer(au, i), GST_MAP_READ);
  au.write(out_map.writable_bytes().data(), [&](std::uint32_t i) { return maps[i].bytes(); });
  return out;
}

// The access unit as one buffer: borrowed NAL units share the input's memory
// behind a shared start code, the assembler's own bytes are handed over.
GstBuffer* make_output(NagareH264DepayPrivate& p, AccessUnit& au) {
  std::size_t memories = 0;
  for (const Piece& piece : au.pieces) memories += piece.source == Piece::Source::kPacket ? 2 : 1;
  if (memories > gst_buffer_get_max_memory()) return copy_access_unit(au);

  GstBuffer* out = gst_buffer_new();
  const std::size_t arena_size = au.arena.size();
  GstPtr<GstMemory> arena;
  for (const Piece& piece : au.pieces) {
    if (piece.source == Piece::Source::kPacket) {
      gst_buffer_append_memory(out, gst_memory_ref(p.start_code.get()));
      gst_buffer_append_memory(out, borrow(packet_buffer(au, piece.packet), piece.offset, piece.size));
      continue;
    }
    if (!arena) arena = GstPtr<GstMemory>::adopt(adopt_arena(std::move(au.arena)));
    const bool whole = piece.offset == 0 && piece.size == arena_size;
    gst_buffer_append_memory(
        out, whole ? gst_memory_ref(arena.get()) : gst_memory_share(arena.get(), piece.offset, piece.size));
  }
  return out;
}

void update_src_caps(NagareH264DepayPrivate& p) {
  const ParameterSets& sets = p.assembler.parameter_sets();
  if (p.src_caps && p.caps_generation == sets.generation()) return;
  p.caps_generation = sets.generation();

  GstPtr<GstCaps> caps = GstPtr<GstCaps>::adopt(gst_caps_new_simple(
      "video/x-h264", "stream-format", G_TYPE_STRING, "byte-stream", "alignment", G_TYPE_STRING, "au", nullptr));
  const auto sps = sets.latest_sps();
  if (sps.size() >= 4) gst_codec_utils_h264_caps_set_level_and_profile(caps.get(), sps.data() + 1, sps.size() - 1);
  if (p.src_caps && gst_caps_is_equal(p.src_caps.get(), caps.get())) return;

  GST_DEBUG_OBJECT(p.srcpad, "src caps %" GST_PTR_FORMAT, static_cast<gpointer>(caps.get()));
  gst_pad_set_caps(p.srcpad, caps.get());
  p.src_caps = std::move(caps);
}

GstFlowReturn push_ready(NagareH264DepayPrivate& p) {
  GstFlowReturn flow = GST_FLOW_OK;
  for (AccessUnit& au : p.assembler.ready()) {
    update_src_caps(p);
    GstBuffer* out = make_output(p, au);
    GST_BUFFER_PTS(out) = au.pts >= 0 ? static_cast<GstClockTime>(au.pts) : GST_CLOCK_TIME_NONE;
    if (au.discont) GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DISCONT);
    if (!au.keyframe) GST_BUFFER_FLAG_SET(out, GST_BUFFER_FLAG_DELTA_UNIT);
    GST_LOG_OBJECT(p.srcpad, "access unit of %" G_GSIZE_FORMAT " bytes, ts %u%s%s", gst_buffer_get_size(out),
                   au.rtp_timestamp, au.keyframe ? " IDR" : "", au.discont ? " DISCONT" : "");
    flow = gst_pad_push(p.srcpad, out);
    if (flow != GST_FLOW_OK) break;
  }
  p.assembler.release_ready();
  return flow;
}

// --- Input -----------------------------------------------------------------

void handle_result(NagareH264Depay* self, NagareH264DepayPrivate& p, const PushResult& result) {
  if (result.unsupported && !p.warned_unsupported) {
    p.warned_unsupported = true;
    GST_ELEMENT_WARNING(self, STREAM, DECODE, ("Unsupported H.264 RTP payload"),
                        ("STAP-B, MTAP and FU-B (interleaved mode, RFC 6184 §6.3) are not supported; "
                         "such packets are counted and dropped"));
  }
  if (result.malformation != Malformation::kNone)
    GST_DEBUG_OBJECT(self, "malformed packet dropped (reason %d)", static_cast<int>(result.malformation));
  if (!result.request_keyframe) return;

  const Settings settings = settings_of(p);
  if (!settings.request_keyframe) return;
  // Media time when there is one, so the limit behaves the same however fast
  // the stream is fed; the monotonic clock otherwise.
  const std::int64_t now = GST_CLOCK_TIME_IS_VALID(p.last_running_time) ? static_cast<std::int64_t>(p.last_running_time)
                                                                        : g_get_monotonic_time() * 1000;
  p.limiter.set_interval(std::int64_t{settings.keyframe_request_interval_ms} * GST_MSECOND);
  if (!p.limiter.allow(now)) return;

  p.keyframe_requests.add();
  GST_DEBUG_OBJECT(self, "requesting a key frame upstream");
  gst_pad_push_event(p.sinkpad, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

// Advances the clock the key-frame limiter reads. Only running times within
// a TIME segment count; a time outside it keeps the last one, so the limiter
// never compares running time with the monotonic clock within one stream.
void note_time(NagareH264DepayPrivate& p, GstClockTime pts) {
  if (!GST_CLOCK_TIME_IS_VALID(pts) || p.segment.format != GST_FORMAT_TIME) return;
  const GstClockTime running = gst_segment_to_running_time(&p.segment, GST_FORMAT_TIME, pts);
  if (GST_CLOCK_TIME_IS_VALID(running)) p.last_running_time = running;
}

GstFlowReturn chain(GstPad*, GstObject* parent, GstBuffer* buffer) {
  auto* self = NAGARE_H264_DEPAY(parent);
  NagareH264DepayPrivate& p = priv(self);
  const auto input = GstPtr<GstBuffer>::adopt(buffer);

  const GstClockTime pts = GST_BUFFER_PTS(buffer);
  note_time(p, pts);

  PushResult result;
  {
    BufferMap map(buffer, GST_MAP_READ);
    if (!map) {
      GST_ELEMENT_ERROR(self, RESOURCE, READ, ("Could not map an input buffer"), (nullptr));
      return GST_FLOW_ERROR;
    }
    const RtpParse parsed = parse_rtp(map.bytes());
    if (!parsed.packet) {
      p.assembler.count_malformed_header();
      GST_DEBUG_OBJECT(self, "refused RTP header (reason %d)", static_cast<int>(parsed.error));
      return GST_FLOW_OK;
    }
    PacketRef ref(gst_buffer_ref(buffer), release_gst_buffer);
    result = p.assembler.push(*parsed.packet, map.bytes(), std::move(ref),
                              GST_CLOCK_TIME_IS_VALID(pts) ? static_cast<std::int64_t>(pts) : -1);
  }
  handle_result(self, p, result);
  return push_ready(p);
}

// sprop-parameter-sets (RFC 6184 §8.1): base64 NAL units separated by commas.
void take_sprop_parameter_sets(NagareH264Depay* self, NagareH264DepayPrivate& p, const gchar* sprop) {
  GStrv sets = g_strsplit(sprop, ",", -1);
  for (GStrv s = sets; *s; ++s) {
    gsize size = 0;
    std::unique_ptr<guchar, GFreeDeleter> nal(g_base64_decode(*s, &size));
    if (!p.assembler.add_parameter_set(std::span<const std::uint8_t>(nal.get(), size)))
      GST_WARNING_OBJECT(self, "ignoring sprop-parameter-sets entry '%s': not an SPS or PPS", *s);
  }
  g_strfreev(sets);
}

gboolean sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  auto* self = NAGARE_H264_DEPAY(parent);
  NagareH264DepayPrivate& p = priv(self);

  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      const GstStructure* s = gst_caps_get_structure(caps, 0);
      if (const gchar* sprop = gst_structure_get_string(s, "sprop-parameter-sets"))
        take_sprop_parameter_sets(self, p, sprop);
      gst_event_unref(event);
      // Output caps go out now, before the segment, and are refined when
      // the stream's own SPS arrives. Upstream caps that change no parameter
      // set (a renegotiation, the same sprop again) send nothing new.
      update_src_caps(p);
      return TRUE;
    }
    case GST_EVENT_SEGMENT: gst_event_copy_segment(event, &p.segment); break;
    case GST_EVENT_FLUSH_STOP:
      p.assembler.reset();
      p.limiter.reset();
      gst_segment_init(&p.segment, GST_FORMAT_TIME);
      p.last_running_time = GST_CLOCK_TIME_NONE;
      break;
    case GST_EVENT_EOS:
      p.assembler.drain();
      push_ready(p);
      break;
    case GST_EVENT_CUSTOM_DOWNSTREAM:
      // rtpjitterbuffer's (and nagarealign's) notice of a packet that will
      // never come: the access unit it belonged to is lost.
      if (gst_event_has_name(event, "GstRTPPacketLost")) {
        const GstStructure* s = gst_event_get_structure(event);
        guint seqnum = 0;
        std::optional<std::uint16_t> sequence;
        if (gst_structure_get_uint(s, "seqnum", &seqnum)) sequence = static_cast<std::uint16_t>(seqnum);
        // The lost packet's expected time keeps the limiter's clock moving
        // through an outage, so requests repeat while nothing arrives.
        guint64 timestamp = GST_CLOCK_TIME_NONE;
        if (gst_structure_get_uint64(s, "timestamp", &timestamp)) note_time(p, timestamp);
        GST_DEBUG_OBJECT(self, "packet lost: %" GST_PTR_FORMAT, static_cast<gconstpointer>(s));
        handle_result(self, p, p.assembler.packet_lost(sequence));
        gst_event_unref(event);
        return TRUE;
      }
      break;
    default: break;
  }
  return gst_pad_event_default(pad, parent, event);
}

// --- GObject ---------------------------------------------------------------

GstStructure* make_stats(NagareH264DepayPrivate& p) {
  const AssemblerStats s = p.assembler.stats();
  return gst_structure_new("application/x-nagare-h264depay-stats", "packets", G_TYPE_UINT64, s.packets, "access-units",
                           G_TYPE_UINT64, s.access_units, "dropped", G_TYPE_UINT64, s.dropped, "lost", G_TYPE_UINT64,
                           s.lost, "late", G_TYPE_UINT64, s.late, "malformed", G_TYPE_UINT64, s.malformed,
                           "unsupported", G_TYPE_UINT64, s.unsupported, "padding", G_TYPE_UINT64, s.padding, "restarts",
                           G_TYPE_UINT64, s.restarts, "keyframe-requests", G_TYPE_UINT64, p.keyframe_requests.get(),
                           nullptr);
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  NagareH264DepayPrivate& p = priv(object);
  std::lock_guard lock(p.settings_lock);
  switch (id) {
    case PROP_REQUEST_KEYFRAME: p.settings.request_keyframe = g_value_get_boolean(value); break;
    case PROP_WAIT_FOR_KEYFRAME: p.settings.wait_for_keyframe = g_value_get_boolean(value); break;
    case PROP_KEYFRAME_REQUEST_INTERVAL: p.settings.keyframe_request_interval_ms = g_value_get_uint(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  NagareH264DepayPrivate& p = priv(object);
  if (id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(p));
    return;
  }
  std::lock_guard lock(p.settings_lock);
  switch (id) {
    case PROP_REQUEST_KEYFRAME: g_value_set_boolean(value, p.settings.request_keyframe); break;
    case PROP_WAIT_FOR_KEYFRAME: g_value_set_boolean(value, p.settings.wait_for_keyframe); break;
    case PROP_KEYFRAME_REQUEST_INTERVAL: g_value_set_uint(value, p.settings.keyframe_request_interval_ms); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

// Fresh streaming state for a new run; settings are copied here.
void start(NagareH264DepayPrivate& p) {
  p.assembler.set_settings(AssemblerSettings{settings_of(p).wait_for_keyframe});
  p.assembler.clear_parameter_sets();
  p.assembler.reset();
  p.assembler.reset_stats();
  p.keyframe_requests.reset();
  p.limiter.reset();
  gst_segment_init(&p.segment, GST_FORMAT_TIME);
  p.last_running_time = GST_CLOCK_TIME_NONE;
  p.src_caps.reset();
  p.warned_unsupported = false;
}

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) {
  NagareH264DepayPrivate& p = priv(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) start(p);
  const GstStateChangeReturn ret = GST_ELEMENT_CLASS(nagare_h264_depay_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) {
    p.assembler.reset();
    p.src_caps.reset();
  }
  return ret;
}

void finalize(GObject* object) {
  priv(object).~NagareH264DepayPrivate();
  G_OBJECT_CLASS(nagare_h264_depay_parent_class)->finalize(object);
}

}  // namespace

static void nagare_h264_depay_class_init(NagareH264DepayClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;

  g_object_class_install_property(
      gobject_class, PROP_REQUEST_KEYFRAME,
      g_param_spec_boolean(
          "request-keyframe", "Request keyframe",
          "Send an upstream force-key-unit event (all-headers) when packets are lost or the "
          "stream cannot be decoded; webrtcbin and rtpbin turn it into an RTCP PLI",
          kDefaultRequestKeyframe,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_WAIT_FOR_KEYFRAME,
      g_param_spec_boolean(
          "wait-for-keyframe", "Wait for keyframe",
          "Output nothing at the start and after a loss until an access unit with an IDR slice",
          kDefaultWaitForKeyframe,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property(
      gobject_class, PROP_KEYFRAME_REQUEST_INTERVAL,
      g_param_spec_uint(
          "keyframe-request-interval", "Keyframe request interval",
          "Least time between two key-frame requests, in milliseconds of running time "
          "(0 = no limit)",
          0, G_MAXUINT, kDefaultKeyframeRequestInterval,
          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "Counters since the element started (all guint64): packets, access-units, dropped "
                         "(access units not output), lost (sequence numbers never seen), late (behind the "
                         "stream: reordered or duplicate), malformed, unsupported (STAP-B/MTAP/FU-B), padding "
                         "(padding-only packets), restarts (SSRC changes, sequence jumps), keyframe-requests",
                         GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "H.264 RTP depayloader (nagare)", "Codec/Depayloader/Network/RTP",
      "Extracts H.264 access units from RTP packets (RFC 6184: single NAL unit, STAP-A, FU-A), "
      "with loss handling and key-frame requests",
      "nagare developers");
}

static void nagare_h264_depay_init(NagareH264Depay* self) {
  auto* p = new (nagare_h264_depay_get_instance_private(self)) NagareH264DepayPrivate();

  p->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_chain_function(p->sinkpad, chain);
  gst_pad_set_event_function(p->sinkpad, sink_event);
  gst_element_add_pad(GST_ELEMENT(self), p->sinkpad);

  p->srcpad = gst_pad_new_from_static_template(&src_template, "src");
  gst_pad_use_fixed_caps(p->srcpad);
  gst_element_add_pad(GST_ELEMENT(self), p->srcpad);
  gst_segment_init(&p->segment, GST_FORMAT_TIME);
}
