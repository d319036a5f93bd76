#include "ingest.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "channel.hpp"
#include "hooks.hpp"
#include "ids.hpp"
#include "log.hpp"
#include "signaling.hpp"
#include "soup_reply.hpp"

namespace nagare::launcher {

using Json = nlohmann::json;

namespace {

constexpr std::size_t kSessionIdBytes = 16;
constexpr guint kPingIntervalS = 5;  // Sora's own default
constexpr guint kConnectWaitS = 10;  // for the first message on a new WebSocket

// WebSocket close codes, in the private range, mirroring the HTTP statuses
// a WHIP client would get for the same refusal.
constexpr gushort kCloseNormal = 1000;
constexpr gushort kCloseGoingAway = 1001;
constexpr gushort kCloseMalformed = 4400;
constexpr gushort kCloseForbidden = 4403;
constexpr gushort kCloseNoChannel = 4404;
constexpr gushort kCloseTimeout = 4408;
constexpr gushort kCloseConflict = 4409;
constexpr gushort kCloseEnded = 4000;
constexpr gushort kCloseInternal = 4500;

// An ICE server as RFC 7064 writes it (stun:host:port); webrtcbin takes
// stun://host:port, which is how the options hold it.
std::string ice_server_uri(const std::string& server) {
  return server.rfind("stun://", 0) == 0 ? "stun:" + server.substr(7) : server;
}

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The media type of a Content-Type header, without parameters, lowercase.
std::string media_type(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && std::isspace(static_cast<unsigned char>(type.back()))) type.pop_back();
  return lowercase(type);
}

}  // namespace

struct Ingest::Publisher {
  std::string channel_id;
  std::string playback_id;
  std::string whip_session_id;  // empty for Sora signaling
  std::string etag;
  std::optional<sdp::Description> offer;  // WHIP: the offer, to read trickled mids against
  std::shared_ptr<WebrtcSession> session;
  std::weak_ptr<Signaling> signaling;
  std::string protocol;                  // "WHIP" or "Sora signaling"
  bool connected = false;                // publisher.connected was sent
  std::function<void()> then_connected;  // Sora's notify, after the event
};

// One Sora signaling WebSocket: connect → offer → answer (+ candidates) →
// notify connection.created, then ping/pong until disconnect.
struct Ingest::Signaling : std::enable_shared_from_this<Signaling> {
  Ingest* ingest = nullptr;
  SoupWebsocketConnection* ws = nullptr;
  std::shared_ptr<Publisher> publisher;
  std::string connection_id;
  std::string client_id;
  std::string role;
  bool offered = false;
  bool authorizing = false;  // the auth webhook has the connect
  std::string remote_address;
  bool pong_due = false;
  bool closing = false;
  guint ping_source = 0;
  guint connect_wait = 0;

  ~Signaling() {
    for (guint* source : {&ping_source, &connect_wait}) {
      if (*source) g_source_remove(*source);
    }
    if (ws) {
      g_signal_handlers_disconnect_by_data(ws, this);
      g_object_unref(ws);
    }
  }

  void send(const Json& message) {
    if (closing || soup_websocket_connection_get_state(ws) != SOUP_WEBSOCKET_STATE_OPEN) return;
    soup_websocket_connection_send_text(ws, message.dump().c_str());
  }

  void close(gushort code, const std::string& reason) {
    if (closing) return;
    closing = true;
    log_line("signaling", (connection_id.empty() ? std::string("connection") : connection_id.substr(0, 8)) +
                              " closed (" + std::to_string(code) + "): " + reason);
    // A close reason is at most 123 bytes on the wire.
    soup_websocket_connection_close(ws, code, reason.substr(0, 123).c_str());
  }
};

Ingest::Ingest(WebrtcOptions options, Find by_playback_id, Find by_channel_id, ChannelHooks& hooks)
    : options_(std::move(options)),
      hooks_(&hooks),
      by_playback_id_(std::move(by_playback_id)),
      by_channel_id_(std::move(by_channel_id)) {}

