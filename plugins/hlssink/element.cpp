// The GObject shell of nagarehlssink: a bin of
//
//   video ─┐
//          ├─ mpegtsmux ─ writer (a GstBaseSink of ours) ─ Segmenter ─ HlsWriter ─ files
//   audio ─┘
//
// Probes on the two request pads watch the frames go by and send upstream
// force-key-unit events when the KeyframeScheduler says so; the writer
// feeds the muxer's transport stream to the Segmenter and hands finished
// segments to the HlsWriter. All cutting and playlist logic lives there.
//
// Example:
//   gst-launch-1.0 -e nagarehlssink name=hls target-duration=2
//       location=/srv/hls/segment%05d.ts playlist-location=/srv/hls/index.m3u8
//     videotestsrc is-live=true ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1
//     ! x264enc tune=zerolatency ! h264parse ! hls.video
//     audiotestsrc is-live=true ! audio/x-raw,rate=48000,channels=2 ! lamemp3enc ! mpegaudioparse ! hls.audio
#include "element.hpp"

#include <gst/base/gstbasesink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "../common/counter.hpp"
#include "../common/gst_ptr.hpp"
#include "hls_writer.hpp"
#include "io.hpp"
#include "keyframe_scheduler.hpp"
#include "segmenter.hpp"

GST_DEBUG_CATEGORY_STATIC(nagare_hls_sink_debug);
#define GST_CAT_DEFAULT nagare_hls_sink_debug

namespace {

using namespace nagare;
using namespace nagare::hls;

constexpr const char* kDefaultLocation = "segment%05d.ts";
constexpr const char* kDefaultPlaylistLocation = "playlist.m3u8";
constexpr double kDefaultTargetDuration = 2.0;  // s
constexpr guint kDefaultPlaylistLength = 5;
constexpr guint kDefaultMaxFiles = 10;
constexpr gboolean kDefaultProgramDateTime = TRUE;
constexpr gboolean kDefaultSendKeyframeRequests = TRUE;
// start-time-offset's "unset": no EXT-X-START. Any real offset is within a day.
constexpr double kStartOffsetUnset = -G_MAXDOUBLE;
constexpr double kMaxStartOffset = 86400.0;  // s
constexpr const char* kKeyMessage = "nagare-hls-key";
// Requests go out this far ahead of the frames reaching the sink, beyond
// any encoder's delay (x264's default lookahead is 40 frames).
constexpr GstClockTime kRequestLookahead = 3 * GST_SECOND;

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_PLAYLIST_LOCATION,
  PROP_PLAYLIST_ROOT,
  PROP_TARGET_DURATION,
  PROP_PLAYLIST_LENGTH,
  PROP_MAX_FILES,
  PROP_PROGRAM_DATE_TIME,
  PROP_SEND_KEYFRAME_REQUESTS,
  PROP_START_TIME_OFFSET,
  PROP_KEY_URI,
  PROP_KEY_ROTATION,
  PROP_KEY_LOCATION,
  PROP_ARCHIVE_PLAYLIST_LOCATION,
  PROP_STATS,
};

GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS("video/x-h264, stream-format = (string) byte-stream, alignment = (string) au"));

GstStaticPadTemplate audio_template =
    GST_STATIC_PAD_TEMPLATE("audio", GST_PAD_SINK, GST_PAD_REQUEST,
                            GST_STATIC_CAPS("audio/mpeg, mpegversion = (int) 1, layer = (int) 3; "
                                            "audio/mpeg, mpegversion = (int) 4, stream-format = (string) adts"));

struct Settings {
  std::string location = kDefaultLocation;
  std::string playlist_location = kDefaultPlaylistLocation;
  std::string playlist_root;
  double target_duration = kDefaultTargetDuration;
  guint playlist_length = kDefaultPlaylistLength;
  guint max_files = kDefaultMaxFiles;
  bool program_date_time = kDefaultProgramDateTime;
  bool send_keyframe_requests = kDefaultSendKeyframeRequests;
  double start_time_offset = kStartOffsetUnset;
  std::string key_uri;  // empty: no encryption
  guint key_rotation = 0;
  std::string key_location;
  std::string archive_playlist_location;
};

