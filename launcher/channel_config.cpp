#include "channel_config.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <initializer_list>
#include <nlohmann/json.hpp>

namespace nagare::launcher {

using Json = nlohmann::json;

namespace {

// MPEG-1 Layer III bitrates at 48 kHz (ISO/IEC 11172-3); lamemp3enc with
// cbr=true takes no others.
constexpr std::array<std::int64_t, 14> kMp3Bitrates = {32000,  40000,  48000,  56000,  64000,  80000,  96000,
                                                       112000, 128000, 160000, 192000, 224000, 256000, 320000};

struct Invalid {
  ConfigError error;
};

[[noreturn]] void fail(std::string field, std::string message) {
  throw Invalid{{std::move(field), std::move(message)}};
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

const Json& object_at(const Json& j, const std::string& path) {
  if (!j.is_object()) fail(path, "must be an object");
  return j;
}

void refuse_unknown(const Json& j, const std::string& path, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) fail(join(path, key), "unknown field");
  }
}

std::int64_t integer(const Json& j, const std::string& field, std::int64_t lo, std::int64_t hi) {
  if (!j.is_number_integer()) fail(field, "must be an integer");
  const std::int64_t v = j.is_number_unsigned() && j.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)
                             ? INT64_MAX
                             : j.get<std::int64_t>();
  if (v < lo || v > hi) fail(field, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

double number(const Json& j, const std::string& field, double lo, double hi) {
  if (!j.is_number()) fail(field, "must be a number");
  const double v = j.get<double>();
  if (!std::isfinite(v) || v < lo || v > hi) {
    fail(field, "must be between " + Json(lo).dump() + " and " + Json(hi).dump());
  }
  return v;
}

bool boolean(const Json& j, const std::string& field) {
  if (!j.is_boolean()) fail(field, "must be true or false");
  return j.get<bool>();
}

int dimension(const Json& j, const std::string& field, int max) {
  const auto v = static_cast<int>(integer(j, field, kMinDimension, max));
  // 4:2:0 chroma needs even sizes; encoders refuse odd ones.
  if (v % 2 != 0) fail(field, "must be even");
  return v;
}

VideoSpec parse_video(const Json& j, const std::string& path) {
  object_at(j, path);
  refuse_unknown(j, path, {"width", "height", "fps", "bps", "passthrough"});
  VideoSpec v;
  if (j.contains("passthrough")) v.passthrough = boolean(j["passthrough"], join(path, "passthrough"));
  // A transcoded rendition needs all four; passthrough takes what it is sent
  // and uses any it is given only to describe the stream.
  for (const char* key : {"width", "height", "fps", "bps"}) {
    if (!v.passthrough && !j.contains(key)) fail(join(path, key), "is required");
  }
  if (j.contains("width")) v.width = dimension(j["width"], join(path, "width"), kMaxWidth);
  if (j.contains("height")) v.height = dimension(j["height"], join(path, "height"), kMaxHeight);
  if (j.contains("fps")) v.fps = static_cast<int>(integer(j["fps"], join(path, "fps"), 1, kMaxFps));
  if (j.contains("bps")) v.bps = integer(j["bps"], join(path, "bps"), kMinVideoBps, kMaxVideoBps);
  return v;
}

AudioSpec parse_audio(const Json& j, const std::string& path) {
  object_at(j, path);
  refuse_unknown(j, path, {"bps", "codec"});
  AudioSpec a;
  if (j.contains("codec")) {
    const Json& c = j["codec"];
    if (c == "mp3") {
      a.codec = AudioCodec::kMp3;
    } else if (c == "aac") {
      a.codec = AudioCodec::kAac;
    } else {
      fail(join(path, "codec"), R"(must be "mp3" or "aac")");
    }
  }
  if (!j.contains("bps")) fail(join(path, "bps"), "is required");
  const std::string field = join(path, "bps");
  if (a.codec == AudioCodec::kMp3) {
    a.bps = integer(j["bps"], field, kMp3Bitrates.front(), kMp3Bitrates.back());
    if (std::find(kMp3Bitrates.begin(), kMp3Bitrates.end(), a.bps) == kMp3Bitrates.end()) {
      std::string list;
      for (auto b : kMp3Bitrates) list += (list.empty() ? "" : ", ") + std::to_string(b);
      fail(field, "must be an MP3 bitrate: one of " + list);
    }
  } else {
    a.bps = integer(j["bps"], field, 16000, 320000);
  }
  return a;
}

RtpInput parse_input(const Json& j, const std::string& path) {
  object_at(j, path);
  refuse_unknown(j, path, {"rtp"});
  if (!j.contains("rtp")) fail(join(path, "rtp"), "is required");
  const std::string rtp_path = join(path, "rtp");
  const Json& r = object_at(j["rtp"], rtp_path);
  refuse_unknown(r, rtp_path, {"video_port", "audio_port", "video_payload_type", "audio_payload_type", "bind"});
  RtpInput in;
  if (r.contains("video_port")) {
    in.video_port = static_cast<std::uint16_t>(integer(r["video_port"], join(rtp_path, "video_port"), 1, 65535));
  }
  if (r.contains("audio_port")) {
    in.audio_port = static_cast<std::uint16_t>(integer(r["audio_port"], join(rtp_path, "audio_port"), 1, 65535));
  }
  if (in.video_port != 0 && in.video_port == in.audio_port) {
    fail(join(rtp_path, "audio_port"), "must differ from video_port");
  }
  // Dynamic payload types (RFC 3551 §6).
  if (r.contains("video_payload_type")) {
    in.video_payload_type =
        static_cast<int>(integer(r["video_payload_type"], join(rtp_path, "video_payload_type"), 96, 127));
  }
  if (r.contains("audio_payload_type")) {
    in.audio_payload_type =
        static_cast<int>(integer(r["audio_payload_type"], join(rtp_path, "audio_payload_type"), 96, 127));
  }
  if (r.contains("bind")) {
    const Json& b = r["bind"];
    // An address goes into a pipeline description: only the characters of
    // IPv4/IPv6 literals and host names, so it cannot end the element.
    if (!b.is_string() || b.get<std::string>().empty() || b.get<std::string>().size() > 253 ||
        !std::all_of(b.get_ref<const std::string&>().begin(), b.get_ref<const std::string&>().end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == ':' || c == '-';
        })) {
      fail(join(rtp_path, "bind"), "must be an IP address or host name");
    }
    in.bind = b.get<std::string>();
  }
  return in;
}

ChannelConfig parse(const Json& doc) {
  object_at(doc, "");
  refuse_unknown(doc, "", {"hls", "segment_duration", "latency_ms", "playlist_length", "idle_timeout", "input"});
  ChannelConfig c;
  if (!doc.contains("hls")) fail("hls", "is required");
  const Json& hls = doc["hls"];
  if (!hls.is_array()) fail("hls", "must be an array of renditions");
  if (hls.empty()) fail("hls", "must have at least one rendition");
  if (hls.size() > kMaxRenditions) fail("hls", "must have at most " + std::to_string(kMaxRenditions) + " renditions");
  for (std::size_t i = 0; i < hls.size(); ++i) {
    const std::string path = "hls[" + std::to_string(i) + "]";
    const Json& entry = object_at(hls[i], path);
    refuse_unknown(entry, path, {"video", "audio"});
    if (!entry.contains("video")) fail(join(path, "video"), "is required");
    if (!entry.contains("audio")) fail(join(path, "audio"), "is required");
    c.hls.push_back(
        {parse_video(entry["video"], join(path, "video")), parse_audio(entry["audio"], join(path, "audio"))});
  }
  if (doc.contains("segment_duration"))
    c.segment_duration = number(doc["segment_duration"], "segment_duration", 0.5, 20);
  if (doc.contains("latency_ms")) {
    const Json& l = doc["latency_ms"];
    if (l == "auto") {
      c.latency_ms.reset();
    } else if (l.is_number_integer()) {
      c.latency_ms = static_cast<int>(integer(l, "latency_ms", 0, 10000));
    } else {
      fail("latency_ms", "must be an integer number of milliseconds or \"auto\"");
    }
  }
  if (doc.contains("playlist_length")) {
    // RFC 8216 §6.2.2: a live playlist keeps at least three target durations.
    c.playlist_length = static_cast<int>(integer(doc["playlist_length"], "playlist_length", 3, 1000));
  }
  if (doc.contains("idle_timeout")) c.idle_timeout = number(doc["idle_timeout"], "idle_timeout", 1, 86400);
  if (doc.contains("input")) c.input = parse_input(doc["input"], "input");
  return c;
}

}  // namespace

