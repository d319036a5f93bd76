// Real pipelines around nagarehlssink.
//
// Every test builds its sources in gst-launch syntax ending on the sink's
// request pads (`hls.video`, `hls.audio`), runs them to EOS or to the first
// error, and reads the playlist and segments back (hls_files.hpp) from a
// temporary folder of its own. The sources are non-live (videotestsrc and
// audiotestsrc with num-buffers), so a run takes well under a second and is
// the same every time: every timestamp below follows from the frame rates
// and counts.
#pragma once

#include <gst/gst.h>

#include <catch2/catch.hpp>

#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "common/gst_ptr.hpp"
#include "gst_log.hpp"
#include "hls_files.hpp"
#include "stats_reader.hpp"

namespace nagare::test::elements::hls {

// videotestsrc at 30/1 stamps frame n at n × 10⁹ / 30 ns, rounded down.
inline constexpr std::int64_t kVideoFrame = kSecond / 30;
inline constexpr std::int64_t video_frame_time(std::int64_t n) { return n * kSecond / 30; }
// MPEG-1 Layer III at 48 kHz: 1152 samples.
inline constexpr std::int64_t kMp3Frame = 24 * kMillisecond;

// --- Sources ------------------------------------------------------------

// `frames` frames of 320×240 at 30/1 through x264enc (named "enc") and
// h264parse. tune=zerolatency as the element's docs use it: no lookahead,
// so a key frame asked for 3 s ahead is always in time.
inline std::string video_source(int frames, const std::string& x264_options = "tune=zerolatency") {
  std::ostringstream s;
  s << "videotestsrc num-buffers=" << frames
    << " ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! x264enc name=enc " << x264_options
    << " ! h264parse ! hls.video ";
  return s.str();
}

// MP3 at 48 kHz stereo from `buffers` buffers of 1152 samples; lamemp3enc
// adds one frame of encoder delay, so mpegaudioparse (named "audioparse")
// gives buffers + 1 frames of 24 ms, stamped from 0.
inline std::string mp3_source(int buffers) {
  std::ostringstream s;
  s << "audiotestsrc num-buffers=" << buffers
    << " samplesperbuffer=1152 ! audio/x-raw,rate=48000,channels=2 ! lamemp3enc ! mpegaudioparse name=audioparse"
       " ! hls.audio ";
  return s.str();
}

// AAC-LC in ADTS at 48 kHz from voaacenc (frames of 1024 samples, 21.3 ms).
inline std::string aac_source(int buffers) {
  std::ostringstream s;
  s << "audiotestsrc num-buffers=" << buffers
    << " samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=2 ! voaacenc ! aacparse name=audioparse"
       " ! audio/mpeg,mpegversion=4,stream-format=adts ! hls.audio ";
  return s.str();
}

// --- The pipeline ---------------------------------------------------------

struct BusError {
  std::string source;  // name of the element that posted it
  GQuark domain = 0;
  int code = 0;
  std::string message;
  std::string debug;
};

struct RunResult {
  bool eos = false;
  std::vector<BusError> errors;  // in the order posted
};

inline BusError to_bus_error(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  BusError out{GST_OBJECT_NAME(GST_MESSAGE_SRC(message)), error->domain, error->code, error->message,
               debug ? debug : ""};
  g_error_free(error);
  g_free(debug);
  return out;
}

// The element's "stats" property; each field read with its type.
struct Stats {
  std::uint64_t segments = 0, discontinuities = 0, dropped = 0, malformed = 0, keyframe_requests = 0;
  double last_extinf = 0, mean_extinf = 0, drift = 0;
};

inline Stats read_stats(GstElement* hls) {
  const StatsReader stats(hls, "application/x-nagare-hlssink-stats", 8);
  Stats out;
  const auto u64 = [&stats](const char* name, std::uint64_t& field) { stats.get(name, field); };
  const auto dbl = [&stats](const char* name, double& field) { stats.get(name, field); };
  u64("segments", out.segments);
  dbl("last-extinf", out.last_extinf);
  dbl("mean-extinf", out.mean_extinf);
  dbl("drift", out.drift);
  u64("discontinuities", out.discontinuities);
  u64("dropped", out.dropped);
  u64("malformed", out.malformed);
  u64("keyframe-requests", out.keyframe_requests);
  return out;
}

// "nagarehlssink name=hls" plus `sources`, writing segNNNNN.ts and
// index.m3u8 into `dir`. The destructor stops and frees the pipeline and
// fails the test if GLib logged a warning or critical meanwhile.
class HlsPipeline {
 public:
  HlsPipeline(const std::string& sources, const TempDir& dir, double target_duration = 1.0) {
    init_gstreamer();
    log_problems_at_start_ = LogProblems::get().count();
    GError* error = nullptr;
    const std::string description = "nagarehlssink name=hls " + sources;
    INFO("pipeline: " << description);
    GstElement* made = gst_parse_launch(description.c_str(), &error);
    if (error) UNSCOPED_INFO("parse error: " << error->message);
    g_clear_error(&error);
    REQUIRE(made);  // GST_PLUGIN_PATH must lead to the built plugin
    pipeline_ = GstPtr<GstElement>::adopt(static_cast<GstElement*>(gst_object_ref_sink(made)));
    hls_ = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(made), "hls"));
    REQUIRE(hls_);
    g_object_set(hls_.get(), "location", (dir / "seg%05d.ts").c_str(), "playlist-location",
                 (dir / "index.m3u8").c_str(), "target-duration", target_duration, nullptr);
  }
  ~HlsPipeline() {
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
    hls_.reset();
    pipeline_.reset();
    const auto problems = LogProblems::get().since(log_problems_at_start_);
    for (const auto& m : problems) UNSCOPED_INFO("logged: " << m);
    CHECK(problems.empty());
  }
  HlsPipeline(const HlsPipeline&) = delete;
  HlsPipeline& operator=(const HlsPipeline&) = delete;

  GstElement* pipeline() const { return pipeline_.get(); }
  GstElement* hls() const { return hls_.get(); }
  GstPtr<GstElement> element(const char* name) const {
    auto e = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline_.get()), name));
    INFO("element " << name);
    REQUIRE(e);
    return e;
  }
  Stats stats() const { return read_stats(hls_.get()); }

  // PLAYING until EOS or the first error (at most `timeout`), then NULL.
  RunResult run(GstClockTime timeout = 10 * GST_SECOND) {
    RunResult result;
    const auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline_.get()));
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
      const auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(
          bus.get(), timeout, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
      INFO("no EOS or error within the time allowed");
      REQUIRE(message);
      if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_EOS) {
        result.eos = true;
      } else {
        result.errors.push_back(to_bus_error(message.get()));
      }
    }
    // Errors already posted after the first (NULL flushes the bus).
    while (GstMessage* raw = gst_bus_pop_filtered(bus.get(), GST_MESSAGE_ERROR)) {
      const auto message = GstPtr<GstMessage>::adopt(raw);
      result.errors.push_back(to_bus_error(raw));
    }
    REQUIRE(gst_element_set_state(pipeline_.get(), GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS);
    return result;
  }

 private:
  std::size_t log_problems_at_start_ = 0;
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> hls_;
};