// What one request pad's probe knows; touched only by that pad's
// streaming thread.
struct InputTrack {
  GstSegment segment{};
  GstClockTime frame_duration = GST_CLOCK_TIME_NONE;  // from the caps
  GstClockTime last_time = GST_CLOCK_TIME_NONE;
  void reset() {
    gst_segment_init(&segment, GST_FORMAT_TIME);
    frame_duration = GST_CLOCK_TIME_NONE;
    last_time = GST_CLOCK_TIME_NONE;
  }
};

struct StatsSnapshot {
  WriterStats writer;
  SegmenterStats segmenter;
};

}  // namespace

struct NagareHlsSinkPrivate {
  GstElement* mux = nullptr;     // owned by the bin
  GstElement* writer = nullptr;  // owned by the bin
  GstPad* video_pad = nullptr;   // request pads, owned by the element
  GstPad* audio_pad = nullptr;

  std::mutex settings_lock;
  Settings settings;  // guarded by settings_lock

  // The muxer's streaming thread's: made in READY→PAUSED.
  FileIo io;
  std::optional<Segmenter> segmenter;
  std::optional<HlsWriter> hls;
  // A write failed and was reported: nothing more is written this run, not
  // even at EOS (an application may send EOS after the error).
  bool write_failed = false;

  // Between that thread and the request pads' threads.
  std::mutex plan_lock;
  PlanState plan;
  std::optional<GstClockTime> first_video_time;
  std::optional<KeyframeScheduler> scheduler;  // none when requests are off
  StatsSnapshot stats;

  InputTrack video;
  InputTrack audio;
  Counter keyframe_requests;
};

struct _NagareHlsSink {
  GstBin parent;
};

G_DEFINE_TYPE_WITH_PRIVATE(NagareHlsSink, nagare_hls_sink, GST_TYPE_BIN)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(nagarehlssink, "nagarehlssink", GST_RANK_NONE, NAGARE_TYPE_HLS_SINK,
                                      GST_DEBUG_CATEGORY_INIT(nagare_hls_sink_debug, "nagarehlssink", 0,
                                                              "nagare HLS sink"));

// --- The writer: a sink of ours at the muxer's output -----------------------

G_DECLARE_FINAL_TYPE(NagareHlsWriter, nagare_hls_writer, NAGARE, HLS_WRITER, GstBaseSink)

struct _NagareHlsWriter {
  GstBaseSink parent;
  NagareHlsSink* bin;  // not a reference: the bin owns this element
};

G_DEFINE_TYPE(NagareHlsWriter, nagare_hls_writer, GST_TYPE_BASE_SINK)

