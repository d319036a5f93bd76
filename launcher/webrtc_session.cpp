#include "webrtc_session.hpp"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <cstring>

#include "log.hpp"

namespace nagare::launcher {

namespace {

constexpr std::int64_t kMinPliIntervalUs = 500'000;
constexpr guint kGatherTimeoutMs = 3000;  // host candidates take milliseconds; STUN may take seconds

std::int64_t now_us() { return g_get_monotonic_time(); }

// A GstPromise reference that a std::function can copy.
using PromisePtr = std::shared_ptr<GstPromise>;

std::string reply_error(const GstStructure* reply, const char* what) {
  if (!reply) return std::string(what) + ": webrtcbin stopped before answering";
  GError* error = nullptr;
  if (gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr) && error) {
    std::string text = std::string(what) + ": " + error->message;
    g_error_free(error);
    return text;
  }
  return {};
}

std::string sdp_text(const GstWebRTCSessionDescription* description) {
  if (!description || !description->sdp) return {};
  std::unique_ptr<gchar, GFreeDeleter> text(gst_sdp_message_as_text(description->sdp));
  return text ? text.get() : "";
}

// The a=candidate values a description carries (webrtcbin 1.22 adds the
// ones it gathers to its local description).
std::vector<std::string> candidates_in(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while ((pos = text.find("a=candidate:", pos)) != std::string::npos) {
    const std::size_t start = pos + 2;
    const std::size_t end = text.find_first_of("\r\n", start);
    out.push_back(text.substr(start, end - start));
    pos = end == std::string::npos ? text.size() : end;
  }
  return out;
}

void rewrite_payload_type(GstBuffer* buffer, int payload_type) {
  const BufferMap map(buffer, GST_MAP_READWRITE);
  const auto bytes = map.writable_bytes();
  if (bytes.size() < 12 || (bytes[0] >> 6) != 2) return;  // not RTP: the channel counts and drops it
  bytes[1] = static_cast<std::uint8_t>((bytes[1] & 0x80) | (payload_type & 0x7f));
}

}  // namespace

// What a forwarding probe needs; it lives as long as the session's pipeline.
struct WebrtcSession::Forward {
  int payload_type;
  std::atomic<std::int64_t>* last_packet_us;
};

std::shared_ptr<WebrtcSession> WebrtcSession::create(std::string name, WebrtcOptions options, RtpTarget target,
                                                     Ended on_ended, std::string* error) {
  std::shared_ptr<WebrtcSession> session(
      new WebrtcSession(std::move(name), std::move(options), std::move(target), std::move(on_ended)));
  if (!session->build(error)) {
    session->close();
    return nullptr;
  }
  return session;
}

WebrtcSession::WebrtcSession(std::string name, WebrtcOptions options, RtpTarget target, Ended on_ended)
    : name_(std::move(name)),
      options_(std::move(options)),
      target_(std::move(target)),
      on_ended_(std::move(on_ended)),
      context_(g_main_context_ref_thread_default()) {}

WebrtcSession::~WebrtcSession() {
  close();
  g_main_context_unref(context_);
}

// Runs `task` on the session's main context, if the session still exists and
// is not closed by then.
void WebrtcSession::post(std::function<void(WebrtcSession&)> task) {
  struct Job {
    std::weak_ptr<WebrtcSession> self;
    std::function<void(WebrtcSession&)> task;
  };
  g_main_context_invoke_full(
      context_, G_PRIORITY_DEFAULT,
      [](gpointer data) -> gboolean {
        auto* job = static_cast<Job*>(data);
        if (auto self = job->self.lock(); self && !self->closed_) job->task(*self);
        return G_SOURCE_REMOVE;
      },
      new Job{weak_from_this(), std::move(task)}, [](gpointer data) { delete static_cast<Job*>(data); });
}

// A promise whose reply is handled on the session's main context: `then`
// gets the reply, an empty structure when webrtcbin replied with none (its
// way of saying all went well), or null when the promise was interrupted.
GstPromise* WebrtcSession::promise(Then then) {
  struct Data {
    std::weak_ptr<WebrtcSession> self;
    Then then;
  };
  return gst_promise_new_with_change_func(
      [](GstPromise* promise, gpointer data) {
        auto* d = static_cast<Data*>(data);
        auto self = d->self.lock();
        if (!self) return;
        PromisePtr keep(gst_promise_ref(promise), gst_promise_unref);
        self->post([keep, then = d->then](WebrtcSession& s) {
          if (gst_promise_wait(keep.get()) == GST_PROMISE_RESULT_REPLIED) {
            static const GstStructure* const kEmpty = gst_structure_new_empty("ok");
            const GstStructure* reply = gst_promise_get_reply(keep.get());
            return then(s, reply ? reply : kEmpty);
          }
          then(s, nullptr);
        });
      },
      new Data{weak_from_this(), std::move(then)}, [](gpointer data) { delete static_cast<Data*>(data); });
}

