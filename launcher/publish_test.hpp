// `nagare publish-test`: a live publisher made of test sources, sending what
// a browser would: 720p30 H.264 constrained baseline in RTP (pt 96, STAP-A
// and FU-A at MTU 1200) and Opus in RTP (pt 111, 20 ms), as plain RTP to two
// ports or over WebRTC to a WHIP URL. The picture shows a running clock, the
// sound beeps once a second.
#pragma once

#include <optional>
#include <string>

namespace nagare::launcher {

class TestPublisher {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    int video_port = 0;
    int audio_port = 0;
    double seconds = 0;  // 0: until SIGINT or SIGTERM
    int width = 1280;
    int height = 720;
    int fps = 30;
    int video_kbps = 2500;
  };
  static std::string description(const Options& options);
  // Fills the ports (and the host, unless `keep_host`) from a channel's
  // API URL, http://HOST:PORT/api/channels/<channel_id>, as nagare serve
  // answers it. Returns an error message, or nothing on success.
  static std::optional<std::string> ports_from_channel_url(const std::string& url, const std::string& token,
                                                           bool keep_host, Options& options);
  // Runs in the foreground; returns the process exit code.
  static int run(const Options& options);

  // The same sources published over WebRTC to a WHIP endpoint, the way OBS
  // does it: one POST with every candidate in the offer, no trickle, DELETE
  // at the end. `token` is the channel's publish credential.
  static int run_whip(const Options& options, const std::string& whip_url, const std::string& token);
};

}  // namespace nagare::launcher
