// WebRTC ingest for `nagare serve`: WHIP (RFC 9725) at /whip/<playback_id>
// and Sora-compatible signaling over a WebSocket at /signaling. Both end in
// a WebrtcSession that feeds the channel's RTP ports; this file holds who is
// publishing where, enforces one publisher per channel, and speaks the two
// protocols.
//
// Everything runs on the server's GLib main context.
#pragma once

#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "signaling.hpp"
#include "webhooks.hpp"
#include "webrtc_session.hpp"

namespace nagare::launcher {

class Channel;
class ChannelHooks;

class Ingest {
 public:
  // What ingest needs to know of a channel.
  struct ChannelRef {
    std::string channel_id;   // the publish credential
    std::string playback_id;  // in the WHIP URL
    RtpTarget rtp;
    Channel* channel = nullptr;
  };
  // Looks a channel up by playback id or by channel id.
  using Find = std::function<std::optional<ChannelRef>(const std::string& id)>;

  // `hooks` (the server's) sends publisher events and asks auth webhooks.
  Ingest(WebrtcOptions options, Find by_playback_id, Find by_channel_id, ChannelHooks& hooks);
  ~Ingest();
  Ingest(const Ingest&) = delete;
  Ingest& operator=(const Ingest&) = delete;

  // A request under /whip/; `rest` is the path after "/whip/".
  void whip(SoupServerMessage* msg, const std::string& method, std::string_view rest, const std::string& body);
  // Serves Sora-compatible signaling at `path`.
  void add_signaling(SoupServer* server, const char* path);
  // The channel is being deleted: its publisher, if any, is disconnected.
  void channel_removed(const std::string& channel_id);
  // Ends every session (server shutdown).
  void stop_all();

  std::size_t publishers() const { return publishers_.size(); }

  struct Publisher;
  struct Signaling;

 private:
  void whip_create(SoupServerMessage* msg, const std::string& playback_id, const std::string& body);
  void whip_patch(SoupServerMessage* msg, Publisher& publisher, const std::string& body);
  void whip_options(SoupServerMessage* msg, bool session);
  bool whip_authorized(SoupServerMessage* msg, const std::string& channel_id);
  // A new publisher for `ref`, or nullptr with *error set (*status for WHIP).
  std::shared_ptr<Publisher> start_publisher(const ChannelRef& ref, const char* how, std::string* error, int* status);
  void ended(const std::string& channel_id, const Publisher* publisher, const std::string& why);
  void on_signaling_open(SoupWebsocketConnection* connection, const std::string& remote_address);
  void on_signaling_message(Signaling& s, const signaling::Message& message);
  void on_signaling_connect(Signaling& s, const signaling::Connect& connect);
  void signaling_admitted(Signaling& s, const signaling::Connect& connect);
  // Asks the channel's auth webhook, if it has one, whether this publish
  // may go on; `then` runs on the main context with the answer (at once,
  // allowed, without a webhook).
  void authorize(const ChannelRef& ref, const char* protocol, const std::string& remote_address,
                 const nlohmann::json& metadata, std::function<void(const webhooks::AuthDecision&)> then);
  bool whip_admitted(SoupServerMessage* msg, const std::string& playback_id, const std::string& body,
                     const sdp::Description& offer, const sdp::Choice& choice);
  void publisher_event(const Publisher& publisher, const std::string& type, nlohmann::json data);

  WebrtcOptions options_;
  ChannelHooks* hooks_;
  Find by_playback_id_;
  Find by_channel_id_;
  std::map<std::string, std::shared_ptr<Publisher>> publishers_;     // by channel id
  std::map<std::string, std::shared_ptr<Publisher>> whip_sessions_;  // by WHIP session id
  std::map<Signaling*, std::shared_ptr<Signaling>> signaling_;       // open WebSockets
};

}  // namespace nagare::launcher