bool WebrtcSession::build(std::string* error) {
  pipeline_ =
      GstPtr<GstElement>::adopt(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(("webrtc-" + name_).c_str()))));
  webrtc_ = GstPtr<GstElement>::ref(gst_element_factory_make("webrtcbin", "webrtc"));
  if (!webrtc_) {
    *error = "webrtcbin is missing (install gstreamer1.0-plugins-bad and gstreamer1.0-nice)";
    return false;
  }
  gst_bin_add(GST_BIN(pipeline_.get()), webrtc_.get());
  g_object_set(webrtc_.get(), "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
               options_.jitter_latency_ms, nullptr);
  if (!options_.stun_servers.empty())
    g_object_set(webrtc_.get(), "stun-server", options_.stun_servers[0].c_str(), nullptr);

  // rtpbin inside webrtcbin would delay one stream against the other to
  // match the publisher's RTCP sender reports. The channel's nagarealign
  // aligns audio and video from arrival times itself (as for RTP input),
  // and a delay added here would look to it like a 1 s transit difference
  // and make it drop audio until the two were slewed together. Offsets
  // larger than 1 ns are ignored, which turns RTCP lip-sync off.
  if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_.get()), "rtpbin")) {
    g_object_set(rtpbin, "max-ts-offset", static_cast<gint64>(1), nullptr);
    gst_object_unref(rtpbin);
  }

  GstObject* ice = nullptr;
  g_object_get(webrtc_.get(), "ice-agent", &ice, nullptr);
  if (ice) {
    // Browsers, OBS and ffmpeg all reach a server over UDP; TCP candidates
    // would only lengthen the answer.
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(ice), "ice-tcp")) g_object_set(ice, "ice-tcp", FALSE, nullptr);
    if (options_.min_port != 0) {
      g_object_set(ice, "min-rtp-port", static_cast<guint>(options_.min_port), "max-rtp-port",
                   static_cast<guint>(options_.max_port), nullptr);
    }
    gst_object_unref(ice);
  }

  auto weak = [this] { return new std::weak_ptr<WebrtcSession>(weak_from_this()); };
  auto drop_weak = [](gpointer data, GClosure*) { delete static_cast<std::weak_ptr<WebrtcSession>*>(data); };
  g_signal_connect_data(
      webrtc_.get(), "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint, gchar* candidate, gpointer data) {
        auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock();
        if (!self) return;
        self->post([c = std::string(candidate)](WebrtcSession& s) { s.local_candidates_.push_back(c); });
      }),
      weak(), drop_weak, static_cast<GConnectFlags>(0));
  g_signal_connect_data(webrtc_.get(), "notify::ice-gathering-state",
                        G_CALLBACK(+[](GstElement* webrtc, GParamSpec*, gpointer data) {
                          GstWebRTCICEGatheringState state;
                          g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
                          auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock();
                          if (!self || state != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
                          self->post([](WebrtcSession& s) {
                            s.gathering_done_ = true;
                            // The last candidates may still be on their way
                            // from webrtcbin's thread: give them a moment.
                            g_timeout_add(
                                50,
                                [](gpointer d) -> gboolean {
                                  auto w = static_cast<std::weak_ptr<WebrtcSession>*>(d);
                                  if (auto s2 = w->lock(); s2 && !s2->closed_) s2->finish_local_description();
                                  delete w;
                                  return G_SOURCE_REMOVE;
                                },
                                new std::weak_ptr<WebrtcSession>(s.weak_from_this()));
                          });
                        }),
                        weak(), drop_weak, static_cast<GConnectFlags>(0));
  g_signal_connect_data(webrtc_.get(), "notify::connection-state",
                        G_CALLBACK(+[](GstElement* webrtc, GParamSpec*, gpointer data) {
                          GstWebRTCPeerConnectionState state;
                          g_object_get(webrtc, "connection-state", &state, nullptr);
                          if (auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock()) {
                            self->post([state](WebrtcSession& s) { s.on_connection_state(state); });
                          }
                        }),
                        weak(), drop_weak, static_cast<GConnectFlags>(0));
  g_signal_connect_data(webrtc_.get(), "pad-added", G_CALLBACK(+[](GstElement*, GstPad* pad, gpointer data) {
                          if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
                          if (auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock()) {
                            self->on_pad_added(pad);
                          }
                        }),
                        weak(), drop_weak, static_cast<GConnectFlags>(0));

  GstPtr<GstBus> bus = GstPtr<GstBus>::adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline_.get())));
  gst_bus_add_watch_full(
      bus.get(), G_PRIORITY_DEFAULT,
      [](GstBus*, GstMessage* message, gpointer data) -> gboolean {
        if (GST_MESSAGE_TYPE(message) != GST_MESSAGE_ERROR) return G_SOURCE_CONTINUE;
        GError* err = nullptr;
        gst_message_parse_error(message, &err, nullptr);
        const std::string why = std::string("pipeline error: ") + (err ? err->message : "unknown");
        g_clear_error(&err);
        if (auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock()) {
          self->post([why](WebrtcSession& s) { s.end(why); });
        }
        return G_SOURCE_CONTINUE;
      },
      weak(), [](gpointer data) { delete static_cast<std::weak_ptr<WebrtcSession>*>(data); });

  if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    *error = "webrtcbin did not start";
    return false;
  }
  health_source_ = g_timeout_add_seconds_full(
      G_PRIORITY_DEFAULT, 1,
      [](gpointer data) -> gboolean {
        if (auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock(); self && !self->closed_) {
          self->check_health();
        }
        return G_SOURCE_CONTINUE;
      },
      weak(), [](gpointer data) { delete static_cast<std::weak_ptr<WebrtcSession>*>(data); });
  return true;
}