void Ingest::publisher_event(const Publisher& publisher, const std::string& type, Json data) {
  auto ref = by_channel_id_(publisher.channel_id);
  if (!ref) return;  // deleted meanwhile: channel.deleted said it all
  data["protocol"] = publisher.protocol;
  hooks_->event(ref->channel->config(), publisher.channel_id, publisher.playback_id, type, std::move(data));
}

void Ingest::authorize(const ChannelRef& ref, const char* protocol, const std::string& remote_address,
                       const Json& metadata, std::function<void(const webhooks::AuthDecision&)> then) {
  const std::string& url = ref.channel->config().auth_webhook_url;
  if (url.empty()) return then({true, ""});
  hooks_->webhooks().authorize(
      url, webhooks::auth_request_json(ref.channel_id, protocol, remote_address, metadata, unix_now_ms()),
      [then = std::move(then), who = ref.playback_id.substr(0, 8), protocol](const webhooks::AuthDecision& d) {
        if (!d.allowed) log_line("webrtc-" + who, std::string(protocol) + " publish refused: " + d.reason);
        then(d);
      });
}

Ingest::~Ingest() { stop_all(); }

std::shared_ptr<Ingest::Publisher> Ingest::start_publisher(const ChannelRef& ref, const char* how, std::string* error,
                                                           int* status) {
  if (publishers_.count(ref.channel_id)) {
    *status = SOUP_STATUS_CONFLICT;
    *error = "the channel already has a publisher; it must end (WHIP DELETE, or disconnect) before another starts";
    return nullptr;
  }
  auto publisher = std::make_shared<Publisher>();
  publisher->channel_id = ref.channel_id;
  publisher->playback_id = ref.playback_id;
  const std::string name = "webrtc-" + ref.playback_id.substr(0, 8);
  const std::string channel_id = ref.channel_id;
  Publisher* raw = publisher.get();
  publisher->session = WebrtcSession::create(
      name, options_, ref.rtp, [this, channel_id, raw](const std::string& why) { ended(channel_id, raw, why); }, error);
  if (!publisher->session) {
    *status = SOUP_STATUS_SERVICE_UNAVAILABLE;
    return nullptr;
  }
  std::weak_ptr<WebrtcSession> weak = publisher->session;
  ref.channel->set_key_frame_listener([weak] {
    if (auto session = weak.lock()) session->request_key_frame();
  });
  publisher->protocol = how;
  std::weak_ptr<Publisher> weak_publisher = publisher;
  publisher->session->on_connected([this, weak_publisher] {
    auto p = weak_publisher.lock();
    if (!p) return;
    p->connected = true;
    publisher_event(*p, "publisher.connected", Json::object());
    if (p->then_connected) p->then_connected();
  });
  publishers_[ref.channel_id] = publisher;
  log_line(name, std::string("publisher arriving over ") + how);
  return publisher;
}

// The session ended (or is being ended): the channel is free for the next
// publisher, and goes idle as with RTP input once the packets stop.
void Ingest::ended(const std::string& channel_id, const Publisher* publisher, const std::string& why) {
  auto it = publishers_.find(channel_id);
  if (it == publishers_.end() || it->second.get() != publisher) return;
  std::shared_ptr<Publisher> p = it->second;
  publishers_.erase(it);
  log_line("webrtc-" + p->playback_id.substr(0, 8), "publisher gone: " + why);
  if (p->connected) publisher_event(*p, "publisher.disconnected", {{"reason", why}});
  if (!p->whip_session_id.empty()) whip_sessions_.erase(p->whip_session_id);
  if (auto ref = by_channel_id_(channel_id)) ref->channel->set_key_frame_listener(nullptr);
  if (auto signaling = p->signaling.lock()) signaling->close(kCloseEnded, why);
  p->session->close();
}

void Ingest::channel_removed(const std::string& channel_id) {
  auto it = publishers_.find(channel_id);
  if (it != publishers_.end()) ended(channel_id, it->second.get(), "the channel was deleted");
}

void Ingest::stop_all() {
  while (!publishers_.empty()) {
    auto it = publishers_.begin();
    ended(it->first, it->second.get(), "the server is shutting down");
  }
  for (auto& [raw, signaling] : signaling_) signaling->close(kCloseGoingAway, "the server is shutting down");
}

// --- WHIP ---------------------------------------------------------------

