// e2e-av-sync: receives the RTP streams of e2e-av-sender, decodes them, and
// measures lip sync on the decoded output: each second's flash (video) against
// its beep (audio), offset = flash PTS - beep PTS.
//
//   e2e-av-sync --mode nagarealign|jitterbuffer --audio-port N --video-port N
//               [--address 127.0.0.1] [--latency MS] [--from SECONDS]
//               [--idle SECONDS] [--max-seconds SECONDS] [--label TEXT]
//               [--trace FILE]
//
// nagarealign:  udpsrc(audio) ! a.sink_0, udpsrc(video) ! a.sink_1,
//               nagarealign name=a latency=MS,
//               a.src_0 ! rtpopusdepay ! opusdec ..., a.src_1 ! nagareh264depay ! avdec_h264 ...
// jitterbuffer: each udpsrc ! rtpjitterbuffer (defaults) ! rtpopusdepay / rtph264depay ! the same decoders
//
// Both end in appsinks (sync=false) with F32LE mono audio and GRAY8 video.
// Flash: the first frame whose mean luma is above 191 (3/4 of 255) after a
// frame that was not. videoconvert copies Y into GRAY8 as it is (black 16,
// white 235); half of white would be too close to mid-gray, which is what
// FFmpeg paints a missing reference frame with (Y=128). Beep onset: the first
// sample above 0.1 (the beep's amplitude is 0.5) after at least 200 ms
// below it, at buffer PTS + index / rate. Flashes and beeps pair up when
// they are within 500 ms; each pair is labelled with its second, counted
// from the first decoded audio (the sender's t = 0). A beep that does not
// measure 100 ms (+-3) from onset to last loud sample lost a packet at an
// end and is marked damaged: its pair is listed but left out of the
// figures (max_abs_ms_from_all has it).
// --trace FILE writes "v PTS MEAN-LUMA" per frame and "a PTS SAMPLES
// DISCONT PEAK" per audio buffer.
//
// Runs until no packet has arrived for --idle seconds (after the first one),
// SIGINT/SIGTERM, or --max-seconds; then sends EOS so buffered data drains
// (5 s at most), and reports. stdout: "ready" once the sockets are bound,
// then one JSON line; stderr: the per-second series. Exit status: 0 report
// printed, 1 pipeline error, 2 bad arguments, 3 no packet received.

#include <glib-unix.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/gst_ptr.hpp"
#include "common/int_math.hpp"
#include "common/wrap.hpp"

namespace {

using nagare::BufferMap;
using nagare::GFreeDeleter;
using nagare::GstPtr;

// ---- Measurement: plain C++, integer nanoseconds ----

// Rising edges of a bright frame.
class FlashDetector {
 public:
  void frame(std::int64_t pts, std::uint64_t luma_sum, std::uint64_t pixels) {
    ++frames_;
    const bool bright = luma_sum * 4 > pixels * 255 * 3;
    if (bright && !was_bright_) flashes_.push_back(pts);
    was_bright_ = bright;
  }
  const std::vector<std::int64_t>& flashes() const { return flashes_; }
  std::uint64_t frames() const { return frames_; }

 private:
  bool was_bright_ = false;
  std::uint64_t frames_ = 0;
  std::vector<std::int64_t> flashes_;
};

struct Onset {
  std::int64_t pts = 0;
  std::int64_t length = 0;  // to the last loud sample; 0 if the stream ended first
  // The beep is not its 100 ms long: a packet at its start or end was lost.
  // Losing the first one hides the onset, and Opus resuming mid-tone ramps
  // up over several frames, so the onset reads 20 to 80 ms late whatever
  // the sync.
  bool damaged = false;
};

// Onsets of a tone after silence, and the tone's length.
class BeepDetector {
 public:
  void samples(std::int64_t pts, std::span<const float> x, int rate) {
    if (!origin_) origin_ = pts;
    const std::uint64_t min_quiet = static_cast<std::uint64_t>(rate) / 5;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const std::int64_t at = pts + nagare::round_div(static_cast<std::int64_t>(i) * GST_SECOND, rate);
      if (x[i] > kThreshold || x[i] < -kThreshold) {
        if (quiet_ >= min_quiet) onsets_.push_back({at, 0, true});
        last_loud_end_ = at + nagare::round_div(GST_SECOND, rate);
        quiet_ = 0;
      } else if (++quiet_ == min_quiet && !onsets_.empty() && onsets_.back().length == 0) {
        Onset& o = onsets_.back();
        o.length = last_loud_end_ - o.pts;
        o.damaged = std::abs(o.length - kLength) > kLengthTolerance;
      }
    }
  }
  const std::vector<Onset>& onsets() const { return onsets_; }
  // PTS of the first decoded audio: the sender's t = 0.
  std::optional<std::int64_t> origin() const { return origin_; }