namespace {

NagareHlsSinkPrivate& priv(gpointer self) {
  return *static_cast<NagareHlsSinkPrivate*>(nagare_hls_sink_get_instance_private(NAGARE_HLS_SINK(self)));
}

Settings settings_of(NagareHlsSinkPrivate& p) {
  std::lock_guard lock(p.settings_lock);
  return p.settings;
}

std::int64_t wall_clock_ns() { return g_get_real_time() * 1000; }

// Each new encryption key, as an element message an application hands to
// its key server. The writer makes every key a rotation period (or the
// whole run) before its first segment, so the message is that far ahead.
void post_new_keys(GstElement* element, NagareHlsSinkPrivate& p) {
  const std::vector<SegmentKey> keys = p.hls->take_new_keys();
  if (keys.empty()) return;
  const std::string playlist = settings_of(p).playlist_location;
  for (const SegmentKey& key : keys) {
    GstStructure* s = gst_structure_new(
        kKeyMessage, "key-id", G_TYPE_STRING, key.id.c_str(), "key", G_TYPE_STRING, key.key_hex().c_str(), "iv",
        G_TYPE_STRING, key.iv_hex().c_str(), "uri", G_TYPE_STRING, key.uri.c_str(), "first-segment", G_TYPE_UINT64,
        static_cast<guint64>(key.first_segment), "playlist-location", G_TYPE_STRING, playlist.c_str(), nullptr);
    gst_element_post_message(element, gst_message_new_element(GST_OBJECT(element), s));
  }
}

// Writes what the segmenter finished and tells the request pads where the
// plan stands. An IO error stops the stream with an error naming the path.
GstFlowReturn publish(NagareHlsWriter* writer, std::vector<Segment>& done, bool eos) {
  NagareHlsSinkPrivate& p = priv(writer->bin);
  if (p.write_failed) return GST_FLOW_ERROR;
  GstFlowReturn ret = GST_FLOW_OK;
  for (const Segment& segment : done) {
    if (auto error = p.hls->add(segment)) {
      GST_ELEMENT_ERROR(writer->bin, RESOURCE, WRITE, ("Could not write %s", error->path.c_str()),
                        ("%s", error->what().c_str()));
      ret = GST_FLOW_ERROR;
      break;
    }
    GST_DEBUG_OBJECT(writer->bin, "segment %" G_GUINT64_FORMAT ": %" GST_STIME_FORMAT "%s", p.hls->stats().segments,
                     GST_STIME_ARGS(segment.duration), segment.discontinuity ? " (discontinuity)" : "");
  }
  if (ret == GST_FLOW_OK && eos) {
    if (auto error = p.hls->end()) {
      GST_ELEMENT_ERROR(writer->bin, RESOURCE, WRITE, ("Could not write %s", error->path.c_str()),
                        ("%s", error->what().c_str()));
      ret = GST_FLOW_ERROR;
    }
  }
  if (ret != GST_FLOW_OK) p.write_failed = true;
  post_new_keys(GST_ELEMENT(writer->bin), p);
  std::lock_guard lock(p.plan_lock);
  p.plan = p.segmenter->plan();
  p.stats = StatsSnapshot{p.hls->stats(), p.segmenter->stats()};
  return ret;
}

GstFlowReturn writer_render(GstBaseSink* sink, GstBuffer* buffer) {
  auto* writer = NAGARE_HLS_WRITER(sink);
  NagareHlsSinkPrivate& p = priv(writer->bin);
  const BufferMap map(buffer, GST_MAP_READ);
  if (!map) {
    GST_ELEMENT_ERROR(writer->bin, RESOURCE, READ, ("Could not map a buffer from the muxer"), (nullptr));
    return GST_FLOW_ERROR;
  }
  std::vector<Segment> done;
  p.segmenter->push(map.bytes(), done);
  return publish(writer, done, false);
}

gboolean writer_event(GstBaseSink* sink, GstEvent* event) {
  auto* writer = NAGARE_HLS_WRITER(sink);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
    NagareHlsSinkPrivate& p = priv(writer->bin);
    std::vector<Segment> done;
    p.segmenter->finish(done);
    publish(writer, done, true);
  }
  return GST_BASE_SINK_CLASS(nagare_hls_writer_parent_class)->event(sink, event);
}

}  // namespace

static void nagare_hls_writer_class_init(NagareHlsWriterClass* klass) {
  auto* base_sink_class = GST_BASE_SINK_CLASS(klass);
  base_sink_class->render = writer_render;
  base_sink_class->event = writer_event;
  static GstStaticPadTemplate sink_template =
      GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/mpegts"));
  gst_element_class_add_static_pad_template(GST_ELEMENT_CLASS(klass), &sink_template);
  gst_element_class_set_static_metadata(GST_ELEMENT_CLASS(klass), "nagarehlssink's segment writer", "Sink",
                                        "Cuts an MPEG-TS stream into HLS segments (inside nagarehlssink)",
                                        "nagare developers");
}

static void nagare_hls_writer_init(NagareHlsWriter* self) {
  // Files are written as the muxer produces them, never against a clock,
  // and the bin must not wait for a preroll a silent input would never give.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
  gst_base_sink_set_async_enabled(GST_BASE_SINK(self), FALSE);
  gst_base_sink_set_last_sample_enabled(GST_BASE_SINK(self), FALSE);
}

// --- Request pads and their probes ------------------------------------------