bool Ingest::whip_authorized(SoupServerMessage* msg, const std::string& channel_id) {
  const std::string auth = request_header(msg, "Authorization");
  const std::string bearer = "Bearer ";
  if (auth.compare(0, bearer.size(), bearer) == 0 && constant_time_equal(auth.substr(bearer.size()), channel_id)) {
    return true;
  }
  set_header(msg, "WWW-Authenticate", "Bearer");
  reply_error(msg, SOUP_STATUS_UNAUTHORIZED,
              auth.empty() ? "Authorization: Bearer <channel_id> is required to publish"
                           : "Authorization: not this channel's publish credential");
  return false;
}

void Ingest::whip_options(SoupServerMessage* msg, bool session) {
  set_header(msg, "Access-Control-Allow-Methods", session ? "PATCH, DELETE, OPTIONS" : "POST, OPTIONS");
  set_header(msg, "Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match");
  set_header(msg, "Access-Control-Max-Age", "86400");
  if (session) {
    set_header(msg, "Accept-Patch", "application/trickle-ice-sdpfrag");
  } else {
    set_header(msg, "Accept-Post", "application/sdp");
  }
  soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
}

void Ingest::whip(SoupServerMessage* msg, const std::string& method, std::string_view rest, const std::string& body) {
  set_header(msg, "Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post");
  for (const auto& server : options_.stun_servers) {
    soup_message_headers_append(soup_server_message_get_response_headers(msg), "Link",
                                ("<" + ice_server_uri(server) + ">; rel=\"ice-server\"").c_str());
  }
  const auto slash = rest.find('/');
  const std::string playback_id(rest.substr(0, slash));
  if (slash == std::string_view::npos) {
    if (method == "OPTIONS") return whip_options(msg, false);
    if (method == "POST") return whip_create(msg, playback_id, body);
    set_header(msg, "Allow", "POST, OPTIONS");
    return reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "POST an SDP offer (application/sdp) to publish");
  }
  const std::string_view tail = rest.substr(slash);
  const std::string prefix = "/sessions/";
  const std::string session_id =
      tail.substr(0, prefix.size()) == prefix ? std::string(tail.substr(prefix.size())) : std::string();
  auto it = whip_sessions_.find(session_id);
  if (it == whip_sessions_.end() || it->second->playback_id != playback_id) {
    return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such WHIP session (it ended, or never existed)");
  }
  if (method == "OPTIONS") return whip_options(msg, true);
  std::shared_ptr<Publisher> publisher = it->second;
  if (!whip_authorized(msg, publisher->channel_id)) return;
  if (method == "DELETE") {
    ended(publisher->channel_id, publisher.get(), "the publisher ended the WHIP session");
    return reply(msg, SOUP_STATUS_OK, "text/plain", "");
  }
  if (method == "PATCH") return whip_patch(msg, *publisher, body);
  set_header(msg, "Allow", "PATCH, DELETE, OPTIONS");
  reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "a WHIP session takes PATCH (trickle ICE) and DELETE");
}

void Ingest::whip_create(SoupServerMessage* msg, const std::string& playback_id, const std::string& body) {
  const auto ref = by_playback_id_(playback_id);
  if (!ref) return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such channel");
  if (!whip_authorized(msg, ref->channel_id)) return;
  if (media_type(request_header(msg, "Content-Type")) != "application/sdp") {
    set_header(msg, "Accept-Post", "application/sdp");
    return reply_error(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, "Content-Type: the offer must be application/sdp");
  }
  auto parsed = sdp::parse(body);
  if (!parsed.value) return reply_error(msg, SOUP_STATUS_BAD_REQUEST, "offer: " + parsed.error);
  auto choice = sdp::choose(*parsed.value);
  if (!choice.value) return reply_error(msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, choice.error);
  if (publishers_.count(ref->channel_id)) {
    return reply_error(msg, SOUP_STATUS_CONFLICT,
                       "the channel already has a publisher; it must end (WHIP DELETE, or disconnect) before "
                       "another starts");
  }
  // The channel's auth webhook, if any, has the last word; the request
  // waits for it.
  soup_server_message_pause(msg);
  g_object_ref(msg);
  const char* remote = soup_server_message_get_remote_host(msg);
  authorize(*ref, "whip", remote ? remote : "", nullptr,
            [this, msg, playback_id, body, offer = std::move(*parsed.value),
             choice = std::move(*choice.value)](const webhooks::AuthDecision& decision) {
              // Admitted, the request waits on for the session's answer,
              // whose callback ends the pause.
              if (decision.allowed && whip_admitted(msg, playback_id, body, offer, choice)) return;
              if (!decision.allowed) reply_error(msg, SOUP_STATUS_FORBIDDEN, decision.reason);
              soup_server_message_unpause(msg);
              g_object_unref(msg);
            });
}