 private:
  static constexpr float kThreshold = 0.1f;
  static constexpr std::int64_t kLength = 100 * static_cast<std::int64_t>(GST_MSECOND);
  static constexpr std::int64_t kLengthTolerance = 3 * static_cast<std::int64_t>(GST_MSECOND);
  std::uint64_t quiet_ = 0;  // samples since the last loud one
  std::int64_t last_loud_end_ = 0;
  std::vector<Onset> onsets_;
  std::optional<std::int64_t> origin_;
};

struct Pair {
  std::int64_t second = 0;
  std::int64_t flash = 0;
  std::int64_t beep = 0;
  std::int64_t beep_length = 0;
  bool damaged = false;  // the beep was not 100 ms long
  std::int64_t offset() const { return flash - beep; }
};

// Each beep takes the nearest unused flash within 500 ms; one pair per
// second. A lost flash or beep leaves its second out.
std::vector<Pair> pair_up(const std::vector<std::int64_t>& flashes, const std::vector<Onset>& beeps,
                          std::int64_t origin) {
  constexpr std::int64_t kWindow = 500 * static_cast<std::int64_t>(GST_MSECOND);
  std::vector<std::int64_t> sorted = flashes;
  std::sort(sorted.begin(), sorted.end());
  std::vector<bool> used(sorted.size(), false);
  std::vector<Pair> pairs;
  for (const auto& [beep, length, damaged] : beeps) {
    // The nearest flash is just before or at/after the beep (size_t wraps
    // below 0, out of range).
    const auto after = static_cast<std::size_t>(std::lower_bound(sorted.begin(), sorted.end(), beep) - sorted.begin());
    std::optional<std::size_t> best;
    for (const std::size_t i : {after - 1, after}) {
      if (i >= sorted.size() || used[i] || std::abs(sorted[i] - beep) > kWindow) continue;
      if (!best || std::abs(sorted[i] - beep) < std::abs(sorted[*best] - beep)) best = i;
    }
    const std::int64_t second = nagare::round_div(beep - origin, GST_SECOND);
    if (!best || (!pairs.empty() && pairs.back().second >= second)) continue;
    used[*best] = true;
    pairs.push_back({second, sorted[*best], beep, length, damaged});
  }
  return pairs;
}

// Figures over the clean pairs; damaged ones only count, and show in
// max_abs_from_all.
struct Summary {
  std::size_t pairs = 0;  // clean
  std::size_t damaged = 0;
  std::int64_t median = 0;
  std::int64_t min = 0;
  std::int64_t max = 0;
  std::size_t pairs_from = 0;  // clean pairs at or after `from`
  std::int64_t max_abs_from = 0;
  std::int64_t max_abs_from_all = 0;
};

Summary summarise(const std::vector<Pair>& pairs, std::int64_t from_second) {
  Summary s;
  std::vector<std::int64_t> offsets;
  for (const Pair& p : pairs) {
    const std::int64_t magnitude = std::abs(p.offset());
    if (p.second >= from_second) s.max_abs_from_all = std::max(s.max_abs_from_all, magnitude);
    if (p.damaged) {
      ++s.damaged;
      continue;
    }
    offsets.push_back(p.offset());
    if (p.second >= from_second) {
      ++s.pairs_from;
      s.max_abs_from = std::max(s.max_abs_from, magnitude);
    }
  }
  s.pairs = offsets.size();
  if (offsets.empty()) return s;
  std::sort(offsets.begin(), offsets.end());
  const std::size_t mid = offsets.size() / 2;
  s.median = offsets.size() % 2 ? offsets[mid] : nagare::round_div(offsets[mid - 1] + offsets[mid], 2);
  s.min = offsets.front();
  s.max = offsets.back();
  return s;
}