void WebrtcSession::answer(const std::string& offer, const sdp::Choice& choice, DescriptionDone done) {
  const std::string restricted = sdp::restrict_offer(offer, choice);
  GstSDPMessage* message = nullptr;
  if (gst_sdp_message_new_from_text(restricted.c_str(), &message) != GST_SDP_OK) {
    if (message) gst_sdp_message_free(message);
    return done("", "offer: not a session description GStreamer can read");
  }
  audio_mid_ = choice.audio_mid;
  video_mid_ = choice.video_mid;
  // webrtcbin 1.22 answers H.264 without the offer's profile-level-id; the
  // publisher would then fall back to its lowest profile and level.
  // It also leaves out plain "nack" although its jitter buffer asks for
  // retransmissions (do-nack below): without the line the publisher would
  // not resend.
  mend_local_ = [choice](std::string text) {
    text = sdp::set_fmtp(text, choice.video_mid, choice.video_payload_type, choice.video_fmtp);
    const std::string pt = std::to_string(choice.video_payload_type);
    const std::string nack = "a=rtcp-fb:" + pt + " nack\r\n";
    if (choice.nack && text.find(nack) == std::string::npos) {
      if (const auto at = text.find("a=rtcp-fb:" + pt + " "); at != std::string::npos) text.insert(at, nack);
    }
    return text;
  };
  pending_done_ = std::move(done);
  GstWebRTCSessionDescription* description = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, message);
  GstPromise* set_remote = promise([](WebrtcSession& s, const GstStructure* reply) {
    if (std::string e = reply_error(reply, "offer"); !e.empty()) return s.end_pending(e);
    // NACK on every receiving transceiver: rtpbin then asks for what the
    // network lost while the jitter buffer still waits for it.
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(s.webrtc_.get(), "get-transceivers", &transceivers);
    for (guint i = 0; transceivers && i < transceivers->len; ++i) {
      auto* t = g_array_index(transceivers, GstWebRTCRTPTransceiver*, i);
      if (g_object_class_find_property(G_OBJECT_GET_CLASS(t), "do-nack")) g_object_set(t, "do-nack", TRUE, nullptr);
    }
    if (transceivers) g_array_unref(transceivers);
    GstPromise* create = s.promise([](WebrtcSession& s2, const GstStructure* r) {
      if (std::string e = reply_error(r, "answer"); !e.empty()) return s2.end_pending(e);
      GstWebRTCSessionDescription* answer = nullptr;
      if (!r || !gst_structure_get(r, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr) || !answer) {
        return s2.end_pending("answer: webrtcbin made none for this offer");
      }
      s2.set_local(answer);
      gst_webrtc_session_description_free(answer);
    });
    g_signal_emit_by_name(s.webrtc_.get(), "create-answer", nullptr, create);
  });
  g_signal_emit_by_name(webrtc_.get(), "set-remote-description", description, set_remote);
  gst_webrtc_session_description_free(description);
}

