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

// A URL that goes into a playlist attribute, a pipeline description's quoted
// value or an HTTP request: printable ASCII, no quotes, backslashes or
// spaces, and a scheme (and for http(s), a host).
std::string url(const Json& j, const std::string& field, bool path_allowed) {
  if (!j.is_string()) fail(field, "must be a string");
  const auto& u = j.get_ref<const std::string&>();
  if (u.empty() || u.size() > kMaxUrlLength) {
    fail(field, "must be a URL of 1 to " + std::to_string(kMaxUrlLength) + " characters");
  }
  if (!std::all_of(u.begin(), u.end(), [](char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '\\'; })) {
    fail(field, "must be a URL without spaces, quotes, backslashes or non-ASCII characters");
  }
  const bool http = u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0;
  if (http) {
    const std::size_t host = u.find("://") + 3;
    if (host >= u.size() || u[host] == '/' || u[host] == '?' || u[host] == '#') fail(field, "must name a host");
    return u;
  }
  if (path_allowed && u[0] == '/') return u;
  fail(field, path_allowed ? "must be an http(s) URL or an absolute path" : "must be an http(s) URL");
}

ChannelConfig parse(const Json& doc) {
  object_at(doc, "");
  refuse_unknown(doc, "",
                 {"hls", "segment_duration", "latency_ms", "playlist_length", "idle_timeout", "input",
                  "encrypt_key_uri", "encrypt", "key_rotation", "auth_webhook_url", "event_webhook_url", "archive",
                  "archive_destination_id", "environment"});
  ChannelConfig c;
  if (!doc.contains("hls")) fail("hls", "is required");
  const Json& hls = doc["hls"];
  if (!hls.is_array()) fail("hls", "must be an array of renditions");
  if (hls.empty()) fail("hls", "must have at least one rendition");
  if (hls.size() > kMaxRenditions) fail("hls", "must have at most " + std::to_string(kMaxRenditions) + " renditions");
  for (std::size_t i = 0; i < hls.size(); ++i) {
    const std::string path = "hls[" + std::to_string(i) + "]";
    const Json& entry = object_at(hls[i], path);
    refuse_unknown(entry, path, {"video", "audio", "durationSeconds", "startTimeOffset"});
    if (!entry.contains("video")) fail(join(path, "video"), "is required");
    if (!entry.contains("audio")) fail(join(path, "audio"), "is required");
    Rendition r{parse_video(entry["video"], join(path, "video")), parse_audio(entry["audio"], join(path, "audio")),
                std::nullopt, std::nullopt};
    if (entry.contains("durationSeconds")) {
      r.duration_seconds =
          number(entry["durationSeconds"], join(path, "durationSeconds"), kMinSegmentDuration, kMaxSegmentDuration);
    }
    if (entry.contains("startTimeOffset")) {
      r.start_time_offset =
          number(entry["startTimeOffset"], join(path, "startTimeOffset"), -kMaxStartTimeOffset, kMaxStartTimeOffset);
    }
    c.hls.push_back(r);
  }
  if (doc.contains("segment_duration"))
    c.segment_duration = number(doc["segment_duration"], "segment_duration", kMinSegmentDuration, kMaxSegmentDuration);
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

  if (doc.contains("encrypt_key_uri")) c.encrypt_key_uri = url(doc["encrypt_key_uri"], "encrypt_key_uri", true);
  if (doc.contains("encrypt")) c.encrypt = boolean(doc["encrypt"], "encrypt");
  if (doc.contains("key_rotation")) {
    c.key_rotation = static_cast<std::uint32_t>(integer(doc["key_rotation"], "key_rotation", 0, 1'000'000));
  }
  if (doc.contains("auth_webhook_url")) c.auth_webhook_url = url(doc["auth_webhook_url"], "auth_webhook_url", false);
  if (doc.contains("event_webhook_url")) {
    c.event_webhook_url = url(doc["event_webhook_url"], "event_webhook_url", false);
  }
  if (doc.contains("archive")) c.archive = boolean(doc["archive"], "archive");
  if (doc.contains("archive_destination_id")) {
    const Json& d = doc["archive_destination_id"];
    if (!d.is_string() || !is_destination_id(d.get_ref<const std::string&>())) {
      fail("archive_destination_id", "must be 1 to 64 letters, digits, '-', '_' or '.'");
    }
    c.archive_destination_id = d.get<std::string>();
  }
  if (c.archive && c.archive_destination_id.empty()) {
    fail("archive_destination_id", "is required when archive is true");
  }
  // "environment" is the original service's, and means nothing here.
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

bool is_destination_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && id != "." && id != ".." && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

std::string to_json(const ChannelConfig& c) {
  Json hls = Json::array();
  for (const auto& r : c.hls) {
    Json video = {{"passthrough", r.video.passthrough}};
    if (r.video.width) video["width"] = r.video.width;
    if (r.video.height) video["height"] = r.video.height;
    if (r.video.fps) video["fps"] = r.video.fps;
    if (r.video.bps) video["bps"] = r.video.bps;
    Json entry = {{"video", video}, {"audio", {{"bps", r.audio.bps}, {"codec", to_string(r.audio.codec)}}}};
    if (r.duration_seconds) entry["durationSeconds"] = *r.duration_seconds;
    if (r.start_time_offset) entry["startTimeOffset"] = *r.start_time_offset;
    hls.push_back(std::move(entry));
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
  if (!c.encrypt_key_uri.empty()) doc["encrypt_key_uri"] = c.encrypt_key_uri;
  if (c.encrypt) doc["encrypt"] = true;
  if (c.encrypted()) doc["key_rotation"] = c.key_rotation;
  if (!c.auth_webhook_url.empty()) doc["auth_webhook_url"] = c.auth_webhook_url;
  if (!c.event_webhook_url.empty()) doc["event_webhook_url"] = c.event_webhook_url;
  if (c.archive) doc["archive"] = true;
  if (!c.archive_destination_id.empty()) doc["archive_destination_id"] = c.archive_destination_id;
  return doc.dump();
}

}  // namespace nagare::launcher