// What arrived on one socket, from the RTP sequence numbers (RFC 3550 §A.1).
struct RtpStats {
  std::uint64_t packets = 0;
  std::uint64_t reordered = 0;  // arrived after a higher sequence number
  std::int64_t first = 0;
  std::int64_t highest = 0;
  nagare::Unwrapper<std::uint16_t> seq;
  std::atomic<gint64> last_arrival_us{0};  // read by the main loop

  void packet(std::uint16_t raw) {
    const std::int64_t s = seq.unwrap(raw);
    if (packets++ == 0) first = highest = s;
    if (s < highest) ++reordered;
    highest = std::max(highest, s);
    last_arrival_us.store(g_get_monotonic_time(), std::memory_order_relaxed);
  }
  std::int64_t lost() const { return packets ? highest - first + 1 - static_cast<std::int64_t>(packets) : 0; }
};

// ---- The pipeline ----

enum class Mode { kNagarealign, kJitterbuffer };

struct Options {
  Mode mode = Mode::kJitterbuffer;
  std::string address = "127.0.0.1";
  int audio_port = 0;
  int video_port = 0;
  int latency_ms = 500;
  std::int64_t from_s = 5;
  gint64 idle_us = gint64{3} * G_USEC_PER_SEC;
  gint64 max_us = 0;  // 0: no limit
  std::string label;
  std::string trace;
};

constexpr const char* kAudioCaps = "application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111";
constexpr const char* kVideoCaps = "application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96";
constexpr const char* kAudioTail =
    "rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=F32LE,channels=1 ! appsink name=asink sync=false";
constexpr const char* kVideoDecode =
    "avdec_h264 ! videoconvert ! video/x-raw,format=GRAY8 ! appsink name=vsink sync=false";

std::string describe(const Options& o) {
  const std::string audio_src =
      "udpsrc name=ua address=" + o.address + " port=" + std::to_string(o.audio_port) + " caps=\"" + kAudioCaps + "\"";
  const std::string video_src =
      "udpsrc name=uv address=" + o.address + " port=" + std::to_string(o.video_port) + " caps=\"" + kVideoCaps + "\"";
  if (o.mode == Mode::kNagarealign) {
    return "nagarealign name=a latency=" + std::to_string(o.latency_ms) + " " + audio_src + " ! a.sink_0 " + video_src +
           " ! a.sink_1 a.src_0 ! " + kAudioTail + " a.src_1 ! nagareh264depay ! " + kVideoDecode;
  }
  return audio_src + " ! rtpjitterbuffer ! " + kAudioTail + " " + video_src + " ! rtpjitterbuffer ! rtph264depay ! " +
         kVideoDecode;
}

// Everything the streaming threads write. Each detector and each RtpStats
// has one writer (its appsink's or udpsrc's thread); the main thread reads
// them after the pipeline is back in NULL.
struct Measure {
  FlashDetector flash;
  BeepDetector beep;
  RtpStats audio_rtp;
  RtpStats video_rtp;
  FILE* trace = nullptr;  // --trace: one line per decoded buffer (stdio locks per call)
};

std::optional<std::int64_t> running_pts(GstSample* sample) {
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  const GstSegment* segment = gst_sample_get_segment(sample);
  if (!buffer || !segment || !GST_BUFFER_PTS_IS_VALID(buffer)) return std::nullopt;
  const GstClockTime rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
  if (!GST_CLOCK_TIME_IS_VALID(rt)) return std::nullopt;
  return static_cast<std::int64_t>(rt);
}

GstFlowReturn on_video(GstAppSink* sink, gpointer user_data) {
  auto& m = *static_cast<Measure*>(user_data);
  auto sample = GstPtr<GstSample>::adopt(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  GstVideoInfo info;
  const auto pts = running_pts(sample.get());
  if (!pts || !gst_video_info_from_caps(&info, gst_sample_get_caps(sample.get()))) return GST_FLOW_OK;
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample.get()), GST_MAP_READ)) return GST_FLOW_OK;
  const auto* rows = static_cast<const std::uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  const int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  std::uint64_t sum = 0;
  for (int y = 0; y < info.height; ++y) {
    for (int x = 0; x < info.width; ++x) sum += rows[static_cast<std::size_t>(y) * stride + x];
  }
  gst_video_frame_unmap(&frame);
  const auto pixels = static_cast<std::uint64_t>(info.width) * info.height;
  m.flash.frame(*pts, sum, pixels);
  if (m.trace) std::fprintf(m.trace, "v %lld %.1f\n", static_cast<long long>(*pts), static_cast<double>(sum) / pixels);
  return GST_FLOW_OK;
}

