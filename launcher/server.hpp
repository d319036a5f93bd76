// `nagare serve`: the channel API, WebRTC ingest (WHIP and Sora-compatible
// signaling), the HLS files, /metrics, /healthz and the publish, watch and
// index pages, on libsoup 3 in the GLib main loop that GStreamer's
// bus watches already use.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "pipelines.hpp"
#include "webhook_client.hpp"
#include "webrtc_session.hpp"

namespace nagare::launcher {

struct ServerOptions {
  std::string listen = "127.0.0.1:8080";  // HOST:PORT; port 0 picks a free one
  std::string data_dir;                   // channels write under DATA/channels/<playback_id>/
  std::string token;                      // empty: the API needs no Authorization
  std::string public_url;                 // empty: http://HOST:PORT as listened on
  std::string rtp_bind = "127.0.0.1";
  std::uint16_t rtp_low = 20000;
  std::uint16_t rtp_high = 20999;
  LoadedPipeline pipeline;
  WebrtcOptions webrtc;
  bool serve_keys = false;  // channels with "encrypt": true get keys from /keys/<playback_id>/<key_id>
  std::map<std::string, std::string> archive_destinations;  // id → folder
  WebhookOptions webhook;
};

class Server {
 public:
  // Listening when it returns; nullptr with *error otherwise.
  static std::unique_ptr<Server> start(ServerOptions options, std::string* error);
  ~Server();

  // Ends every channel (EXT-X-ENDLIST in all playlists), then calls `done`.
  void stop(std::function<void()> done);

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace nagare::launcher