// A WHIP offer that passed every check (and the auth webhook): the session.
// `msg` is paused and holds a reference. True when the answer is on its way
// (its callback unpauses and unrefs); false when this replied at once.
bool Ingest::whip_admitted(SoupServerMessage* msg, const std::string& playback_id, const std::string& body,
                           const sdp::Description& offer, const sdp::Choice& choice) {
  const auto ref = by_playback_id_(playback_id);
  if (!ref) {
    reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such channel");
    return false;
  }
  std::string error;
  int status = 0;
  auto publisher = start_publisher(*ref, "WHIP", &error, &status);
  if (!publisher) {
    reply_error(msg, status, error);
    return false;
  }
  publisher->whip_session_id = random_hex(kSessionIdBytes);
  publisher->etag = "\"" + random_hex(8) + "\"";
  publisher->offer = offer;
  whip_sessions_[publisher->whip_session_id] = publisher;

  // The answer comes once webrtcbin has gathered its candidates: the
  // request waits on for it.
  const std::string location = "/whip/" + playback_id + "/sessions/" + publisher->whip_session_id;
  std::weak_ptr<Publisher> weak = publisher;
  publisher->session->answer(body, choice, [this, msg, location, weak](std::string answer, const std::string& error) {
    auto p = weak.lock();
    if (!error.empty() || !p) {
      reply_error(msg, error.rfind("offer", 0) == 0 ? SOUP_STATUS_BAD_REQUEST : SOUP_STATUS_INTERNAL_SERVER_ERROR,
                  error.empty() ? "the session ended before its answer" : error);
      if (p) ended(p->channel_id, p.get(), error);
    } else {
      set_header(msg, "Location", location);
      set_header(msg, "ETag", p->etag);
      set_header(msg, "Accept-Patch", "application/trickle-ice-sdpfrag");
      reply(msg, SOUP_STATUS_CREATED, "application/sdp", std::move(answer));
    }
    soup_server_message_unpause(msg);
    g_object_unref(msg);
  });
  return true;
}

void Ingest::whip_patch(SoupServerMessage* msg, Publisher& publisher, const std::string& body) {
  if (media_type(request_header(msg, "Content-Type")) != "application/trickle-ice-sdpfrag") {
    set_header(msg, "Accept-Patch", "application/trickle-ice-sdpfrag");
    return reply_error(msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                       "Content-Type: a PATCH carries application/trickle-ice-sdpfrag");
  }
  // If-Match is not required: some clients send the ETag, some nothing.
  auto fragment = sdp::parse_fragment(body, *publisher.offer);
  if (!fragment.value) return reply_error(msg, SOUP_STATUS_BAD_REQUEST, "fragment: " + fragment.error);
  if (sdp::is_ice_restart(*fragment.value, *publisher.offer)) {
    return reply_error(msg, SOUP_STATUS_UNPROCESSABLE_ENTITY,
                       "ICE restart is not supported: DELETE the session and publish again");
  }
  for (const auto& c : fragment.value->candidates) {
    publisher.session->add_remote_candidate(static_cast<unsigned>(c.mline_index), c.candidate);
  }
  soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
}

// --- Sora-compatible signaling --------------------------------------------

void Ingest::add_signaling(SoupServer* server, const char* path) {
  soup_server_add_websocket_handler(
      server, path, nullptr, nullptr,
      [](SoupServer*, SoupServerMessage* msg, const char*, SoupWebsocketConnection* connection, gpointer data) {
        const char* remote = soup_server_message_get_remote_host(msg);
        static_cast<Ingest*>(data)->on_signaling_open(connection, remote ? remote : "");
      },
      this, nullptr);
}