void WebrtcSession::offer(const std::string& h264_profile, DescriptionDone done) {
  // Opus first and H.264 second, as Sora offers them; recvonly, so that the
  // publisher's addTrack() takes these transceivers; one format each.
  const std::string audio =
      "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111,encoding-params=(string)2,"
      "minptime=(string)10,useinbandfec=(string)1,rtcp-fb-transport-cc=(boolean)true";
  const std::string video =
      "application/x-rtp,media=video,encoding-name=H264,clock-rate=90000,payload=96,packetization-mode=(string)1,"
      "level-asymmetry-allowed=(string)1,profile-level-id=(string)" +
      h264_profile +
      ",rtcp-fb-nack=(boolean)true,rtcp-fb-nack-pli=(boolean)true,rtcp-fb-ccm-fir=(boolean)true,"
      "rtcp-fb-transport-cc=(boolean)true";
  for (const std::string& caps_text : {audio, video}) {
    GstPtr<GstCaps> caps = GstPtr<GstCaps>::adopt(gst_caps_from_string(caps_text.c_str()));
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    g_signal_emit_by_name(webrtc_.get(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps.get(),
                          &transceiver);
    if (transceiver) {
      // NACK (with RTX, which webrtcbin then offers) for video only: a lost
      // Opus packet is concealed sooner than it could be resent.
      if (caps_text == video && g_object_class_find_property(G_OBJECT_GET_CLASS(transceiver), "do-nack")) {
        g_object_set(transceiver, "do-nack", TRUE, nullptr);
      }
      gst_object_unref(transceiver);
    }
  }
  mend_local_ = [this, h264_profile](std::string text) {
    const auto parsed = sdp::parse(text);
    if (!parsed.value) return text;
    for (const auto& m : parsed.value->media) {
      if (m.kind == "audio" && audio_mid_.empty()) audio_mid_ = m.mid;
      if (m.kind == "video" && video_mid_.empty()) video_mid_ = m.mid;
    }
    return sdp::set_fmtp(text, video_mid_, 96,
                         "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + h264_profile);
  };
  pending_done_ = std::move(done);
  GstPromise* create = promise([](WebrtcSession& s, const GstStructure* reply) {
    if (std::string e = reply_error(reply, "offer"); !e.empty()) return s.end_pending(e);
    GstWebRTCSessionDescription* offer = nullptr;
    if (!reply || !gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr) || !offer) {
      return s.end_pending("offer: webrtcbin made none");
    }
    s.set_local(offer);
    gst_webrtc_session_description_free(offer);
  });
  g_signal_emit_by_name(webrtc_.get(), "create-offer", nullptr, create);
}

void WebrtcSession::accept_answer(const std::string& answer, DescriptionDone done) {
  GstSDPMessage* message = nullptr;
  if (gst_sdp_message_new_from_text(answer.c_str(), &message) != GST_SDP_OK) {
    if (message) gst_sdp_message_free(message);
    return done("", "answer: not a session description GStreamer can read");
  }
  GstWebRTCSessionDescription* description = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, message);
  GstPromise* set_remote = promise([done = std::move(done)](WebrtcSession& s, const GstStructure* reply) {
    if (std::string e = reply_error(reply, "answer"); !e.empty()) return done("", e);
    s.exchanged_at_us_ = now_us();
    done("", "");
  });
  g_signal_emit_by_name(webrtc_.get(), "set-remote-description", description, set_remote);
  gst_webrtc_session_description_free(description);
}

void WebrtcSession::set_local(GstWebRTCSessionDescription* description) {
  const bool is_answer = description->type == GST_WEBRTC_SDP_TYPE_ANSWER;
  GstPromise* set = promise([is_answer](WebrtcSession& s, const GstStructure* reply) {
    if (std::string e = reply_error(reply, is_answer ? "answer" : "offer"); !e.empty()) return s.end_pending(e);
    if (is_answer) s.exchanged_at_us_ = now_us();
    s.local_set_ = true;
    if (s.gathering_done_) return s.finish_local_description();
    s.gather_timeout_ = g_timeout_add_full(
        G_PRIORITY_DEFAULT, kGatherTimeoutMs,
        [](gpointer data) -> gboolean {
          if (auto self = static_cast<std::weak_ptr<WebrtcSession>*>(data)->lock(); self && !self->closed_) {
            self->gather_timeout_ = 0;
            self->finish_local_description();
          }
          return G_SOURCE_REMOVE;
        },
        new std::weak_ptr<WebrtcSession>(s.weak_from_this()),
        [](gpointer data) { delete static_cast<std::weak_ptr<WebrtcSession>*>(data); });
  });
  g_signal_emit_by_name(webrtc_.get(), "set-local-description", description, set);
}

