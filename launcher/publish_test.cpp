#include "publish_test.hpp"

#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "common/gst_ptr.hpp"
#include "log.hpp"

namespace nagare::launcher {

std::string TestPublisher::description(const Options& o) {
  const std::string fps = std::to_string(o.fps);
  return "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=" + std::to_string(o.width) +
         ",height=" + std::to_string(o.height) + ",framerate=" + fps + "/1 " +
         "! timeoverlay font-desc=\"Sans 36\" ! videoconvert ! video/x-raw,format=I420 "
         "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=" + std::to_string(o.video_kbps) +
         " key-int-max=" + std::to_string(o.fps * 2) +
         " ! video/x-h264,profile=constrained-baseline "
         "! rtph264pay pt=96 mtu=1200 aggregate-mode=zero-latency config-interval=-1 "
         "! udpsink host=" + o.host + " port=" + std::to_string(o.video_port) + " sync=false "
         "audiotestsrc is-live=true wave=ticks freq=880 ! audio/x-raw,rate=48000,channels=2 "
         "! opusenc bitrate=64000 frame-size=20 ! rtpopuspay pt=111 "
         "! udpsink host=" + o.host + " port=" + std::to_string(o.audio_port) + " sync=false";
}

std::optional<std::string> TestPublisher::ports_from_channel_url(const std::string& url, const std::string& token,
                                                                 bool keep_host, Options& o) {
  SoupMessage* msg = soup_message_new("GET", url.c_str());
  if (!msg) return url + ": not an http(s) URL";
  if (!token.empty()) {
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", ("Bearer " + token).c_str());
  }
  SoupSession* session = soup_session_new();
  GError* error = nullptr;
  GBytes* body = soup_session_send_and_read(session, msg, nullptr, &error);
  std::optional<std::string> problem;
  const guint status = soup_message_get_status(msg);
  if (!body) {
    problem = url + ": " + (error ? error->message : "no answer");
  } else {
    gsize size = 0;
    const auto* data = static_cast<const char*>(g_bytes_get_data(body, &size));
    const auto answer = nlohmann::json::parse(data, data + size, nullptr, false);
    if (status != 200) {
      problem = url + ": HTTP " + std::to_string(status) +
                (answer.is_object() && answer.contains("error") ? ": " + answer["error"].dump() : "");
    } else if (!answer.is_object() || !answer.contains("rtp") || !answer["rtp"].is_object() ||
               !answer["rtp"].value("video_port", nlohmann::json()).is_number_integer() ||
               !answer["rtp"].value("audio_port", nlohmann::json()).is_number_integer()) {
      problem = url + ": the answer has no rtp.video_port and rtp.audio_port (is it /api/channels/<channel_id>?)";
    } else {
      o.video_port = answer["rtp"]["video_port"].get<int>();
      o.audio_port = answer["rtp"]["audio_port"].get<int>();
      if (!keep_host) o.host = g_uri_get_host(soup_message_get_uri(msg));
    }
    g_bytes_unref(body);
  }
  g_clear_error(&error);
  g_object_unref(session);
  g_object_unref(msg);
  return problem;
}

int TestPublisher::run(const Options& o) {
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description(o).c_str(), &error);
  if (!element) {
    std::fprintf(stderr, "nagare publish-test: %s\n", error ? error->message : "cannot build the pipeline");
    g_clear_error(&error);
    return 1;
  }
  g_clear_error(&error);
  auto pipeline = GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  int status = 0;
  struct Ctx {
    GMainLoop* loop;
    int* status;
  } ctx{loop, &status};
  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline.get()));
  const guint watch = gst_bus_add_watch(bus.get(), [](GstBus*, GstMessage* m, gpointer data) -> gboolean {
    auto* c = static_cast<Ctx*>(data);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      std::fprintf(stderr, "nagare publish-test: %s\n", e ? e->message : "error");
      g_clear_error(&e);
      *c->status = 1;
      g_main_loop_quit(c->loop);
    }
    return G_SOURCE_CONTINUE;
  }, &ctx);
  for (int sig : {SIGINT, SIGTERM}) {
    g_unix_signal_add(sig, [](gpointer l) -> gboolean {
      g_main_loop_quit(static_cast<GMainLoop*>(l));
      return G_SOURCE_REMOVE;
    }, loop);
  }
  if (o.seconds > 0) {
    g_timeout_add(static_cast<guint>(o.seconds * 1000), [](gpointer l) -> gboolean {
      g_main_loop_quit(static_cast<GMainLoop*>(l));
      return G_SOURCE_REMOVE;
    }, loop);
  }
  log_line("publish-test", "sending H.264 to " + o.host + ":" + std::to_string(o.video_port) + " and Opus to :" +
                               std::to_string(o.audio_port));
  gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
  g_main_loop_run(loop);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  g_source_remove(watch);
  g_main_loop_unref(loop);
  return status;
}

}  // namespace nagare::launcher