void Ingest::on_signaling_open(SoupWebsocketConnection* connection, const std::string& remote_address) {
  auto s = std::make_shared<Signaling>();
  s->ingest = this;
  s->remote_address = remote_address;
  s->ws = static_cast<SoupWebsocketConnection*>(g_object_ref(connection));
  signaling_[s.get()] = s;
  g_object_set(connection, "max-incoming-payload-size", static_cast<guint64>(256 * 1024), nullptr);
  s->connect_wait = g_timeout_add_seconds(
      kConnectWaitS,
      [](gpointer data) -> gboolean {
        auto* sig = static_cast<Signaling*>(data);
        sig->connect_wait = 0;
        sig->close(kCloseTimeout, "no connect message within " + std::to_string(kConnectWaitS) + " s");
        return G_SOURCE_REMOVE;
      },
      s.get());

  g_signal_connect(connection, "message",
                   G_CALLBACK(+[](SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer data) {
                     auto* sig = static_cast<Signaling*>(data);
                     if (sig->closing) return;
                     if (type != SOUP_WEBSOCKET_DATA_TEXT) {
                       return sig->close(kCloseMalformed, "malformed message: signaling is JSON in text frames");
                     }
                     gsize size = 0;
                     const auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
                     auto message = signaling::parse(std::string_view(text, size));
                     if (const auto* bad = std::get_if<signaling::Malformed>(&message)) {
                       return sig->close(kCloseMalformed, bad->reason);
                     }
                     auto keep = sig->shared_from_this();
                     sig->ingest->on_signaling_message(*sig, message);
                   }),
                   s.get());
  g_signal_connect(connection, "closed", G_CALLBACK(+[](SoupWebsocketConnection*, gpointer data) {
                     auto* sig = static_cast<Signaling*>(data);
                     Ingest& ingest = *sig->ingest;
                     auto keep = ingest.signaling_[sig];
                     ingest.signaling_.erase(sig);
                     if (sig->publisher) {
                       sig->closing = true;  // nothing more can be sent
                       ingest.ended(sig->publisher->channel_id, sig->publisher.get(), "the signaling WebSocket closed");
                     }
                   }),
                   s.get());
}

// A signaling connect: the publisher asks for an offer.
void Ingest::on_signaling_connect(Signaling& s, const signaling::Connect& c) {
  if (s.publisher || s.offered || s.authorizing) {
    s.close(kCloseMalformed, "malformed message: connect was already sent");
    return;
  }
  if (s.connect_wait) {
    g_source_remove(s.connect_wait);
    s.connect_wait = 0;
  }
  if (c.role != "sendonly" && c.role != "sendrecv") {
    s.close(kCloseForbidden, "role " + c.role + ": nagare takes publishers only (sendonly); watch the playlist_url");
    return;
  }
  const auto ref = by_channel_id_(c.channel_id);
  if (!ref) {
    s.close(kCloseNoChannel, "channel_id: no such channel");
    return;
  }
  if (publishers_.count(ref->channel_id)) {
    s.close(kCloseConflict, "the channel already has a publisher; it must end before another starts");
    return;
  }
  s.authorizing = true;
  std::weak_ptr<Signaling> weak = s.weak_from_this();
  authorize(*ref, "sora", s.remote_address, c.metadata, [this, weak, c](const webhooks::AuthDecision& decision) {
    auto sig = weak.lock();
    if (!sig || sig->closing) return;
    sig->authorizing = false;
    if (!decision.allowed) return sig->close(kCloseForbidden, decision.reason);
    signaling_admitted(*sig, c);
  });
}