GstFlowReturn on_audio(GstAppSink* sink, gpointer user_data) {
  auto& m = *static_cast<Measure*>(user_data);
  auto sample = GstPtr<GstSample>::adopt(gst_app_sink_pull_sample(sink));
  if (!sample) return GST_FLOW_EOS;
  int rate = 0;
  const auto pts = running_pts(sample.get());
  GstCaps* caps = gst_sample_get_caps(sample.get());
  if (!pts || !caps || !gst_structure_get_int(gst_caps_get_structure(caps, 0), "rate", &rate) || rate <= 0) {
    return GST_FLOW_OK;
  }
  GstBuffer* buffer = gst_sample_get_buffer(sample.get());
  BufferMap map(buffer, GST_MAP_READ);
  const auto bytes = map.bytes();
  const std::span<const float> x(reinterpret_cast<const float*>(bytes.data()), bytes.size() / sizeof(float));
  const bool discont = GST_BUFFER_FLAG_IS_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  m.beep.samples(*pts, x, rate);
  if (m.trace) {
    float peak = 0;
    for (const float v : x) peak = std::max(peak, std::abs(v));
    std::fprintf(m.trace, "a %lld %zu %d %.3f\n", static_cast<long long>(*pts), x.size(), discont, peak);
  }
  return GST_FLOW_OK;
}

GstPadProbeReturn on_packet(GstPad*, GstPadProbeInfo* info, gpointer user_data) {
  BufferMap map(GST_PAD_PROBE_INFO_BUFFER(info), GST_MAP_READ);
  const auto b = map.bytes();
  if (b.size() >= 12) static_cast<RtpStats*>(user_data)->packet(static_cast<std::uint16_t>(b[2] << 8 | b[3]));
  return GST_PAD_PROBE_OK;
}

// Main-loop state: when to stop, and how it went.
struct Run {
  GMainLoop* loop = nullptr;
  GstElement* pipeline = nullptr;
  const Options* options = nullptr;
  Measure* measure = nullptr;
  gint64 started_us = 0;
  gint64 draining_since_us = 0;  // 0: not draining
  int status = 0;
};

void drain(Run& run) {
  if (run.draining_since_us) return;
  run.draining_since_us = g_get_monotonic_time();
  gst_element_send_event(run.pipeline, gst_event_new_eos());
}

gboolean on_bus(GstBus*, GstMessage* message, gpointer user_data) {
  auto& run = *static_cast<Run*>(user_data);
  if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
    GError* error = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(message, &error, &debug);
    std::unique_ptr<gchar, GFreeDeleter> debug_owner(debug);
    std::unique_ptr<gchar, GFreeDeleter> path(gst_object_get_path_string(GST_MESSAGE_SRC(message)));
    std::fprintf(stderr, "ERROR: from element %s: %s\n%s\n", path.get(), error ? error->message : "(none)",
                 debug ? debug : "");
    if (error) g_error_free(error);
    run.status = 1;
    g_main_loop_quit(run.loop);
  } else if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS) {
    g_main_loop_quit(run.loop);
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_tick(gpointer user_data) {
  auto& run = *static_cast<Run*>(user_data);
  const gint64 now = g_get_monotonic_time();
  if (run.draining_since_us) {
    if (now - run.draining_since_us > gint64{5} * G_USEC_PER_SEC) g_main_loop_quit(run.loop);
    return G_SOURCE_CONTINUE;
  }
  const gint64 last = std::max(run.measure->audio_rtp.last_arrival_us.load(std::memory_order_relaxed),
                               run.measure->video_rtp.last_arrival_us.load(std::memory_order_relaxed));
  if ((last && now - last > run.options->idle_us) ||
      (run.options->max_us && now - run.started_us > run.options->max_us)) {
    drain(run);
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_signal(gpointer user_data) {
  drain(*static_cast<Run*>(user_data));
  return G_SOURCE_CONTINUE;
}

bool attach(GstElement* pipeline, Measure& m) {
  auto get = [pipeline](const char* name) {
    return GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), name));
  };
  const auto asink = get("asink");
  const auto vsink = get("vsink");
  const auto ua = get("ua");
  const auto uv = get("uv");
  if (!asink || !vsink || !ua || !uv) return false;
  GstAppSinkCallbacks audio{};
  audio.new_sample = on_audio;
  gst_app_sink_set_callbacks(GST_APP_SINK(asink.get()), &audio, &m, nullptr);
  GstAppSinkCallbacks video{};
  video.new_sample = on_video;
  gst_app_sink_set_callbacks(GST_APP_SINK(vsink.get()), &video, &m, nullptr);
  for (auto [src, stats] : {std::pair{ua.get(), &m.audio_rtp}, std::pair{uv.get(), &m.video_rtp}}) {
    auto pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(src, "src"));
    gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, on_packet, stats, nullptr);
  }
  return true;
}

