#include "publish_test.hpp"

#include <glib-unix.h>
#include <gst/gst.h>
#include <libsoup/soup.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <nlohmann/json.hpp>
#include <vector>

#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include "common/gst_ptr.hpp"
#include "log.hpp"
#include "sdp.hpp"

namespace nagare::launcher {

namespace {

// Sends `msg`, with `token` as its Bearer credential when there is one, and
// waits (10 s at most) for the answer: the status (0 when none came) and
// the body, or why nothing came.
std::pair<guint, std::string> send_http(SoupMessage* msg, const std::string& token) {
  if (!token.empty()) {
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization", ("Bearer " + token).c_str());
  }
  SoupSession* session = soup_session_new_with_options("timeout", 10u, nullptr);
  GError* error = nullptr;
  GBytes* bytes = soup_session_send_and_read(session, msg, nullptr, &error);
  std::string body;
  if (bytes) {
    gsize size = 0;
    const auto* data = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    body.assign(data, size);
    g_bytes_unref(bytes);
  } else {
    body = error ? error->message : "no answer";
  }
  g_clear_error(&error);
  g_object_unref(session);
  return {bytes ? soup_message_get_status(msg) : 0, body};
}

std::string sources(const TestPublisher::Options& o, const std::string& video_sink, const std::string& audio_sink) {
  const std::string fps = std::to_string(o.fps);
  return "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=" + std::to_string(o.width) +
         ",height=" + std::to_string(o.height) + ",framerate=" + fps + "/1 " +
         "! timeoverlay font-desc=\"Sans 36\" ! videoconvert ! video/x-raw,format=I420 "
         "! x264enc tune=zerolatency speed-preset=ultrafast bitrate=" +
         std::to_string(o.video_kbps) + " key-int-max=" + std::to_string(o.fps * 2) +
         " ! video/x-h264,profile=constrained-baseline "
         "! rtph264pay name=video_pay pt=96 mtu=1200 aggregate-mode=zero-latency config-interval=-1 ! " +
         video_sink +
         " "
         "audiotestsrc is-live=true wave=ticks freq=880 ! audio/x-raw,rate=48000,channels=2 "
         "! opusenc bitrate=64000 frame-size=20 ! rtpopuspay pt=111 ! " +
         audio_sink;
}

}  // namespace

std::string TestPublisher::description(const Options& o) {
  return sources(o, "udpsink host=" + o.host + " port=" + std::to_string(o.video_port) + " sync=false",
                 "udpsink host=" + o.host + " port=" + std::to_string(o.audio_port) + " sync=false");
}

std::optional<std::string> TestPublisher::ports_from_channel_url(const std::string& url, const std::string& token,
                                                                 bool keep_host, Options& o) {
  SoupMessage* msg = soup_message_new("GET", url.c_str());
  if (!msg) return url + ": not an http(s) URL";
  const auto [status, body] = send_http(msg, token);
  std::optional<std::string> problem;
  const auto answer = nlohmann::json::parse(body, nullptr, false);
  if (status == 0) {
    problem = url + ": " + body;
  } else if (status != 200) {
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
  g_object_unref(msg);
  return problem;
}

namespace {

GstPtr<GstElement> parse_pipeline(const std::string& description) {
  GError* error = nullptr;
  GstElement* element = gst_parse_launch(description.c_str(), &error);
  if (!element) {
    std::fprintf(stderr, "nagare publish-test: %s\n", error ? error->message : "cannot build the pipeline");
    g_clear_error(&error);
    return {};
  }
  g_clear_error(&error);
  return GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(element)));
}

// Plays `pipeline` until an error, SIGINT/SIGTERM, or `seconds` (0: no
// limit), with `loop` as the main loop; returns the exit code.
int play(GstElement* pipeline, GMainLoop* loop, double seconds) {
  int status = 0;
  struct Ctx {
    GMainLoop* loop;
    int* status;
  } ctx{loop, &status};
  auto bus = GstPtr<GstBus>::adopt(gst_element_get_bus(pipeline));
  const guint watch = gst_bus_add_watch(
      bus.get(),
      [](GstBus*, GstMessage* m, gpointer data) -> gboolean {
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
      },
      &ctx);
  guint signal_sources[2];
  int n = 0;
  for (int sig : {SIGINT, SIGTERM}) {
    signal_sources[n++] = g_unix_signal_add(
        sig,
        [](gpointer l) -> gboolean {
          g_main_loop_quit(static_cast<GMainLoop*>(l));
          return G_SOURCE_CONTINUE;
        },
        loop);
  }
  guint timer = 0;
  if (seconds > 0) {
    timer = g_timeout_add(
        static_cast<guint>(seconds * 1000),
        [](gpointer l) -> gboolean {
          g_main_loop_quit(static_cast<GMainLoop*>(l));
          return G_SOURCE_CONTINUE;
        },
        loop);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  g_main_loop_run(loop);
  if (timer) g_source_remove(timer);
  for (guint source : signal_sources) g_source_remove(source);
  g_source_remove(watch);
  return status;
}

}  // namespace

int TestPublisher::run(const Options& o) {
  auto pipeline = parse_pipeline(description(o));
  if (!pipeline) return 1;
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  log_line("publish-test", "sending H.264 to " + o.host + ":" + std::to_string(o.video_port) +
                               " and Opus to :" + std::to_string(o.audio_port));
  const int status = play(pipeline.get(), loop, o.seconds);
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  g_main_loop_unref(loop);
  return status;
}

namespace {

// What the WHIP publisher does, in order, on the main loop: offer once
// webrtcbin knows the caps, POST it, apply the answer; DELETE at the end.
struct WhipPublisher {
  GstElement* webrtc = nullptr;
  GMainLoop* loop = nullptr;
  std::string url;
  std::string token;
  std::string location;  // the session URL, once created
  std::vector<std::string> candidates;
  std::mutex candidates_mutex;
  int gather_wait_ms = 0;
  int status = 0;

