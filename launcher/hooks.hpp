// What a channel's API fields ask of the launcher beyond its pipeline, in
// one place for `nagare serve` and `nagare run`: event webhooks, the keys of
// encrypted channels (where the sinks write them, the URL players get them
// from, serving them), and archives.
//
// Runs on the GLib main context.
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "archive.hpp"
#include "channel.hpp"
#include "channel_config.hpp"
#include "webhook_client.hpp"

namespace nagare::launcher {

struct HooksOptions {
  std::string data_dir;  // keys go under DATA/keys/<playback_id>/
  std::string work_dir;  // archives' MP4s are made here before they are put
  std::string base_url;  // where nagare serves keys itself: BASE/keys/<playback_id>/{key_id} (set_base_url)
  bool serve_keys = false;
  std::map<std::string, std::string> archive_destinations;  // id → folder
  WebhookOptions webhook;
};

class ChannelHooks {
 public:
  explicit ChannelHooks(HooksOptions options);
  ~ChannelHooks();
  ChannelHooks(const ChannelHooks&) = delete;
  ChannelHooks& operator=(const ChannelHooks&) = delete;

  // What the server cannot take in a channel that parsed: encryption with
  // keys served here when it does not serve keys, or an archive destination
  // it does not know. Empty if it can.
  std::string refusal(const ChannelConfig& config) const;

  // The channel's options with its key folder and URI, its events and its
  // archive wired to the webhook and the archiver. `channel_id` and
  // `playback_id` go into every event.
  void wire(Channel::Options& options, const std::string& channel_id, const std::string& playback_id,
            const std::string& playlist_url);

  // An event of the channel's (channel.created, publisher.connected, …) to
  // its event webhook, with the channel's ids added.
  void event(const ChannelConfig& config, const std::string& channel_id, const std::string& playback_id,
             const std::string& type, nlohmann::json data = nlohmann::json::object());

  WebhookClient& webhooks() { return *webhooks_; }
  // Known once the server listens.
  void set_base_url(std::string url) { options_.base_url = std::move(url); }

  // GET /keys/<playback_id>/<key_id>: a key the server serves itself.
  void serve_key(SoupServerMessage* msg, const std::string& rest);

  // Prometheus lines of the webhooks and archives.
  std::string metrics() const;

  // On shutdown: the last events get a moment to go, archives finish.
  void finish(std::function<void()> done);

 private:
  std::string key_dir(const std::string& playback_id) const;

  HooksOptions options_;
  std::unique_ptr<WebhookClient> webhooks_;
  std::unique_ptr<Archiver> archiver_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::uint64_t archives_ok_ = 0;
  std::uint64_t archives_failed_ = 0;
};

}  // namespace nagare::launcher