namespace {

// One MP3 (MPEG-1 Layer III) or AAC frame, from the caps; or a video frame.
GstClockTime frame_duration_from_caps(GstCaps* caps) {
  const GstStructure* s = gst_caps_get_structure(caps, 0);
  gint num = 0, den = 0, rate = 0, mpegversion = 0;
  if (gst_structure_get_fraction(s, "framerate", &num, &den) && num > 0 && den > 0) {
    return gst_util_uint64_scale_int(GST_SECOND, den, num);
  }
  if (gst_structure_get_int(s, "rate", &rate) && rate > 0 && gst_structure_get_int(s, "mpegversion", &mpegversion)) {
    // MPEG-2/2.5 Layer III (rates below 32 kHz) has half-size frames.
    const gint samples = mpegversion == 4 ? 1024 : (rate < 32000 ? 576 : 1152);
    return gst_util_uint64_scale_int(GST_SECOND, samples, rate);
  }
  return GST_CLOCK_TIME_NONE;
}

// Running time and duration of a buffer on one input.
std::optional<std::pair<GstClockTime, GstClockTime>> timing(InputTrack& track, GstBuffer* buffer) {
  const GstClockTime running_time =
      gst_segment_to_running_time(&track.segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (!GST_CLOCK_TIME_IS_VALID(running_time)) return std::nullopt;
  GstClockTime duration = GST_BUFFER_DURATION(buffer);
  if (!GST_CLOCK_TIME_IS_VALID(duration)) duration = track.frame_duration;
  if (!GST_CLOCK_TIME_IS_VALID(duration) && GST_CLOCK_TIME_IS_VALID(track.last_time) &&
      running_time > track.last_time) {
    duration = running_time - track.last_time;
  }
  track.last_time = running_time;
  return std::pair{running_time, duration};
}

void track_event(InputTrack& track, GstEvent* event) {
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: gst_event_copy_segment(event, &track.segment); break;
    case GST_EVENT_CAPS: {
      GstCaps* caps = nullptr;
      gst_event_parse_caps(event, &caps);
      track.frame_duration = frame_duration_from_caps(caps);
      break;
    }
    case GST_EVENT_FLUSH_STOP:
      gst_segment_init(&track.segment, GST_FORMAT_TIME);
      track.last_time = GST_CLOCK_TIME_NONE;
      break;
    default: break;
  }
}

// The plan on the running-time clock: the segmenter's clock is the muxer's
// PES clock, which runs at a fixed offset from the input's running time.
void update_scheduler(NagareHlsSinkPrivate& p) {
  std::optional<std::int64_t> origin;
  if (p.plan.origin && p.plan.first_video_pts && p.first_video_time) {
    const std::int64_t offset = *p.plan.first_video_pts - static_cast<std::int64_t>(*p.first_video_time);
    origin = *p.plan.origin - offset;
  }
  p.scheduler->set_plan(p.plan.timeline, origin, p.plan.next_index);
}

GstPadProbeReturn video_probe(GstPad* pad, GstPadProbeInfo* info, gpointer element) {
  NagareHlsSinkPrivate& p = priv(element);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    track_event(p.video, GST_PAD_PROBE_INFO_EVENT(info));
    return GST_PAD_PROBE_OK;
  }
  const auto time = timing(p.video, GST_PAD_PROBE_INFO_BUFFER(info));
  if (!time || !GST_CLOCK_TIME_IS_VALID(time->second)) return GST_PAD_PROBE_OK;
  std::vector<std::int64_t> requests;
  {
    std::lock_guard lock(p.plan_lock);
    if (!p.first_video_time) p.first_video_time = time->first;
    if (!p.scheduler) return GST_PAD_PROBE_OK;
    update_scheduler(p);
    requests =
        p.scheduler->video_frame(static_cast<std::int64_t>(time->first), static_cast<std::int64_t>(time->second));
  }
  for (const std::int64_t running_time : requests) {
    if (running_time < 0) continue;
    p.keyframe_requests.add();
    GST_DEBUG_OBJECT(element, "requesting a key frame at %" GST_TIME_FORMAT, GST_TIME_ARGS(running_time));
    gst_pad_push_event(pad, gst_video_event_new_upstream_force_key_unit(static_cast<GstClockTime>(running_time), TRUE,
                                                                        static_cast<guint>(p.keyframe_requests.get())));
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn audio_probe(GstPad*, GstPadProbeInfo* info, gpointer element) {
  NagareHlsSinkPrivate& p = priv(element);
  if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    track_event(p.audio, GST_PAD_PROBE_INFO_EVENT(info));
    return GST_PAD_PROBE_OK;
  }
  const auto time = timing(p.audio, GST_PAD_PROBE_INFO_BUFFER(info));
  if (!time) return GST_PAD_PROBE_OK;
  std::lock_guard lock(p.plan_lock);
  if (p.scheduler && GST_CLOCK_TIME_IS_VALID(time->second)) {
    p.scheduler->audio_frame(static_cast<std::int64_t>(time->first), static_cast<std::int64_t>(time->second));
  }
  return GST_PAD_PROBE_OK;
}

GstPad* request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar*, const GstCaps*) {
  NagareHlsSinkPrivate& p = priv(element);
  if (!p.mux) return nullptr;
  const bool video = g_str_equal(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "video");
  GstPad*& slot = video ? p.video_pad : p.audio_pad;
  if (slot) {
    GST_WARNING_OBJECT(element, "there is already a %s pad", video ? "video" : "audio");
    return nullptr;
  }
  const auto target = GstPtr<GstPad>::adopt(gst_element_request_pad_simple(p.mux, "sink_%d"));
  if (!target) {
    GST_ERROR_OBJECT(element, "mpegtsmux refused a pad");
    return nullptr;
  }
  GstPad* pad = gst_ghost_pad_new_from_template(video ? "video" : "audio", target.get(), templ);
  gst_pad_add_probe(pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                    video ? video_probe : audio_probe, element, nullptr);
  if (GST_STATE(element) > GST_STATE_READY) gst_pad_set_active(pad, TRUE);
  gst_element_add_pad(element, pad);
  slot = pad;
  return pad;
}

