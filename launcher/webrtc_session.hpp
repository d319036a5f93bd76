// One WebRTC publisher: a pipeline of its own around webrtcbin, which
// receives the publisher's H.264 and Opus, decrypts them, and forwards the
// RTP to the channel's RTP ports on loopback with the channel's payload
// types. The channel's pipeline is then the same for WebRTC and plain RTP
// input, and a publisher whose connection breaks or misbehaves can only end
// its own session, never the channel.
//
// Both ways of making the connection are here: answering the publisher's
// offer (WHIP) and offering to the publisher (Sora signaling). Either way the
// description handed out holds every local candidate, so clients that never
// trickle (OBS, ffmpeg) connect through the peer-reflexive candidates their
// checks create.
//
// Public calls and callbacks run on the GLib main context that created the
// session; webrtcbin's own threads only post to it. request_key_frame() may
// be called from any thread.
#pragma once

#include <gst/gst.h>
// The webrtc library still asks for this, though its API has not changed
// since 1.16.
#define GST_USE_UNSTABLE_API
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/gst_ptr.hpp"
#include "sdp.hpp"

namespace nagare::launcher {

struct WebrtcOptions {
  std::vector<std::string> stun_servers;  // "stun://host:port", also sent to clients
  std::uint16_t min_port = 0;             // ICE UDP port range; 0 = any
  std::uint16_t max_port = 0;
  unsigned jitter_latency_ms = 100;   // webrtcbin's jitter buffer, which also waits for NACKed packets
  unsigned key_frame_interval_s = 5;  // a PLI at least this often; 0 = only on request
  unsigned media_timeout_s = 5;       // connected but no RTP for this long: the publisher is gone
  unsigned connect_timeout_s = 20;    // not connected this long after the descriptions are exchanged
};

struct RtpTarget {
  std::string host;  // the channel's RTP address (127.0.0.1 when it listens on any)
  std::uint16_t video_port = 0;
  std::uint16_t audio_port = 0;
  int video_payload_type = 96;
  int audio_payload_type = 111;
};

class WebrtcSession : public std::enable_shared_from_this<WebrtcSession> {
 public:
  // `text` is an SDP on success, else empty with `error` set.
  using DescriptionDone = std::function<void(std::string text, std::string error)>;
  using Ended = std::function<void(const std::string& why)>;

  // The pipeline is created and started; nullptr with *error when webrtcbin
  // is missing (gstreamer1.0-plugins-bad, gstreamer1.0-nice).
  static std::shared_ptr<WebrtcSession> create(std::string name, WebrtcOptions options, RtpTarget target,
                                               Ended on_ended, std::string* error);
  ~WebrtcSession();
  WebrtcSession(const WebrtcSession&) = delete;
  WebrtcSession& operator=(const WebrtcSession&) = delete;

  // WHIP: answers the publisher's offer, which `choice` was made from.
  void answer(const std::string& offer, const sdp::Choice& choice, DescriptionDone done);
  // Sora: makes a recvonly offer for Opus and H.264 with `h264_profile`.
  void offer(const std::string& h264_profile, DescriptionDone done);
  // Sora: the publisher's answer to offer(); `done` gets an empty text.
  void accept_answer(const std::string& answer, DescriptionDone done);
  // A trickled remote candidate ("candidate:..." without "a="; an empty
  // string ends the candidates of that m-line).
  void add_remote_candidate(unsigned mline_index, const std::string& candidate);
  // Asks the publisher for a key frame (an RTCP PLI), at most twice a second.
  void request_key_frame();
  // Ends the session (idempotent); on_ended is not called for it.
  void close();

  // The mids of the audio and video m-lines of the current description.
  const std::string& audio_mid() const { return audio_mid_; }
  const std::string& video_mid() const { return video_mid_; }
  // Runs once, on the main context, when ICE and DTLS are up.
  void on_connected(std::function<void()> callback) { on_connected_ = std::move(callback); }

 private:
  WebrtcSession(std::string name, WebrtcOptions options, RtpTarget target, Ended on_ended);
  bool build(std::string* error);
  void post(std::function<void(WebrtcSession&)> task);
  using Then = std::function<void(WebrtcSession&, const GstStructure* reply)>;
  GstPromise* promise(Then then);
  void end(const std::string& why);
  void set_local(GstWebRTCSessionDescription* description);
  void finish_local_description();
  void end_pending(const std::string& why);
  void on_pad_added(GstPad* pad);
  void on_connection_state(int state);
  void check_health();

  struct Forward;  // the probe data of one forwarded stream

  std::string name_;
  WebrtcOptions options_;
  RtpTarget target_;
  Ended on_ended_;
  std::function<void()> on_connected_;
  GMainContext* context_ = nullptr;
  GstPtr<GstElement> pipeline_;
  GstPtr<GstElement> webrtc_;
  bool closed_ = false;
  bool connected_ = false;
  std::string audio_mid_;
  std::string video_mid_;

  // A local description waits for ICE gathering to end before it goes out.
  DescriptionDone pending_done_;
  std::vector<std::string> local_candidates_;
  std::function<std::string(std::string)> mend_local_;  // applied to the local SDP before it goes out
  bool local_set_ = false;
  bool gathering_done_ = false;
  guint gather_timeout_ = 0;

  guint health_source_ = 0;
  std::int64_t exchanged_at_us_ = 0;  // when both descriptions were set

  std::atomic<std::int64_t> last_packet_us_{0};
  std::int64_t last_key_request_us_ = 0;

  std::mutex video_pad_mutex_;
  GstPtr<GstPad> video_pad_;  // webrtcbin's video src pad, for key frame requests
  bool audio_forwarded_ = false;
  std::int64_t last_pli_us_ = 0;
};

}  // namespace nagare::launcher