  void fail(const std::string& why) {
    std::fprintf(stderr, "nagare publish-test: %s\n", why.c_str());
    status = 1;
    g_main_loop_quit(loop);
  }

  // Emits a webrtcbin action that answers through a promise, and waits for
  // the reply (webrtcbin's own thread gives it).
  GstPtr<GstStructure> call(const char* action, GstWebRTCSessionDescription* description) {
    GstPromise* promise = gst_promise_new();
    if (description) {
      g_signal_emit_by_name(webrtc, action, description, promise);
    } else {
      g_signal_emit_by_name(webrtc, action, nullptr, promise);
    }
    GstPtr<GstStructure> reply;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED && gst_promise_get_reply(promise)) {
      reply = GstPtr<GstStructure>::ref(const_cast<GstStructure*>(gst_promise_get_reply(promise)));
    }
    gst_promise_unref(promise);
    return reply;
  }

  void offer() {
    // sendonly: nagare only receives.
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(webrtc, "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
      g_object_set(g_array_index(transceivers, GstWebRTCRTPTransceiver*, i), "direction",
                   GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY, nullptr);
    }
    if (transceivers) g_array_unref(transceivers);
    auto reply = call("create-offer", nullptr);
    GstWebRTCSessionDescription* offer = nullptr;
    if (!reply || !gst_structure_get(reply.get(), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr)) {
      return fail("webrtcbin made no offer");
    }
    call("set-local-description", offer);
    gst_webrtc_session_description_free(offer);
    // Like OBS: no trickle, so wait for every candidate (bounded).
    g_timeout_add(
        50,
        [](gpointer data) -> gboolean {
          auto* self = static_cast<WhipPublisher*>(data);
          GstWebRTCICEGatheringState state;
          g_object_get(self->webrtc, "ice-gathering-state", &state, nullptr);
          self->gather_wait_ms += 50;
          if (state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && self->gather_wait_ms < 3000) return G_SOURCE_CONTINUE;
          self->post_offer();
          return G_SOURCE_REMOVE;
        },
        this);
  }

  void post_offer() {
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc, "local-description", &local, nullptr);
    std::unique_ptr<gchar, GFreeDeleter> text(local ? gst_sdp_message_as_text(local->sdp) : nullptr);
    if (local) gst_webrtc_session_description_free(local);
    if (!text) return fail("webrtcbin has no local description");
    std::vector<std::string> all;
    {
      std::lock_guard lock(candidates_mutex);
      all = candidates;
    }
    const std::string offer = sdp::with_candidates(text.get(), sdp::order_candidates(all));