// A connect that passed every check (and the auth webhook): the session and
// nagare's offer.
void Ingest::signaling_admitted(Signaling& s, const signaling::Connect& c) {
  const auto ref = by_channel_id_(c.channel_id);
  if (!ref) {
    s.close(kCloseNoChannel, "channel_id: no such channel");
    return;
  }
  std::string error;
  int status = 0;
  auto publisher = start_publisher(*ref, "Sora signaling", &error, &status);
  if (!publisher) {
    s.close(status == SOUP_STATUS_CONFLICT ? kCloseConflict : kCloseInternal, error);
    return;
  }
  s.publisher = publisher;
  publisher->signaling = s.weak_from_this();
  s.role = c.role;
  s.connection_id = random_hex(13);
  s.client_id = c.client_id.value_or(s.connection_id);
  std::weak_ptr<Signaling> weak = s.weak_from_this();
  publisher->then_connected = [weak, channel_id = c.channel_id] {
    auto sig = weak.lock();
    if (!sig) return;
    // What makes the Sora SDK report "connected".
    sig->send({{"type", "notify"},
               {"event_type", "connection.created"},
               {"role", sig->role},
               {"client_id", sig->client_id},
               {"connection_id", sig->connection_id},
               {"channel_id", channel_id},
               {"channel_connections", 1},
               {"channel_sendonly_connections", 1}});
  };
  Json ice_servers = Json::array();
  for (const auto& server : options_.stun_servers)
    ice_servers.push_back({{"urls", Json::array({ice_server_uri(server)})}});
  publisher->session->offer(
      sdp::preferred_h264_profile(c.probe_sdp), [weak, ice_servers](std::string offer, const std::string& error) {
        auto sig = weak.lock();
        if (!sig || sig->closing) return;
        if (!error.empty()) return sig->close(kCloseInternal, error);
        sig->offered = true;
        const auto& session = *sig->publisher->session;
        sig->send({{"type", "offer"},
                   {"sdp", offer},
                   {"client_id", sig->client_id},
                   {"connection_id", sig->connection_id},
                   {"simulcast", false},
                   {"spotlight", false},
                   {"mid", {{"audio", session.audio_mid()}, {"video", session.video_mid()}}},
                   {"config", {{"iceServers", ice_servers}, {"iceTransportPolicy", "all"}}}});
        // Ping from now on; an unanswered ping means the publisher is gone.
        sig->ping_source = g_timeout_add_seconds(
            kPingIntervalS,
            [](gpointer data) -> gboolean {
              auto* s2 = static_cast<Signaling*>(data);
              if (s2->pong_due) {
                s2->ping_source = 0;
                s2->close(kCloseTimeout, "no pong within " + std::to_string(kPingIntervalS) + " s");
                return G_SOURCE_REMOVE;
              }
              s2->pong_due = true;
              s2->send({{"type", "ping"}, {"stats", false}});
              return G_SOURCE_CONTINUE;
            },
            sig.get());
      });
}

// One signaling message on an open WebSocket (never Malformed: the caller
// closed the socket for those).
void Ingest::on_signaling_message(Signaling& s, const signaling::Message& message) {
  if (const auto* connect = std::get_if<signaling::Connect>(&message)) return on_signaling_connect(s, *connect);
  if (!s.publisher) {
    s.close(kCloseMalformed, "malformed message: " + signaling::type_of(message) + " before connect");
    return;
  }
  if (const auto* answer = std::get_if<signaling::Answer>(&message)) {
    if (!s.offered) {
      s.close(kCloseMalformed, "malformed message: answer before offer");
      return;
    }
    std::weak_ptr<Signaling> weak = s.weak_from_this();
    s.publisher->session->accept_answer(answer->sdp, [weak](const std::string&, const std::string& error) {
      if (auto sig = weak.lock(); sig && !error.empty()) sig->close(kCloseMalformed, error);
    });
  } else if (const auto* candidate = std::get_if<signaling::Candidate>(&message)) {
    unsigned index = 0;
    if (candidate->mline_index) {
      index = *candidate->mline_index;
    } else if (candidate->mid) {
      index = *candidate->mid == s.publisher->session->video_mid() ? 1 : 0;
    }
    s.publisher->session->add_remote_candidate(index, candidate->candidate);
  } else if (std::holds_alternative<signaling::Pong>(message)) {
    s.pong_due = false;
  } else if (std::holds_alternative<signaling::Disconnect>(message)) {
    auto publisher = s.publisher;
    s.close(kCloseNormal, "disconnect");
    ended(publisher->channel_id, publisher.get(), "the publisher disconnected");
  }
  // Other messages (stats, re-answer, …) are not needed by a receive-only
  // server and are ignored, as newer clients may send more.
}

}  // namespace nagare::launcher