// Hands the local description out, once: after ICE gathering completed, or
// with what was gathered when it takes too long (a STUN server that does not
// answer).
void WebrtcSession::finish_local_description() {
  if (!pending_done_ || !local_set_) return;
  if (gather_timeout_) {
    g_source_remove(gather_timeout_);
    gather_timeout_ = 0;
  }
  GstWebRTCSessionDescription* local = nullptr;
  g_object_get(webrtc_.get(), "local-description", &local, nullptr);
  std::string text = sdp_text(local);
  if (local) gst_webrtc_session_description_free(local);
  std::vector<std::string> candidates = candidates_in(text);
  candidates.insert(candidates.end(), local_candidates_.begin(), local_candidates_.end());
  if (mend_local_) text = mend_local_(std::move(text));
  text = sdp::with_candidates(text, sdp::order_candidates(candidates));
  auto done = std::move(pending_done_);
  pending_done_ = nullptr;
  done(std::move(text), "");
}

// A failure before the local description went out: the caller hears why,
// and the session ends without a second report.
void WebrtcSession::end_pending(const std::string& why) {
  auto done = std::move(pending_done_);
  pending_done_ = nullptr;
  auto self = shared_from_this();
  close();
  if (done) done("", why);
}

void WebrtcSession::on_pad_added(GstPad* pad) {
  // Runs on a streaming thread: only elements are made and linked here.
  std::string kind;
  if (GstPtr<GstCaps> caps = GstPtr<GstCaps>::adopt(gst_pad_get_current_caps(pad))) {
    if (const char* media = gst_structure_get_string(gst_caps_get_structure(caps.get(), 0), "media")) kind = media;
  }
  if (kind.empty() && g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "transceiver")) {
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    g_object_get(pad, "transceiver", &transceiver, nullptr);
    if (transceiver) {
      GstWebRTCKind k = GST_WEBRTC_KIND_UNKNOWN;
      if (g_object_class_find_property(G_OBJECT_GET_CLASS(transceiver), "kind"))
        g_object_get(transceiver, "kind", &k, nullptr);
      kind = k == GST_WEBRTC_KIND_VIDEO ? "video" : k == GST_WEBRTC_KIND_AUDIO ? "audio" : "";
      gst_object_unref(transceiver);
    }
  }
  const bool video = kind == "video";
  bool forward = false;
  {
    std::lock_guard lock(video_pad_mutex_);
    if (video && !video_pad_) {
      video_pad_ = GstPtr<GstPad>::ref(pad);
      forward = true;
    } else if (kind == "audio" && !audio_forwarded_) {
      audio_forwarded_ = true;
      forward = true;
    }
  }
  GstElement* sink = nullptr;
  if (forward) {
    sink = gst_element_factory_make("udpsink", nullptr);
    g_object_set(sink, "host", target_.host.c_str(), "port",
                 static_cast<gint>(video ? target_.video_port : target_.audio_port), "sync", FALSE, "async", FALSE,
                 nullptr);
    auto* f = new Forward{video ? target_.video_payload_type : target_.audio_payload_type, &last_packet_us_};
    gst_pad_add_probe(
        pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        [](GstPad*, GstPadProbeInfo* info, gpointer data) -> GstPadProbeReturn {
          const auto* f = static_cast<const Forward*>(data);
          if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
            GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
            GST_PAD_PROBE_INFO_DATA(info) = buffer;
            rewrite_payload_type(buffer, f->payload_type);
          } else {
            GstBufferList* list = gst_buffer_list_make_writable(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
            GST_PAD_PROBE_INFO_DATA(info) = list;
            gst_buffer_list_foreach(
                list,
                [](GstBuffer** buffer, guint, gpointer pt) -> gboolean {
                  *buffer = gst_buffer_make_writable(*buffer);
                  rewrite_payload_type(*buffer, GPOINTER_TO_INT(pt));
                  return TRUE;
                },
                GINT_TO_POINTER(f->payload_type));
          }
          f->last_packet_us->store(now_us(), std::memory_order_relaxed);
          return GST_PAD_PROBE_OK;
        },
        f, [](gpointer data) { delete static_cast<Forward*>(data); });
  } else {
    // A stream nagare does not take (a second video, simulcast): dropped.
    sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  }
  gst_bin_add(GST_BIN(pipeline_.get()), sink);
  gst_element_sync_state_with_parent(sink);
  GstPtr<GstPad> sink_pad = GstPtr<GstPad>::adopt(gst_element_get_static_pad(sink, "sink"));
  if (gst_pad_link(pad, sink_pad.get()) != GST_PAD_LINK_OK) {
    post([kind](WebrtcSession& s) { s.end("cannot forward the " + kind + " stream"); });
    return;
  }
  log_line(name_, "receiving " + (kind.empty() ? std::string("an unknown") : kind) + " stream" +
                      (forward ? "" : " (ignored: nagare takes one audio and one video)"));
}