void release_pad(GstElement* element, GstPad* pad) {
  NagareHlsSinkPrivate& p = priv(element);
  if (pad == p.video_pad) p.video_pad = nullptr;
  if (pad == p.audio_pad) p.audio_pad = nullptr;
  if (auto target = GstPtr<GstPad>::adopt(gst_ghost_pad_get_target(GST_GHOST_PAD(pad)))) {
    gst_element_release_request_pad(p.mux, target.get());
  }
  gst_element_remove_pad(element, pad);
}

// --- GObject ----------------------------------------------------------------

GstStructure* make_stats(NagareHlsSinkPrivate& p) {
  std::lock_guard lock(p.plan_lock);
  const WriterStats& w = p.stats.writer;
  const SegmenterStats& s = p.stats.segmenter;
  const double mean = w.segments ? static_cast<double>(w.total_duration) / static_cast<double>(w.segments) / 1e9 : 0.0;
  return gst_structure_new("application/x-nagare-hlssink-stats", "segments", G_TYPE_UINT64, w.segments, "last-extinf",
                           G_TYPE_DOUBLE, static_cast<double>(w.last_duration) / 1e9, "mean-extinf", G_TYPE_DOUBLE,
                           mean, "drift", G_TYPE_DOUBLE, static_cast<double>(w.drift) / 1e9, "discontinuities",
                           G_TYPE_UINT64, s.discontinuities, "dropped", G_TYPE_UINT64, s.dropped, "malformed",
                           G_TYPE_UINT64, s.malformed, "keyframe-requests", G_TYPE_UINT64, p.keyframe_requests.get(),
                           nullptr);
}