    SoupMessage* msg = soup_message_new("POST", url.c_str());
    if (!msg) return fail(url + ": not an http(s) URL");
    GBytes* body = g_bytes_new(offer.data(), offer.size());
    soup_message_set_request_body_from_bytes(msg, "application/sdp", body);
    g_bytes_unref(body);
    auto [status_code, answer] = send_http(msg, token);
    if (status_code != 201) {
      g_object_unref(msg);
      return fail(url + ": HTTP " + std::to_string(status_code) + ": " + answer);
    }
    const char* where = soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location");
    if (where) {
      std::unique_ptr<gchar, GFreeDeleter> resolved(
          g_uri_resolve_relative(url.c_str(), where, G_URI_FLAGS_NONE, nullptr));
      if (resolved) location = resolved.get();
    }
    g_object_unref(msg);
    GstSDPMessage* sdp = nullptr;
    if (gst_sdp_message_new_from_text(answer.c_str(), &sdp) != GST_SDP_OK) return fail("the answer is not SDP");
    GstWebRTCSessionDescription* description = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, sdp);
    auto reply = call("set-remote-description", description);
    gst_webrtc_session_description_free(description);
    GError* error = nullptr;
    if (reply && gst_structure_get(reply.get(), "error", G_TYPE_ERROR, &error, nullptr) && error) {
      const std::string why = std::string("the answer was refused: ") + error->message;
      g_error_free(error);
      return fail(why);
    }
    log_line("publish-test", "WHIP session " + location);
  }

  void end_session() {
    if (location.empty()) return;
    SoupMessage* msg = soup_message_new("DELETE", location.c_str());
    if (!msg) return;
    auto [code, body] = send_http(msg, token);
    g_object_unref(msg);
    log_line("publish-test", "WHIP DELETE: HTTP " + std::to_string(code));
  }
};

}  // namespace

int TestPublisher::run_whip(const Options& o, const std::string& whip_url, const std::string& token) {
  const std::string caps_video = "application/x-rtp,media=video,encoding-name=H264,payload=96,clock-rate=90000";
  const std::string caps_audio = "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000";
  auto pipeline = parse_pipeline("webrtcbin name=webrtc bundle-policy=max-bundle " +
                                 sources(o, caps_video + " ! webrtc.", caps_audio + " ! webrtc."));
  if (!pipeline) return 1;
  GMainLoop* loop = g_main_loop_new(nullptr, FALSE);
  WhipPublisher whip;
  whip.webrtc = gst_bin_get_by_name(GST_BIN(pipeline.get()), "webrtc");
  whip.loop = loop;
  whip.url = whip_url;
  whip.token = token;
  g_signal_connect(whip.webrtc, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint, gchar* c, gpointer data) {
                     auto* self = static_cast<WhipPublisher*>(data);
                     std::lock_guard lock(self->candidates_mutex);
                     self->candidates.emplace_back(c);
                   }),
                   &whip);
  // webrtcbin asks once it knows both streams' caps; the offer is made on
  // the main loop.
  g_signal_connect(whip.webrtc, "on-negotiation-needed", G_CALLBACK(+[](GstElement*, gpointer data) {
                     g_idle_add(
                         [](gpointer d) -> gboolean {
                           static_cast<WhipPublisher*>(d)->offer();
                           return G_SOURCE_REMOVE;
                         },
                         data);
                   }),
                   &whip);
  // The receiver's PLIs come out of webrtcbin as key-frame requests going
  // upstream: counted, so a test can see that they arrive.
  std::atomic<unsigned> key_frame_requests{0};
  GstElement* pay = gst_bin_get_by_name(GST_BIN(pipeline.get()), "video_pay");
  GstPtr<GstPad> pay_src = GstPtr<GstPad>::adopt(gst_element_get_static_pad(pay, "src"));
  gst_object_unref(pay);
  gst_pad_add_probe(
      pay_src.get(), GST_PAD_PROBE_TYPE_EVENT_UPSTREAM,
      [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
        const GstStructure* s = gst_event_get_structure(GST_PAD_PROBE_INFO_EVENT(info));
        if (s && gst_structure_has_name(s, "GstForceKeyUnit")) {
          static_cast<std::atomic<unsigned>*>(data)->fetch_add(1);
        }
        return GST_PAD_PROBE_OK;
      },
      &key_frame_requests, nullptr);
  log_line("publish-test", "publishing over WHIP to " + whip_url);
  int status = play(pipeline.get(), loop, o.seconds);
  log_line("publish-test", "key frames asked for by the receiver: " + std::to_string(key_frame_requests.load()));
  if (whip.status != 0) status = whip.status;
  whip.end_session();
  gst_element_set_state(pipeline.get(), GST_STATE_NULL);
  gst_object_unref(whip.webrtc);
  g_main_loop_unref(loop);
  return status;
}

}  // namespace nagare::launcher