// The sink inside nagarehlssink that writes the files (the bin's only
// sink), to watch what reaches it.
inline GstPtr<GstElement> internal_writer(GstElement* hls) {
  GstIterator* it = gst_bin_iterate_sinks(GST_BIN(hls));
  GValue item = G_VALUE_INIT;
  GstPtr<GstElement> writer;
  if (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
    writer = GstPtr<GstElement>::ref(GST_ELEMENT(g_value_get_object(&item)));
    g_value_reset(&item);
  }
  g_value_unset(&item);
  gst_iterator_free(it);
  REQUIRE(writer);
  return writer;
}

// A pad probe that removes itself with this object.
class Probe {
 public:
  template <typename Callback>
  Probe(GstElement* element, const char* pad_name, GstPadProbeType mask, Callback* callback)
      : pad_(GstPtr<GstPad>::adopt(gst_element_get_static_pad(element, pad_name))) {
    REQUIRE(pad_);
    id_ = gst_pad_add_probe(pad_.get(), mask, &Probe::call<Callback>, callback, nullptr);
    REQUIRE(id_ != 0);
  }
  ~Probe() { gst_pad_remove_probe(pad_.get(), id_); }
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;
  GstPad* pad() const { return pad_.get(); }

 private:
  template <typename Callback>
  static GstPadProbeReturn call(GstPad* pad, GstPadProbeInfo* info, gpointer callback) {
    return (*static_cast<Callback*>(callback))(pad, info);
  }
  GstPtr<GstPad> pad_;
  gulong id_ = 0;
};

// Running time of a buffer leaving `pad`, from the pad's segment.
inline GstClockTime running_time_on(GstPad* pad, GstBuffer* buffer) {
  const auto event = GstPtr<GstEvent>::adopt(gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0));
  if (!event) return GST_CLOCK_TIME_NONE;
  const GstSegment* segment = nullptr;
  gst_event_parse_segment(event.get(), &segment);
  return gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
}

}  // namespace nagare::test::elements::hls