int run_pipeline(const Options& o, Measure& m) {
  const std::string description = describe(o);
  GError* error = nullptr;
  GstElement* parsed = gst_parse_launch(description.c_str(), &error);
  auto pipeline = GstPtr<GstElement>::adopt(parsed ? GST_ELEMENT(gst_object_ref_sink(parsed)) : nullptr);
  if (error || !pipeline || !attach(pipeline.get(), m)) {
    std::fprintf(stderr, "ERROR: pipeline could not be constructed: %s\n  %s\n",
                 error ? error->message : "(missing element)", description.c_str());
    if (error) g_error_free(error);
    return 1;
  }
  Run run;
  run.loop = g_main_loop_new(nullptr, FALSE);
  run.pipeline = pipeline.get();
  run.options = &o;
  run.measure = &m;
  run.started_us = g_get_monotonic_time();
  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  const guint bus_watch = gst_bus_add_watch(bus.get(), on_bus, &run);
  const guint tick = g_timeout_add(100, on_tick, &run);
  const guint sigint = g_unix_signal_add(SIGINT, on_signal, &run);
  const guint sigterm = g_unix_signal_add(SIGTERM, on_signal, &run);
  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    run.status = 1;  // the error message on the bus says why
  } else {
    std::printf("ready\n");
    std::fflush(stdout);
  }
  g_main_loop_run(run.loop);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  for (guint id : {bus_watch, tick, sigint, sigterm}) g_source_remove(id);
  g_main_loop_unref(run.loop);
  return run.status;
}

// ---- Report ----

std::string ms(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3f", static_cast<double>(ns) / GST_MSECOND);
  return text;
}

// A JSON object, one "key": value at a time.
class Json {
 public:
  Json& raw(const char* key, const std::string& value) {
    text_ += (text_.empty() ? "{\"" : ", \"") + std::string(key) + "\": " + value;
    return *this;
  }
  Json& str(const char* key, const std::string& value) { return raw(key, "\"" + value + "\""); }
  template <typename Int>
  Json& num(const char* key, Int value) {
    return raw(key, std::to_string(value));
  }
  std::string done() const { return text_ + "}"; }

 private:
  std::string text_;
};

