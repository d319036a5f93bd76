// A channel as its JSON describes it: the original service's `hls` array (one
// entry per rendition) plus nagare's own optional fields, parsed and checked.
//
// Every error names the field it is about, in the JSON path a user would
// write ("hls[1].video.width"), so the same message serves `nagare run` on
// the command line and a 400 from the API.
//
// Plain C++, no GStreamer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nagare::launcher {

enum class AudioCodec { kMp3, kAac };

std::string_view to_string(AudioCodec codec);

struct VideoSpec {
  // Zero for a passthrough rendition that does not state them: then they
  // are whatever the publisher sends.
  int width = 0;
  int height = 0;
  int fps = 0;
  std::int64_t bps = 0;
  bool passthrough = false;  // repackage the publisher's H.264 as it is
};

struct AudioSpec {
  std::int64_t bps = 64000;
  AudioCodec codec = AudioCodec::kMp3;

  friend bool operator==(const AudioSpec&, const AudioSpec&) = default;
};

struct Rendition {
  VideoSpec video;
  AudioSpec audio;
  // The original service's per-rendition fields (API parity).
  std::optional<double> duration_seconds;   // durationSeconds: this rendition's segment target, s
  std::optional<double> start_time_offset;  // startTimeOffset: EXT-X-START:TIME-OFFSET, s

  // The segment target of this rendition: its own, else the channel's.
  double segment_duration(double channel_default) const { return duration_seconds.value_or(channel_default); }
};

struct RtpInput {
  // Zero: not given (the server assigns them; `nagare run` requires them).
  std::uint16_t video_port = 0;
  std::uint16_t audio_port = 0;
  int video_payload_type = 96;
  int audio_payload_type = 111;
  std::string bind = "127.0.0.1";
};

struct ChannelConfig {
  std::vector<Rendition> hls;
  double segment_duration = 2.0;        // s
  std::optional<int> latency_ms = 500;  // nullopt: "auto" (adaptive)
  int playlist_length = 6;              // segments in each media playlist
  double idle_timeout = 15.0;           // s of silence before a broadcast ends
  RtpInput input;

  // AES-128 segment encryption: the key URI players fetch from (the
  // customer's key server; "{key_id}" is replaced, else ?key_id= is added).
  std::string encrypt_key_uri;
  // Encrypt with keys nagare serves itself (needs `serve --serve-keys`);
  // implied by encrypt_key_uri.
  bool encrypt = false;
  std::uint32_t key_rotation = 0;  // segments per key; 0: one key per broadcast
  // Every publish attempt is POSTed here; only {"allowed": true} admits it.
  std::string auth_webhook_url;
  // Channel events (created, publisher, hls, keys) are POSTed here.
  std::string event_webhook_url;
  // Keep the whole broadcast and, at its end, write a VOD playlist and an
  // MP4 of the top rendition to the destination registered under this id.
  bool archive = false;
  std::string archive_destination_id;

  bool encrypted() const { return encrypt || !encrypt_key_uri.empty(); }

  // The distinct audio encodings, in the order renditions first use them;
  // each is encoded once and shared by the renditions that ask for it.
  std::vector<AudioSpec> audio_encodings() const;
  // Index into audio_encodings() of rendition `n`'s audio.
  std::size_t audio_encoding_of(std::size_t n) const;
};

// The limits a channel is checked against.
inline constexpr std::size_t kMaxRenditions = 8;
inline constexpr int kMinDimension = 16;
inline constexpr int kMaxWidth = 3840;
inline constexpr int kMaxHeight = 2160;
inline constexpr int kMaxFps = 60;
inline constexpr std::int64_t kMinVideoBps = 50'000;
inline constexpr std::int64_t kMaxVideoBps = 50'000'000;
inline constexpr double kMinSegmentDuration = 0.5;    // s
inline constexpr double kMaxSegmentDuration = 20;     // s
inline constexpr double kMaxStartTimeOffset = 86400;  // s, either way
inline constexpr std::size_t kMaxUrlLength = 2048;

struct ConfigError {
  std::string field;         // JSON path, e.g. "hls[0].video.width"; empty: the document
  std::string message;       // what is wrong with it
  std::string what() const;  // "hls[0].video.width: must be even"
};

struct ParsedConfig {
  std::optional<ChannelConfig> config;
  ConfigError error;  // meaningful when !config
};

// Parses and checks a channel description. Unknown fields are refused (a
// typo would otherwise silently fall back to a default).
ParsedConfig parse_channel_config(std::string_view json);

// The channel as JSON again, with every default filled in.
std::string to_json(const ChannelConfig& config);

// An archive destination's id: 1 to 64 of [A-Za-z0-9._-], not "." or "..",
// as it may name a folder.
bool is_destination_id(std::string_view id);

}  // namespace nagare::launcher