void set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  NagareHlsSinkPrivate& p = priv(object);
  std::lock_guard lock(p.settings_lock);
  Settings& s = p.settings;
  switch (id) {
    case PROP_LOCATION: s.location = g_value_get_string(value) ? g_value_get_string(value) : kDefaultLocation; break;
    case PROP_PLAYLIST_LOCATION:
      s.playlist_location = g_value_get_string(value) ? g_value_get_string(value) : kDefaultPlaylistLocation;
      break;
    case PROP_PLAYLIST_ROOT: s.playlist_root = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_TARGET_DURATION: s.target_duration = g_value_get_double(value); break;
    case PROP_PLAYLIST_LENGTH: s.playlist_length = g_value_get_uint(value); break;
    case PROP_MAX_FILES: s.max_files = g_value_get_uint(value); break;
    case PROP_PROGRAM_DATE_TIME: s.program_date_time = g_value_get_boolean(value); break;
    case PROP_SEND_KEYFRAME_REQUESTS: s.send_keyframe_requests = g_value_get_boolean(value); break;
    case PROP_START_TIME_OFFSET: s.start_time_offset = g_value_get_double(value); break;
    case PROP_KEY_URI: s.key_uri = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_KEY_ROTATION: s.key_rotation = g_value_get_uint(value); break;
    case PROP_KEY_LOCATION: s.key_location = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_ARCHIVE_PLAYLIST_LOCATION:
      s.archive_playlist_location = g_value_get_string(value) ? g_value_get_string(value) : "";
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

void get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  NagareHlsSinkPrivate& p = priv(object);
  if (id == PROP_STATS) {
    g_value_take_boxed(value, make_stats(p));
    return;
  }
  std::lock_guard lock(p.settings_lock);
  const Settings& s = p.settings;
  switch (id) {
    case PROP_LOCATION: g_value_set_string(value, s.location.c_str()); break;
    case PROP_PLAYLIST_LOCATION: g_value_set_string(value, s.playlist_location.c_str()); break;
    case PROP_PLAYLIST_ROOT:
      g_value_set_string(value, s.playlist_root.empty() ? nullptr : s.playlist_root.c_str());
      break;
    case PROP_TARGET_DURATION: g_value_set_double(value, s.target_duration); break;
    case PROP_PLAYLIST_LENGTH: g_value_set_uint(value, s.playlist_length); break;
    case PROP_MAX_FILES: g_value_set_uint(value, s.max_files); break;
    case PROP_PROGRAM_DATE_TIME: g_value_set_boolean(value, s.program_date_time); break;
    case PROP_SEND_KEYFRAME_REQUESTS: g_value_set_boolean(value, s.send_keyframe_requests); break;
    case PROP_START_TIME_OFFSET: g_value_set_double(value, s.start_time_offset); break;
    case PROP_KEY_URI: g_value_set_string(value, s.key_uri.empty() ? nullptr : s.key_uri.c_str()); break;
    case PROP_KEY_ROTATION: g_value_set_uint(value, s.key_rotation); break;
    case PROP_KEY_LOCATION: g_value_set_string(value, s.key_location.empty() ? nullptr : s.key_location.c_str()); break;
    case PROP_ARCHIVE_PLAYLIST_LOCATION:
      g_value_set_string(value, s.archive_playlist_location.empty() ? nullptr : s.archive_playlist_location.c_str());
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
  }
}

// Fresh cores for a new run, from a copy of the settings.
bool start(GstElement* element) {
  NagareHlsSinkPrivate& p = priv(element);
  if (!p.mux) {
    GST_ELEMENT_ERROR(element, CORE, MISSING_PLUGIN, ("mpegtsmux is missing"), ("install gst-plugins-bad"));
    return false;
  }
  const Settings s = settings_of(p);
  const auto target = static_cast<std::int64_t>(std::llround(s.target_duration * 1e9));
  WriterConfig config{
      .location = s.location,
      .playlist_location = s.playlist_location,
      .playlist_root = s.playlist_root,
      .target = target,
      .playlist_length = s.playlist_length,
      .max_files = s.max_files,
      .program_date_time = s.program_date_time,
      .start_offset = s.start_time_offset == kStartOffsetUnset
                          ? std::nullopt
                          : std::optional<std::int64_t>(std::llround(s.start_time_offset * 1e9)),
      .encryption = s.key_uri.empty() ? std::nullopt
                                      : std::optional<WriterConfig::Encryption>(WriterConfig::Encryption{
                                            .key_uri = s.key_uri,
                                            .rotation = s.key_rotation,
                                            .key_location = s.key_location,
                                        }),
      .archive_playlist_location = s.archive_playlist_location,
  };
  p.hls = HlsWriter::create(std::move(config), p.io);
  p.write_failed = false;
  if (!p.hls) {
    GST_ELEMENT_ERROR(element, RESOURCE, SETTINGS, ("Unusable location pattern \"%s\"", s.location.c_str()),
                      ("it needs exactly one %%d, %%i or %%u conversion, e.g. segment%%05d.ts"));
    return false;
  }
  if (auto error = p.hls->start()) {
    GST_ELEMENT_ERROR(element, RESOURCE, WRITE, ("Could not make the first encryption key"),
                      ("%s", error->what().c_str()));
    return false;
  }
  post_new_keys(element, p);
  const bool requests = s.send_keyframe_requests && p.video_pad != nullptr;
  p.segmenter.emplace(SegmenterConfig{.target = target, .requests = requests, .wall_clock = wall_clock_ns});
  std::lock_guard lock(p.plan_lock);
  p.plan = PlanState{};
  p.first_video_time.reset();
  p.stats = StatsSnapshot{};
  p.scheduler.reset();
  if (requests) p.scheduler.emplace(target, std::max<std::int64_t>(kRequestLookahead, 2 * target));
  p.video.reset();
  p.audio.reset();
  p.keyframe_requests.reset();
  return true;
}