void report(const Options& o, const Measure& m) {
  const std::int64_t origin = m.beep.origin().value_or(0);
  const auto pairs = pair_up(m.flash.flashes(), m.beep.onsets(), origin);
  const Summary s = summarise(pairs, o.from_s);
  const char* mode = o.mode == Mode::kNagarealign ? "nagarealign" : "jitterbuffer";

  // Damaged pairs carry a '*' in the series; JSON: [second, offset, beep length, damaged].
  std::string series;
  std::string json_series;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const Pair& p = pairs[i];
    series += (i % 10 ? " " : "\n  ") + std::to_string(p.second) + ":" + ms(p.offset()) + (p.damaged ? "*" : "");
    json_series += (i ? ", [" : "[") + std::to_string(p.second) + ", " + ms(p.offset()) + ", " + ms(p.beep_length) +
                   ", " + (p.damaged ? "1" : "0") + "]";
  }
  std::fprintf(stderr, "av-sync %s%s%s: flash - beep (ms) by second (* beep not 100 ms long):%s\n", mode,
               o.label.empty() ? "" : " ", o.label.c_str(), series.c_str());

  const std::string null = "null";
  Json json;
  json.str("mode", mode)
      .str("label", o.label)
      .num("pairs", s.pairs)
      .num("damaged", s.damaged)
      .raw("median_ms", s.pairs ? ms(s.median) : null)
      .raw("min_ms", s.pairs ? ms(s.min) : null)
      .raw("max_ms", s.pairs ? ms(s.max) : null)
      .num("from_s", o.from_s)
      .num("pairs_from", s.pairs_from)
      .raw("max_abs_ms_from", s.pairs_from ? ms(s.max_abs_from) : null)
      .raw("max_abs_ms_from_all", pairs.empty() ? null : ms(s.max_abs_from_all))
      .num("flashes", m.flash.flashes().size())
      .num("beeps", m.beep.onsets().size())
      .num("frames", m.flash.frames())
      .num("audio_packets", m.audio_rtp.packets)
      .num("audio_lost", m.audio_rtp.lost())
      .num("audio_reordered", m.audio_rtp.reordered)
      .num("video_packets", m.video_rtp.packets)
      .num("video_lost", m.video_rtp.lost())
      .num("video_reordered", m.video_rtp.reordered)
      .raw("series", "[" + json_series + "]");
  std::printf("%s\n", json.done().c_str());
  std::fflush(stdout);
}

bool parse_number(const char* text, double& out) {
  char* end = nullptr;
  out = std::strtod(text, &end);
  return end != text && *end == '\0' && out >= 0;
}

bool parse_args(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (arg == "--mode") {
      if (std::string_view(value) == "nagarealign") {
        o.mode = Mode::kNagarealign;
      } else if (std::string_view(value) == "jitterbuffer") {
        o.mode = Mode::kJitterbuffer;
      } else {
        return false;
      }
    } else if (arg == "--address") {
      o.address = value;
    } else if (arg == "--label") {
      o.label = value;
    } else if (arg == "--trace") {
      o.trace = value;
    } else {
      // The rest take a number, not negative.
      double n = 0;
      if (!parse_number(value, n)) return false;
      if (arg == "--audio-port" && n >= 1 && n < 65536) {
        o.audio_port = static_cast<int>(n);
      } else if (arg == "--video-port" && n >= 1 && n < 65536) {
        o.video_port = static_cast<int>(n);
      } else if (arg == "--latency") {
        o.latency_ms = static_cast<int>(n);
      } else if (arg == "--from") {
        o.from_s = static_cast<std::int64_t>(n);
      } else if (arg == "--idle") {
        o.idle_us = static_cast<gint64>(n * G_USEC_PER_SEC);
      } else if (arg == "--max-seconds") {
        o.max_us = static_cast<gint64>(n * G_USEC_PER_SEC);
      } else {
        return false;  // an unknown option, or a port out of its range
      }
    }
  }
  return o.audio_port && o.video_port;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Options options;
  if (!parse_args(argc, argv, options)) {
    std::fprintf(stderr,
                 "usage: %s --mode nagarealign|jitterbuffer --audio-port N --video-port N [--address IP] "
                 "[--latency MS] [--from SECONDS] [--idle SECONDS] [--max-seconds SECONDS] [--label TEXT] "
                 "[--trace FILE]\n",
                 argv[0]);
    return 2;
  }
  Measure measure;
  std::unique_ptr<FILE, int (*)(FILE*)> trace(nullptr, std::fclose);
  if (!options.trace.empty()) {
    trace.reset(std::fopen(options.trace.c_str(), "w"));
    if (!trace) {
      std::fprintf(stderr, "ERROR: cannot write %s\n", options.trace.c_str());
      return 2;
    }
    measure.trace = trace.get();
  }
  const int status = run_pipeline(options, measure);
  if (status != 0) return status;
  if (measure.audio_rtp.packets == 0 && measure.video_rtp.packets == 0) {
    std::fprintf(stderr, "ERROR: no packet arrived\n");
    return 3;
  }
  report(options, measure);
  return 0;
}