void WebrtcSession::on_connection_state(int state) {
  switch (static_cast<GstWebRTCPeerConnectionState>(state)) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
      if (connected_) return;
      connected_ = true;
      last_packet_us_.store(now_us(), std::memory_order_relaxed);  // media timeout counts from here
      log_line(name_, "connected");
      if (on_connected_) on_connected_();
      return;
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED: return end("the connection failed (ICE or DTLS)");
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED: return end("the publisher closed the connection");
    default: return;
  }
}

void WebrtcSession::check_health() {
  const std::int64_t now = now_us();
  if (!connected_) {
    if (exchanged_at_us_ != 0 && now - exchanged_at_us_ > std::int64_t(options_.connect_timeout_s) * 1'000'000) {
      end("no connection within " + std::to_string(options_.connect_timeout_s) + " s of the answer");
    }
    return;
  }
  const std::int64_t last = last_packet_us_.load(std::memory_order_relaxed);
  if (now - last > std::int64_t(options_.media_timeout_s) * 1'000'000) {
    return end("no media for " + std::to_string(options_.media_timeout_s) + " s");
  }
  // Some publishers send a key frame only when asked: asking every few
  // seconds bounds how long a viewer joining after a loss waits.
  if (options_.key_frame_interval_s != 0 &&
      now - last_key_request_us_ >= std::int64_t(options_.key_frame_interval_s) * 1'000'000) {
    last_key_request_us_ = now;
    request_key_frame();
  }
}

void WebrtcSession::request_key_frame() {
  GstPtr<GstPad> pad;
  {
    std::lock_guard lock(video_pad_mutex_);
    const std::int64_t now = now_us();
    if (!video_pad_ || now - last_pli_us_ < kMinPliIntervalUs) return;
    last_pli_us_ = now;
    pad = video_pad_;
  }
  // Upstream through webrtcbin, the RTP session turns this into an RTCP PLI
  // (or FIR) to the publisher's video SSRC.
  GstStructure* s = gst_structure_new("GstForceKeyUnit", "all-headers", G_TYPE_BOOLEAN, TRUE, nullptr);
  gst_pad_send_event(pad.get(), gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, s));
}

void WebrtcSession::add_remote_candidate(unsigned mline_index, const std::string& candidate) {
  if (closed_ || candidate.empty()) return;
  g_signal_emit_by_name(webrtc_.get(), "add-ice-candidate", mline_index, candidate.c_str());
}

void WebrtcSession::end(const std::string& why) {
  if (closed_) return;
  auto self = shared_from_this();  // on_ended may drop the last other reference
  auto callback = std::move(on_ended_);
  log_line(name_, "ended: " + why);
  close();
  if (callback) callback(why);
}

void WebrtcSession::close() {
  if (closed_) return;
  closed_ = true;
  on_ended_ = nullptr;
  on_connected_ = nullptr;
  for (guint* source : {&health_source_, &gather_timeout_}) {
    if (*source) g_source_remove(*source);
    *source = 0;
  }
  {
    std::lock_guard lock(video_pad_mutex_);
    video_pad_.reset();
  }
  if (pipeline_) {
    if (GstPtr<GstBus> bus = GstPtr<GstBus>::adopt(gst_pipeline_get_bus(GST_PIPELINE(pipeline_.get())))) {
      gst_bus_remove_watch(bus.get());
    }
    gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
  }
  webrtc_.reset();
  pipeline_.reset();
}

}  // namespace nagare::launcher