GstStateChangeReturn change_state(GstElement* element, GstStateChange transition) {
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED && !start(element)) return GST_STATE_CHANGE_FAILURE;
  return GST_ELEMENT_CLASS(nagare_hls_sink_parent_class)->change_state(element, transition);
}

void finalize(GObject* object) {
  priv(object).~NagareHlsSinkPrivate();
  G_OBJECT_CLASS(nagare_hls_sink_parent_class)->finalize(object);
}

}  // namespace

static void nagare_hls_sink_class_init(NagareHlsSinkClass* klass) {
  auto* gobject_class = G_OBJECT_CLASS(klass);
  auto* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = set_property;
  gobject_class->get_property = get_property;
  gobject_class->finalize = finalize;
  element_class->change_state = change_state;
  element_class->request_new_pad = request_new_pad;
  element_class->release_pad = release_pad;

  constexpr auto kReady =
      static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string("location", "Segment location",
                          "Path pattern of the segment files, with one integer conversion for the segment number "
                          "(%d, %i or %u, optionally zero-padded: segment%05d.ts)",
                          kDefaultLocation, kReady));
  g_object_class_install_property(gobject_class, PROP_PLAYLIST_LOCATION,
                                  g_param_spec_string("playlist-location", "Playlist location",
                                                      "Path of the media playlist", kDefaultPlaylistLocation, kReady));
  g_object_class_install_property(
      gobject_class, PROP_PLAYLIST_ROOT,
      g_param_spec_string("playlist-root", "Playlist root",
                          "Prefix of segment URIs in the playlist (a URL or folder); unset: each segment's path "
                          "relative to the playlist's folder",
                          nullptr, kReady));
  g_object_class_install_property(
      gobject_class, PROP_TARGET_DURATION,
      g_param_spec_double("target-duration", "Target duration",
                          "Segment duration to keep to on average, in seconds (fractions allowed). Cuts land on "
                          "the audio-frame grid, so the sum of N segments stays within one audio frame of "
                          "N x target-duration; EXT-X-TARGETDURATION is this rounded up",
                          0.1, 3600.0, kDefaultTargetDuration, kReady));
  g_object_class_install_property(
      gobject_class, PROP_PLAYLIST_LENGTH,
      g_param_spec_uint("playlist-length", "Playlist length",
                        "Segments in the playlist's live window (0 = keep every segment: an EVENT playlist)", 0,
                        G_MAXUINT, kDefaultPlaylistLength, kReady));
  g_object_class_install_property(
      gobject_class, PROP_MAX_FILES,
      g_param_spec_uint("max-files", "Max files",
                        "Segment files kept on disk; older ones are deleted, but only once they have left the "
                        "playlist (0 = delete none)",
                        0, G_MAXUINT, kDefaultMaxFiles, kReady));
  g_object_class_install_property(
      gobject_class, PROP_PROGRAM_DATE_TIME,
      g_param_spec_boolean("program-date-time", "Program date time",
                           "Write EXT-X-PROGRAM-DATE-TIME on every segment: the wall clock when its timeline "
                           "began plus its media time since",
                           kDefaultProgramDateTime, kReady));
  g_object_class_install_property(
      gobject_class, PROP_SEND_KEYFRAME_REQUESTS,
      g_param_spec_boolean("send-keyframe-requests", "Send keyframe requests",
                           "Ask the encoder upstream for a key frame at each planned cut (force-key-unit "
                           "events). Off: cut at the key frame nearest each boundary",
                           kDefaultSendKeyframeRequests, kReady));
  g_object_class_install_property(
      gobject_class, PROP_START_TIME_OFFSET,
      g_param_spec_double("start-time-offset", "Start time offset",
                          "EXT-X-START:TIME-OFFSET in the playlist, in seconds: where players start, from the "
                          "playlist's start, or back from its live edge when negative (RFC 8216 4.3.5.2). "
                          "Unset (the lowest value): no EXT-X-START",
                          kStartOffsetUnset, kMaxStartOffset, kStartOffsetUnset, kReady));
  g_object_class_install_property(
      gobject_class, PROP_KEY_URI,
      g_param_spec_string("key-uri", "Key URI",
                          "Encrypt every segment with AES-128 (RFC 8216 4.3.2.4): the URI players fetch each "
                          "key from, with {key_id} replaced by the key's id (without it, ?key_id=ID is added). "
                          "Each new key is posted as an element message \"nagare-hls-key\" (key-id, key, iv, "
                          "uri, first-segment, playlist-location) a rotation period before its first segment. "
                          "Unset: no encryption",
                          nullptr, kReady));
  g_object_class_install_property(
      gobject_class, PROP_KEY_ROTATION,
      g_param_spec_uint("key-rotation", "Key rotation", "Segments per encryption key (0 = one key for the whole run)",
                        0, G_MAXUINT, 0, kReady));
  g_object_class_install_property(
      gobject_class, PROP_KEY_LOCATION,
      g_param_spec_string("key-location", "Key location",
                          "Where to write each key's 16 bytes, {key_id} replaced by its id (keep it out of the "
                          "folder viewers can read). Unset: keys are only posted as messages",
                          nullptr, kReady));
  g_object_class_install_property(
      gobject_class, PROP_ARCHIVE_PLAYLIST_LOCATION,
      g_param_spec_string("archive-playlist-location", "Archive playlist location",
                          "A second playlist listing every segment of the run (EVENT, then VOD with "
                          "EXT-X-ENDLIST at EOS); no segment is deleted while it is set. Unset: none",
                          nullptr, kReady));
  g_object_class_install_property(
      gobject_class, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "segments (guint64), last-extinf and mean-extinf (gdouble, s), drift (gdouble, s: "
                         "sum of EXTINF - N x target-duration in the current timeline), discontinuities, dropped "
                         "(PES before a timeline's first key frame), malformed (transport packets), "
                         "keyframe-requests (all guint64)",
                         GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_add_static_pad_template(element_class, &video_template);
  gst_element_class_add_static_pad_template(element_class, &audio_template);
  gst_element_class_set_static_metadata(
      element_class, "HLS sink (nagare)", "Sink/Muxer",
      "Writes H.264 with MP3 or AAC as MPEG-TS segments and an HLS playlist, cut on the audio-frame grid so "
      "segment durations never drift",
      "nagare developers");
}

static void nagare_hls_sink_init(NagareHlsSink* self) {
  auto* p = new (nagare_hls_sink_get_instance_private(self)) NagareHlsSinkPrivate();
  p->mux = gst_element_factory_make("mpegtsmux", nullptr);
  p->writer = GST_ELEMENT(g_object_new(nagare_hls_writer_get_type(), nullptr));
  NAGARE_HLS_WRITER(p->writer)->bin = self;
  if (!p->mux) {
    GST_ERROR_OBJECT(self, "mpegtsmux is missing (gst-plugins-bad)");
    gst_object_unref(gst_object_ref_sink(p->writer));
    p->writer = nullptr;
    return;
  }
  gst_bin_add_many(GST_BIN(self), p->mux, p->writer, nullptr);
  gst_element_link(p->mux, p->writer);
}
