#include "server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "acceptor.hpp"
#include "channel.hpp"
#include "embedded.hpp"
#include "figures.hpp"
#include "files.hpp"
#include "hooks.hpp"
#include "http_paths.hpp"
#include "ids.hpp"
#include "ingest.hpp"
#include "log.hpp"
#include "soup_reply.hpp"

namespace nagare::launcher {

using Json = nlohmann::json;

namespace {

constexpr std::size_t kMaxBody = std::size_t{64} * 1024;
constexpr const char* kTargetPrefix = "ImageFlux_20180905.";
// The original service's CreateChannel targets, old and current: same body.
constexpr const char* kCreateTargets[] = {"ImageFlux_20180905.CreateChannel",
                                          "ImageFlux_20200316.CreateMultistreamChannelWithHLS"};

// Both ports free for UDP on `bind` right now (a process outside nagare may
// hold one).
bool udp_ports_free(const std::string& bind, std::uint16_t a, std::uint16_t b) {
  for (std::uint16_t port : {a, b}) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, bind.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_ANY);
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (!ok) return false;
  }
  return true;
}

std::string iso_now() {
  using namespace std::chrono;
  const std::time_t t = system_clock::to_time_t(system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A request's body as the early handler collected it.
struct RequestBody {
  std::string bytes;
  bool too_large = false;
};
constexpr const char* kBodyKey = "nagare-request-body";

const RequestBody& request_body_of(SoupServerMessage* msg) {
  static const RequestBody kEmpty;
  const auto* body = static_cast<const RequestBody*>(g_object_get_data(G_OBJECT(msg), kBodyKey));
  return body ? *body : kEmpty;
}

std::string request_body(SoupServerMessage* msg) { return request_body_of(msg).bytes; }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

void replace_all(std::string& text, std::string_view marker, const std::string& value) {
  for (auto pos = text.find(marker); pos != std::string::npos; pos = text.find(marker, pos + value.size())) {
    text.replace(pos, marker.size(), value);
  }
}

}  // namespace

struct Server::Impl {
  struct Entry {
    std::string channel_id;
    std::string playback_id;
    ChannelConfig config;
    std::string created_at;
    std::unique_ptr<Channel> channel;
  };

  ServerOptions options;
  SoupServer* soup = nullptr;
  std::unique_ptr<Acceptor> acceptor;  // hands connections to soup
  std::string base_url;
  PortPool ports;
  std::unique_ptr<ChannelHooks> hooks;  // before the channels: they send it events until they are gone
  std::map<std::string, std::unique_ptr<Entry>> channels;  // by channel id
  std::map<std::string, Entry*> by_playback;
  std::vector<std::unique_ptr<Entry>> ending;  // deleted, finishing their playlists
  std::unique_ptr<Ingest> ingest;

  explicit Impl(ServerOptions o) : options(std::move(o)), ports(options.rtp_low, options.rtp_high) {}

  ~Impl() {
    ingest.reset();
    acceptor.reset();
    if (soup) {
      soup_server_disconnect(soup);
      g_object_unref(soup);
    }
  }

  std::string channel_dir(const std::string& playback_id) const {
    return options.data_dir + "/channels/" + playback_id;
  }

  Json describe(const Entry& e, bool with_figures) const {
    const std::string hls = base_url + "/hls/" + e.playback_id + "/index.m3u8";
    std::string ws = base_url;
    ws.replace(0, ws.find(':'), starts_with(base_url, "https") ? "wss" : "ws");
    Json j = {
        {"channel_id", e.channel_id},
        {"playlist_url", hls},
        {"watch_url", base_url + "/watch/" + e.playback_id},
        {"whip_url", base_url + "/whip/" + e.playback_id},
        {"publish_url", base_url + "/publish/" + e.channel_id},
        {"sora_url", ws + "/signaling"},
        {"rtp", {{"video_port", e.config.input.video_port}, {"audio_port", e.config.input.audio_port}}},
        {"created_at", e.created_at},
    };
    if (with_figures) {
      const auto f = e.channel->figures();
      j["state"] = to_string(f.state);
      j["broadcast"] = f.broadcast;
      j["packets_in"] = f.packets_in;
      j["restarts"] = f.restarts;
      j["config"] = Json::parse(to_json(e.config));
    }
    return j;
  }

  std::optional<Ingest::ChannelRef> ingest_ref(const Entry* e) const {
    if (!e) return std::nullopt;
    RtpTarget rtp;
    // The session forwards on loopback to wherever the channel listens.
    rtp.host = e->config.input.bind == "0.0.0.0" ? "127.0.0.1" : e->config.input.bind;
    rtp.video_port = e->config.input.video_port;
    rtp.audio_port = e->config.input.audio_port;
    rtp.video_payload_type = e->config.input.video_payload_type;
    rtp.audio_payload_type = e->config.input.audio_payload_type;
    return Ingest::ChannelRef{e->channel_id, e->playback_id, rtp, e->channel.get()};
  }

  // --- API -----------------------------------------------------------

  bool authorized(SoupServerMessage* msg) {
    if (options.token.empty()) return true;
    const std::string auth = request_header(msg, "Authorization");
    const std::string_view bearer = "Bearer ";
    if (starts_with(auth, bearer) && constant_time_equal(auth.substr(bearer.size()), options.token)) return true;
    set_header(msg, "WWW-Authenticate", "Bearer");
    reply_error(msg, SOUP_STATUS_UNAUTHORIZED,
                auth.empty() ? "Authorization: a Bearer token is required" : "Authorization: wrong token");
    return false;
  }

  void create(SoupServerMessage* msg, const std::string& body, bool rest) {
    auto parsed = parse_channel_config(body);
    if (!parsed.config) {
      reply_error(msg, SOUP_STATUS_BAD_REQUEST, parsed.error.what());
      return;
    }
    ChannelConfig config = std::move(*parsed.config);
    if (const std::string why = hooks->refusal(config); !why.empty()) {
      reply_error(msg, SOUP_STATUS_BAD_REQUEST, why);
      return;
    }
    // The server hands out the ports and binds where it was told to.
    const Json doc = Json::parse(body);  // parse_channel_config accepted it
    if (doc.contains("input")) {
      const Json& rtp = doc["input"]["rtp"];
      for (const char* key : {"video_port", "audio_port", "bind"}) {
        if (rtp.contains(key)) {
          reply_error(msg, SOUP_STATUS_BAD_REQUEST,
                      std::string("input.rtp.") + key + ": is chosen by the server (see --rtp-ports and --rtp-bind)");
          return;
        }
      }
    }
    const auto pair =
        ports.take([&](std::uint16_t v, std::uint16_t a) { return udp_ports_free(options.rtp_bind, v, a); });
    if (!pair) {
      reply_error(msg, SOUP_STATUS_SERVICE_UNAVAILABLE,
                  "no free RTP port pair left in " + std::to_string(options.rtp_low) + "-" +
                      std::to_string(options.rtp_high) + "; delete a channel or widen --rtp-ports");
      return;
    }
    config.input.video_port = pair->first;
    config.input.audio_port = pair->second;
    config.input.bind = options.rtp_bind;

    auto entry = std::make_unique<Entry>();
    entry->channel_id = random_hex(kChannelIdBytes);
    entry->playback_id = random_hex(kPlaybackIdBytes);
    entry->config = config;
    entry->created_at = iso_now();
    const std::string dir = channel_dir(entry->playback_id);
    if (const int e = make_dirs(dir)) {
      ports.give_back(pair->first);
      reply_error(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, dir + ": " + std::strerror(e));
      return;
    }
    Channel::Options channel{entry->playback_id.substr(0, 8), config, options.pipeline.tmpl, dir, 1};
    hooks->wire(channel, entry->channel_id, entry->playback_id,
                base_url + "/hls/" + entry->playback_id + "/index.m3u8");
    entry->channel = std::make_unique<Channel>(std::move(channel));
    entry->channel->start();
    hooks->event(config, entry->channel_id, entry->playback_id, "channel.created", {{"created_at", entry->created_at}});
    log_line("serve", "channel " + entry->playback_id + " created: RTP on " + options.rtp_bind + ":" +
                          std::to_string(pair->first) + "/" + std::to_string(pair->second));
    const Json answer = describe(*entry, false);
    by_playback[entry->playback_id] = entry.get();
    channels[entry->channel_id] = std::move(entry);
    if (rest) set_header(msg, "Location", "/api/channels/" + answer["channel_id"].get<std::string>());
    reply_json(msg, rest ? SOUP_STATUS_CREATED : SOUP_STATUS_OK, answer);
  }

  void remove(SoupServerMessage* msg, const std::string& channel_id) {
    auto it = channels.find(channel_id);
    if (it == channels.end()) {
      reply_error(msg, SOUP_STATUS_NOT_FOUND, "channel_id: no such channel");
      return;
    }
    std::unique_ptr<Entry> entry = std::move(it->second);
    channels.erase(it);
    by_playback.erase(entry->playback_id);
    log_line("serve", "channel " + entry->playback_id + " deleted: ending its playlists");
    ingest->channel_removed(channel_id);
    Entry* raw = entry.get();
    ending.push_back(std::move(entry));
    raw->channel->stop([this, raw] {
      // Last: after the channel's own hls.ended.
      hooks->event(raw->config, raw->channel_id, raw->playback_id, "channel.deleted");
      // After the callback returns: the Channel is still inside its stop().
      g_idle_add(
          [](gpointer data) -> gboolean {
            auto* pair = static_cast<std::pair<Impl*, Entry*>*>(data);
            auto& list = pair->first->ending;
            for (auto it = list.begin(); it != list.end(); ++it) {
              if (it->get() == pair->second) {
                pair->first->ports.give_back((*it)->config.input.video_port);
                list.erase(it);
                break;
              }
            }
            delete pair;
            return G_SOURCE_REMOVE;
          },
          new std::pair<Impl*, Entry*>(this, raw));
    });
    reply_json(msg, SOUP_STATUS_OK, {{"channel_id", channel_id}, {"deleted", true}});
  }

  void list(SoupServerMessage* msg) {
    Json all = Json::array();
    for (const auto& [id, e] : channels) all.push_back(describe(*e, true));
    reply_json(msg, SOUP_STATUS_OK, {{"channels", all}});
  }

  // POST / with X-Sora-Target: the original service's RPC style.
  void rpc(SoupServerMessage* msg) {
    const std::string target = request_header(msg, "X-Sora-Target");
    if (target.empty()) {
      reply_error(msg, SOUP_STATUS_BAD_REQUEST, "X-Sora-Target: required (e.g. ImageFlux_20180905.CreateChannel)");
      return;
    }
    if (!authorized(msg)) return;
    const std::string body = request_body(msg);
    if (std::find(std::begin(kCreateTargets), std::end(kCreateTargets), target) != std::end(kCreateTargets)) {
      create(msg, body, false);
    } else if (target == std::string(kTargetPrefix) + "DeleteChannel") {
      const Json doc = Json::parse(body, nullptr, false);
      if (doc.is_discarded() || !doc.is_object()) {
        reply_error(msg, SOUP_STATUS_BAD_REQUEST, "not valid JSON: expected {\"channel_id\": \"…\"}");
      } else if (!doc.contains("channel_id") || !doc["channel_id"].is_string()) {
        reply_error(msg, SOUP_STATUS_BAD_REQUEST, "channel_id: is required (a string)");
      } else {
        remove(msg, doc["channel_id"].get<std::string>());
      }
    } else if (target == std::string(kTargetPrefix) + "ListChannels") {
      list(msg);
    } else {
      reply_error(msg, SOUP_STATUS_BAD_REQUEST, "X-Sora-Target: unknown target " + target);
    }
  }

  // /api/channels[/<channel_id>]
  void rest(SoupServerMessage* msg, const std::string& method, std::string_view rest_path) {
    if (!authorized(msg)) return;
    if (rest_path.empty() || rest_path == "/") {
      if (method == "POST") return create(msg, request_body(msg), true);
      if (method == "GET") return list(msg);
      set_header(msg, "Allow", "GET, POST");
      return reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET to list channels or POST to create one");
    }
    const std::string id(rest_path.substr(1));
    if (method == "DELETE") return remove(msg, id);
    if (method == "GET") {
      auto it = channels.find(id);
      if (it == channels.end()) return reply_error(msg, SOUP_STATUS_NOT_FOUND, "channel_id: no such channel");
      return reply_json(msg, SOUP_STATUS_OK, describe(*it->second, true));
    }
    set_header(msg, "Allow", "GET, DELETE");
    reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "use GET or DELETE on a channel");
  }

  // --- files and pages -----------------------------------------------

  void hls_file(SoupServerMessage* msg, std::string_view rest_path) {
    const auto slash = rest_path.find('/');
    const std::string playback_id(rest_path.substr(0, slash));
    const auto relative =
        slash == std::string_view::npos ? std::nullopt : safe_relative_path(rest_path.substr(slash + 1));
    if (!is_hex_id(playback_id, kPlaybackIdBytes) || !relative) {
      return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such file");
    }
    const std::string dir = channel_dir(playback_id);
    // Every component is a plain name; what remains to refuse is a symlink
    // planted inside the channel folder.
    std::string path = dir;
    std::size_t start = 0;
    while (true) {
      const auto end = relative->find('/', start);
      path += "/" + relative->substr(start, end - start);
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0 || S_ISLNK(st.st_mode) ||
          (end != std::string::npos ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
        return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such file");
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such file");
    std::string data;
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) data.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    const FileHeaders h = headers_for(*relative);
    set_header(msg, "Cache-Control", h.cache_control);
    reply(msg, SOUP_STATUS_OK, h.content_type, std::move(data));
  }

  void watch_page(SoupServerMessage* msg, const std::string& playback_id) {
    if (!is_hex_id(playback_id, kPlaybackIdBytes) ||
        !g_file_test(channel_dir(playback_id).c_str(), G_FILE_TEST_IS_DIR)) {
      return reply(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "no such channel\n");
    }
    std::string page(*embedded_file("web/watch.html"));
    replace_all(page, "@PLAYLIST_URL@", "/hls/" + playback_id + "/index.m3u8");
    set_header(msg, "Cache-Control", "no-cache");
    reply(msg, SOUP_STATUS_OK, "text/html; charset=utf-8", std::move(page));
  }

  // The publish page is addressed by the channel id, the publish
  // credential: whoever has the link may publish, as with the API answer.
  void publish_page(SoupServerMessage* msg, const std::string& channel_id) {
    const auto it = channels.find(channel_id);
    if (it == channels.end()) return reply(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "no such channel\n");
    const Entry& e = *it->second;
    std::string page(*embedded_file("web/publish.html"));
    replace_all(page, "@WHIP_URL@", "/whip/" + e.playback_id);
    replace_all(page, "@WATCH_URL@", "/watch/" + e.playback_id);
    replace_all(page, "@CHANNEL_ID@", e.channel_id);
    set_header(msg, "Cache-Control", "no-store");
    set_header(msg, "Referrer-Policy", "no-referrer");
    reply(msg, SOUP_STATUS_OK, "text/html; charset=utf-8", std::move(page));
  }

  void index_page(SoupServerMessage* msg) {
    std::string items;
    for (const auto& [id, e] : channels) {
      const auto f = e->channel->figures();
      if (f.state != ChannelState::kLive && f.state != ChannelState::kIdle) continue;
      const std::string pid = html_escape(e->playback_id);
      items += R"(<li><a href="/watch/)";
      items += pid;
      items += R"("><img data-src="/hls/)";
      items += pid;
      items += R"(/thumbnail.jpg" alt="" width="320" height="180"><span>)";
      items += pid.substr(0, 8);
      items += " · ";
      items += to_string(f.state);
      items += "</span></a></li>\n";
    }
    std::string page(*embedded_file("web/index.html"));
    const std::string marker = "@CHANNELS@";
    if (const auto pos = page.find(marker); pos != std::string::npos) {
      page.replace(pos, marker.size(), items.empty() ? "<li class=\"none\">No channel is live.</li>" : items);
    }
    set_header(msg, "Cache-Control", "no-cache");
    reply(msg, SOUP_STATUS_OK, "text/html; charset=utf-8", std::move(page));
  }

  void metrics(SoupServerMessage* msg) {
    std::vector<LabelledFigures> all;
    for (const auto& [id, e] : channels) all.push_back({e->playback_id, e->channel->figures()});
    std::string text = render_metrics(all);
    text += metric_header("nagare_webrtc_publishers", "gauge", "Publishers connected over WHIP or Sora signaling now.");
    text += "nagare_webrtc_publishers " + std::to_string(ingest->publishers()) + "\n";
    text += hooks->metrics();
    reply(msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", std::move(text));
  }

  // --- routing -------------------------------------------------------

  void handle(SoupServerMessage* msg, const char* raw_path) {
    const std::string method = soup_server_message_get_method(msg);
    // libsoup hands the path still percent-encoded; each route decodes what
    // it reads.
    const std::string_view path = raw_path;
    set_header(msg, "Access-Control-Allow-Origin", "*");
    // WHIP answers its own preflight (it allows PATCH and exposes Location).
    const bool whip = starts_with(path, "/whip/");
    if (method == "OPTIONS" && !whip) {
      set_header(msg, "Access-Control-Allow-Methods", "GET, HEAD, POST, DELETE, OPTIONS");
      set_header(msg, "Access-Control-Allow-Headers", "Authorization, Content-Type, X-Sora-Target");
      set_header(msg, "Access-Control-Max-Age", "86400");
      soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
      return;
    }
    if (request_body_of(msg).too_large) {
      return reply_error(msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                         "the body is larger than " + std::to_string(kMaxBody) + " bytes");
    }
    if (whip) return ingest->whip(msg, method, path.substr(6), request_body(msg));
    const bool read = method == "GET" || method == "HEAD";
    if (path == "/") {
      if (method == "POST") return rpc(msg);
      if (read) return index_page(msg);
    } else if (path == "/api/channels" || starts_with(path, "/api/channels/")) {
      return rest(msg, method, path.substr(std::strlen("/api/channels")));
    } else if (starts_with(path, "/hls/")) {
      if (read) return hls_file(msg, path.substr(5));
    } else if (starts_with(path, "/watch/")) {
      if (read) return watch_page(msg, std::string(path.substr(7)));
    } else if (starts_with(path, "/publish/")) {
      if (read) return publish_page(msg, std::string(path.substr(9)));
    } else if (starts_with(path, "/keys/")) {
      if (read) return hooks->serve_key(msg, std::string(path.substr(6)));
    } else if (path == "/metrics") {
      if (read) return metrics(msg);
    } else if (path == "/healthz") {
      if (read) return reply_json(msg, SOUP_STATUS_OK, {{"status", "ok"}, {"channels", channels.size()}});
    } else if (path == "/static/hls.min.js") {
      if (read) {
        set_header(msg, "Cache-Control", "public, max-age=86400");
        return reply(msg, SOUP_STATUS_OK, "text/javascript", std::string(*embedded_file("web/hls.min.js")));
      }
    } else if (path == "/signaling") {
      return reply_error(msg, SOUP_STATUS_BAD_REQUEST, "signaling is a WebSocket: connect with ws:// (Upgrade)");
    } else {
      return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such path");
    }
    set_header(msg, "Allow", path == "/" ? "GET, HEAD, POST" : "GET, HEAD");
    reply_error(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method " + method + " is not allowed here");
  }
};

std::unique_ptr<Server> Server::start(ServerOptions options, std::string* error) {
  auto impl = std::make_unique<Impl>(std::move(options));
  const std::string& listen = impl->options.listen;
  const auto colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  char* end = nullptr;
  const unsigned long port = colon == std::string::npos ? 0 : std::strtoul(listen.c_str() + colon + 1, &end, 10);
  if (host.empty() || colon == std::string::npos || *end != '\0' || port > 65535) {
    *error = "--listen must be HOST:PORT, e.g. 127.0.0.1:8080";
    return nullptr;
  }
  GSocketAddress* address = g_inet_socket_address_new_from_string(host.c_str(), static_cast<guint>(port));
  if (!address) {
    *error = "--listen: " + host + " is not an IP address";
    return nullptr;
  }
  impl->soup = soup_server_new("server-header", "nagare/" VERSION " ", nullptr);
  impl->hooks = std::make_unique<ChannelHooks>(HooksOptions{impl->options.data_dir, impl->options.data_dir + "/tmp", "",
                                                            impl->options.serve_keys,
                                                            impl->options.archive_destinations, impl->options.webhook});
  Impl* self = impl.get();
  impl->ingest = std::make_unique<Ingest>(
      impl->options.webrtc,
      [self](const std::string& playback_id) {
        auto it = self->by_playback.find(playback_id);
        return self->ingest_ref(it == self->by_playback.end() ? nullptr : it->second);
      },
      [self](const std::string& channel_id) {
        auto it = self->channels.find(channel_id);
        return self->ingest_ref(it == self->channels.end() ? nullptr : it->second.get());
      },
      *impl->hooks);
  impl->ingest->add_signaling(impl->soup, "/signaling");
  // One handler for every path: the routes are few and read best together.
  soup_server_add_handler(
      impl->soup, nullptr,
      [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer data) {
        GUri* uri = soup_server_message_get_uri(msg);
        static_cast<Impl*>(data)->handle(msg, g_uri_get_path(uri));
      },
      impl.get(), nullptr);
  // Bodies are collected here rather than by libsoup, so a large one (a
  // Content-Length over the limit, or chunks without one) costs no memory:
  // the excess is read and dropped, and the handler answers 413.
  soup_server_add_early_handler(
      impl->soup, nullptr,
      [](SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
        const goffset length = soup_message_headers_get_content_length(soup_server_message_get_request_headers(msg));
        auto* body = new RequestBody;
        body->too_large = length > static_cast<goffset>(kMaxBody);
        g_object_set_data_full(G_OBJECT(msg), kBodyKey, body, [](gpointer b) { delete static_cast<RequestBody*>(b); });
        soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
        g_signal_connect(msg, "got-chunk", G_CALLBACK(+[](SoupServerMessage* m, GBytes* chunk, gpointer) {
                           auto* b = static_cast<RequestBody*>(g_object_get_data(G_OBJECT(m), kBodyKey));
                           gsize size = 0;
                           const auto* data = static_cast<const char*>(g_bytes_get_data(chunk, &size));
                           if (b->too_large || b->bytes.size() + size > kMaxBody) {
                             b->too_large = true;
                             b->bytes.clear();
                             return;
                           }
                           b->bytes.append(data, size);
                         }),
                         nullptr);
      },
      nullptr, nullptr);
  std::string why;
  impl->acceptor = Acceptor::start(impl->soup, address, &why);
  g_object_unref(address);
  if (!impl->acceptor) {
    *error = "cannot listen on " + listen + ": " + why;
    return nullptr;
  }
  const std::string& actual = impl->acceptor->url();
  impl->base_url = impl->options.public_url.empty() ? actual : impl->options.public_url;
  if (!impl->base_url.empty() && impl->base_url.back() == '/') impl->base_url.pop_back();
  impl->hooks->set_base_url(impl->base_url);
  if (const int e = make_dirs(impl->options.data_dir + "/channels")) {
    *error = impl->options.data_dir + "/channels: " + std::strerror(e);
    return nullptr;
  }
  // One line on stdout that scripts and tests can read the address from.
  std::printf("nagare serve: listening on %s\n", actual.c_str());
  std::fflush(stdout);
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() = default;

void Server::stop(std::function<void()> done) {
  impl_->ingest->stop_all();
  auto remaining = std::make_shared<std::size_t>(impl_->channels.size() + impl_->ending.size());
  // Once every channel has ended: archives finish, the last events go.
  auto finished = std::make_shared<std::function<void()>>(
      [hooks = impl_->hooks.get(), done = std::move(done)] { hooks->finish(done); });
  if (*remaining == 0) {
    (*finished)();
    return;
  }
  auto one_done = [remaining, finished] {
    if (--*remaining == 0) (*finished)();
  };
  // A deleted channel still ending its playlists is waited for too.
  for (auto& [id, e] : impl_->channels) e->channel->stop(one_done);
  for (auto& e : impl_->ending) e->channel->stop(one_done);
}

}  // namespace nagare::launcher
