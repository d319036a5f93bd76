#include "hooks.hpp"

#include <cstring>

#include "figures.hpp"
#include "files.hpp"
#include "ids.hpp"
#include "log.hpp"
#include "soup_reply.hpp"

namespace nagare::launcher {

using Json = nlohmann::json;

namespace {

constexpr std::size_t kKeyIdBytes = 8;     // as nagarehlssink makes them
constexpr unsigned kFinalEventsMs = 3000;  // on shutdown, for the last events

}  // namespace

ChannelHooks::ChannelHooks(HooksOptions options)
    : options_(std::move(options)), webhooks_(std::make_unique<WebhookClient>(options_.webhook)) {
  std::map<std::string, std::unique_ptr<ArchiveDestination>> destinations;
  for (const auto& [id, dir] : options_.archive_destinations) destinations[id] = local_directory(dir);
  archiver_ = std::make_unique<Archiver>(std::move(destinations), options_.work_dir);
}

ChannelHooks::~ChannelHooks() { alive_.reset(); }

std::string ChannelHooks::refusal(const ChannelConfig& config) const {
  if (config.encrypt && config.encrypt_key_uri.empty() && !options_.serve_keys) {
    return "encrypt: needs encrypt_key_uri (your key server), or a server started with --serve-keys";
  }
  if (config.archive && !archiver_->has(config.archive_destination_id)) {
    return "archive_destination_id: no destination \"" + config.archive_destination_id +
           "\" is registered (nagare serve --archive-destination ID=DIR)";
  }
  return {};
}

std::string ChannelHooks::key_dir(const std::string& playback_id) const {
  return options_.data_dir + "/keys/" + playback_id;
}

void ChannelHooks::event(const ChannelConfig& config, const std::string& channel_id, const std::string& playback_id,
                         const std::string& type, Json data) {
  if (config.event_webhook_url.empty()) return;
  data["channel_id"] = channel_id;
  data["playback_id"] = playback_id;
  webhooks_->send(config.event_webhook_url, type, data);
}

void ChannelHooks::wire(Channel::Options& options, const std::string& channel_id, const std::string& playback_id,
                        const std::string& playlist_url) {
  const ChannelConfig config = options.config;
  options.label = playback_id;
  if (config.encrypted()) {
    options.key_dir = key_dir(playback_id);
    options.key_uri = config.encrypt_key_uri.empty() ? options_.base_url + "/keys/" + playback_id + "/{key_id}"
                                                     : config.encrypt_key_uri;
  }
  std::weak_ptr<bool> alive = alive_;
  options.on_event = [this, alive, config, channel_id, playback_id, playlist_url](const std::string& type,
                                                                                  const Json& data) {
    if (alive.expired()) return;
    Json d = data;
    if (type == "hls.started") d["playlist_url"] = playlist_url;
    event(config, channel_id, playback_id, type, std::move(d));
  };
  if (!config.archive) return;
  options.on_archive = [this, alive, config, channel_id, playback_id](ArchiveRequest request) {
    if (alive.expired()) return;
    const unsigned broadcast = request.broadcast;
    log_line(playback_id.substr(0, 8),
             "archiving broadcast " + std::to_string(broadcast) + " to " + config.archive_destination_id);
    archiver_->archive(
        config.archive_destination_id, std::move(request),
        [this, alive, config, channel_id, playback_id, broadcast](const ArchiveResult& r) {
          if (alive.expired()) return;
          const std::string who = playback_id.substr(0, 8);
          if (r.ok) {
            ++archives_ok_;
            log_line(who, "archived broadcast " + std::to_string(broadcast) + " at " + r.location);
            event(config, channel_id, playback_id, "archive.ready",
                  {{"broadcast", broadcast},
                   {"destination_id", config.archive_destination_id},
                   {"location", r.location},
                   {"mp4", r.mp4},
                   {"duration", static_cast<double>(r.duration_us) / 1e6},
                   {"segments", r.segments}});
          } else {
            ++archives_failed_;
            log_line(who, "archiving broadcast " + std::to_string(broadcast) + " failed: " + r.error);
            event(config, channel_id, playback_id, "archive.failed", {{"broadcast", broadcast}, {"error", r.error}});
          }
        });
  };
}

void ChannelHooks::serve_key(SoupServerMessage* msg, const std::string& rest) {
  const auto slash = rest.find('/');
  const std::string playback_id = rest.substr(0, slash);
  const std::string key_id = slash == std::string::npos ? "" : rest.substr(slash + 1);
  if (!options_.serve_keys || !is_hex_id(playback_id, kPlaybackIdBytes) || !is_hex_id(key_id, kKeyIdBytes)) {
    return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such key");
  }
  const auto key = read_file(key_dir(playback_id) + "/" + key_id + ".key");
  if (!key || key->size() != 16) return reply_error(msg, SOUP_STATUS_NOT_FOUND, "no such key");
  // A key is no file to keep: every fetch asks again.
  set_header(msg, "Cache-Control", "no-store");
  set_header(msg, "Access-Control-Allow-Origin", "*");
  reply(msg, SOUP_STATUS_OK, "application/octet-stream", *key);
}

std::string ChannelHooks::metrics() const {
  std::string out = webhooks_->metrics();
  out += metric_header("nagare_archives_total", "counter", "Broadcasts archived, by result.");
  out += "nagare_archives_total{result=\"ok\"} " + std::to_string(archives_ok_) + "\n";
  out += "nagare_archives_total{result=\"failed\"} " + std::to_string(archives_failed_) + "\n";
  return out;
}

void ChannelHooks::finish(std::function<void()> done) {
  archiver_->join();
  webhooks_->drain(kFinalEventsMs, std::move(done));
}

}  // namespace nagare::launcher
