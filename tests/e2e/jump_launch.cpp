// e2e-jump-launch: runs a gst-launch-1.0 pipeline description to EOS, and
// makes its timestamps jump once, the way a publisher restart does: from a
// given running time on, buffers carry PTS (and DTS) moved forward by a fixed
// amount, and the first of them is flagged DISCONT.
//
//   e2e-jump-launch --at SECONDS --by SECONDS 'DESCRIPTION'
//
// The description marks the places with identity elements:
//   jumpv, jumpa  on raw video and audio, before the encoders: every buffer
//                 from the first one whose running time is >= at is moved,
//                 so the encoders see the jump as they would after a restart
//                 upstream of them (and key-unit requests, which carry
//                 running times, keep meaning the same frames).
//   flagv, flaga  on the encoded streams, after the parsers: the first
//                 buffer whose running time is >= at + by is flagged DISCONT,
//                 in case the encoder dropped the flag.
// Any of them may be absent. Exit status: 0 at EOS, 1 on an error message
// (printed as gst-launch-1.0 prints it, with the element and the debug
// text), 2 on bad arguments.
//
// Stock gst-launch-1.0 cannot move timestamps mid-stream, hence this helper.

#include <gst/gst.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "common/gst_ptr.hpp"

namespace {

using nagare::GFreeDeleter;
using nagare::GstPtr;

struct Jump {
  GstClockTime at = 0;
  GstClockTime by = 0;
};

// State of one probe; each lives on its stream's thread only.
struct Probe {
  Jump jump;
  bool move = false;  // jumpv/jumpa: move timestamps; flagv/flaga: flag only
  bool done = false;  // reached the jump (move) or flagged a buffer (flag)
};

// Running time of the buffer's PTS: encoders such as x264enc move PTS and
// the segment by 1000 hours (room for DTS before PTS), so times are compared
// as running times, which such a shift leaves alone.
GstClockTime running_time(GstPad* pad, GstBuffer* buffer) {
  if (!GST_BUFFER_PTS_IS_VALID(buffer)) return GST_CLOCK_TIME_NONE;
  auto event = GstPtr<GstEvent>::adopt(gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0));
  if (!event) return GST_CLOCK_TIME_NONE;
  const GstSegment* segment = nullptr;
  gst_event_parse_segment(event.get(), &segment);
  return gst_segment_to_running_time(segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buffer));
}

GstPadProbeReturn on_buffer(GstPad* pad, GstPadProbeInfo* info, gpointer user_data) {
  auto& p = *static_cast<Probe*>(user_data);
  if (p.done && !p.move) return GST_PAD_PROBE_OK;
  GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
  bool first = false;
  if (!p.done) {
    const GstClockTime t = running_time(pad, buffer);
    const GstClockTime from = p.move ? p.jump.at : p.jump.at + p.jump.by;
    if (!GST_CLOCK_TIME_IS_VALID(t) || t < from) return GST_PAD_PROBE_OK;
    p.done = first = true;
  }
  buffer = gst_buffer_make_writable(buffer);
  if (p.move) {
    GST_BUFFER_PTS(buffer) += p.jump.by;
    if (GST_BUFFER_DTS_IS_VALID(buffer)) GST_BUFFER_DTS(buffer) += p.jump.by;
  }
  if (first) GST_BUFFER_FLAG_SET(buffer, GST_BUFFER_FLAG_DISCONT);
  GST_PAD_PROBE_INFO_DATA(info) = buffer;
  return GST_PAD_PROBE_OK;
}

bool attach(GstElement* pipeline, const char* name, Probe& p) {
  GstPtr<GstElement> element = GstPtr<GstElement>::adopt(gst_bin_get_by_name(GST_BIN(pipeline), name));
  if (!element) return false;
  GstPtr<GstPad> src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(element.get(), "src"));
  if (!src) return false;
  gst_pad_add_probe(src.get(), GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &p, nullptr);
  return true;
}

void print_error(GstMessage* message) {
  GError* error = nullptr;
  gchar* debug = nullptr;
  gst_message_parse_error(message, &error, &debug);
  std::unique_ptr<gchar, GFreeDeleter> debug_owner(debug);
  std::unique_ptr<gchar, GFreeDeleter> path(gst_object_get_path_string(GST_MESSAGE_SRC(message)));
  std::fprintf(stderr, "ERROR: from element %s: %s\nAdditional debug info:\n%s\n", path.get(),
               error ? error->message : "(none)", debug ? debug : "");
  if (error) g_error_free(error);
}

// Runs until EOS (0) or an error (1).
int run(GstElement* pipeline) {
  // A refused state change also posts the error that says why.
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstPtr<GstBus> bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline));
  auto message = GstPtr<GstMessage>::adopt(gst_bus_timed_pop_filtered(
      bus.get(), GST_CLOCK_TIME_NONE, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
  int status = 0;
  if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR) {
    print_error(message.get());
    status = 1;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  return status;
}

bool parse_seconds(std::string_view text, GstClockTime& out) {
  std::string copy(text);
  char* end = nullptr;
  const double seconds = std::strtod(copy.c_str(), &end);
  // NaN, infinities and times past about 285 years are refused: no
  // GstClockTime (nor llround's long long of nanoseconds) holds them.
  if (end == copy.c_str() || *end != '\0' || !(seconds >= 0 && seconds < 9e9)) return false;
  out = static_cast<GstClockTime>(std::llround(seconds * GST_SECOND));
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  Jump jump;
  const char* description = nullptr;
  bool ok = true;
  for (int i = 1; i < argc && ok; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--at" && i + 1 < argc) {
      ok = parse_seconds(argv[++i], jump.at);
    } else if (arg == "--by" && i + 1 < argc) {
      ok = parse_seconds(argv[++i], jump.by);
    } else if (!description && !arg.starts_with("--")) {
      description = argv[i];
    } else {
      ok = false;
    }
  }
  if (!ok || !description) {
    std::fprintf(stderr, "usage: %s --at SECONDS --by SECONDS 'PIPELINE DESCRIPTION'\n", argv[0]);
    return 2;
  }

  GError* error = nullptr;
  GstElement* parsed = gst_parse_launch(description, &error);
  GstPtr<GstElement> pipeline = GstPtr<GstElement>::adopt(parsed ? GST_ELEMENT(gst_object_ref_sink(parsed)) : nullptr);
  if (error || !pipeline) {
    std::fprintf(stderr, "ERROR: pipeline could not be constructed: %s\n",
                 error ? error->message : "(no reason given)");
    if (error) g_error_free(error);
    return 1;
  }
  Probe probes[] = {{jump, true}, {jump, true}, {jump, false}, {jump, false}};
  const char* names[] = {"jumpv", "jumpa", "flagv", "flaga"};
  bool any = false;
  for (std::size_t i = 0; i < std::size(probes); ++i) any |= attach(pipeline.get(), names[i], probes[i]);
  if (!any) std::fprintf(stderr, "warning: no element named jumpv, jumpa, flagv or flaga\n");
  return run(pipeline.get());
}