std::string_view to_string(AudioCodec codec) { return codec == AudioCodec::kAac ? "aac" : "mp3"; }

std::string ConfigError::what() const { return field.empty() ? message : field + ": " + message; }

std::vector<AudioSpec> ChannelConfig::audio_encodings() const {
  std::vector<AudioSpec> out;
  for (const auto& r : hls) {
    if (std::find(out.begin(), out.end(), r.audio) == out.end()) out.push_back(r.audio);
  }
  return out;
}

std::size_t ChannelConfig::audio_encoding_of(std::size_t n) const {
  const auto all = audio_encodings();
  return static_cast<std::size_t>(std::find(all.begin(), all.end(), hls.at(n).audio) - all.begin());
}

ParsedConfig parse_channel_config(std::string_view json) {
  Json doc;
  try {
    doc = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& e) {
    return {std::nullopt, {"", "not valid JSON (at byte " + std::to_string(e.byte) + ")"}};
  } catch (const Json::exception&) {
    // Valid syntax the parser still cannot hold, such as 1e400.
    return {std::nullopt, {"", "not valid JSON (a number out of range)"}};
  }
  try {
    return {parse(doc), {}};
  } catch (const Invalid& invalid) {
    return {std::nullopt, invalid.error};
  }
}

std::string to_json(const ChannelConfig& c) {
  Json hls = Json::array();
  for (const auto& r : c.hls) {
    Json video = {{"passthrough", r.video.passthrough}};
    if (r.video.width) video["width"] = r.video.width;
    if (r.video.height) video["height"] = r.video.height;
    if (r.video.fps) video["fps"] = r.video.fps;
    if (r.video.bps) video["bps"] = r.video.bps;
    hls.push_back({{"video", video}, {"audio", {{"bps", r.audio.bps}, {"codec", to_string(r.audio.codec)}}}});
  }
  Json rtp = {{"video_payload_type", c.input.video_payload_type},
              {"audio_payload_type", c.input.audio_payload_type},
              {"bind", c.input.bind}};
  if (c.input.video_port) rtp["video_port"] = c.input.video_port;
  if (c.input.audio_port) rtp["audio_port"] = c.input.audio_port;
  Json doc = {{"hls", hls},
              {"segment_duration", c.segment_duration},
              {"playlist_length", c.playlist_length},
              {"idle_timeout", c.idle_timeout},
              {"input", {{"rtp", rtp}}}};
  doc["latency_ms"] = c.latency_ms ? Json(*c.latency_ms) : Json("auto");
  return doc.dump();
}

}  // namespace nagare::launcher
