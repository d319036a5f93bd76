// parse_channel_config (launcher/channel_config.hpp): the channel JSON of
// `nagare run` and of the channel API. Every refusal is checked with the
// exact field path and message a user sees, since the same text goes back
// as a 400 from the server.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "channel_config.hpp"

using namespace nagare::launcher;
using Json = nlohmann::json;

namespace {

// One transcoded 640x480 rendition: the smallest channel that parses.
Json base() {
  return Json::parse(R"({"hls":[{"video":{"width":640,"height":480,"fps":30,"bps":1000000},
                                  "audio":{"bps":64000,"codec":"mp3"}}]})");
}

ChannelConfig accepted(const std::string& text) {
  const ParsedConfig parsed = parse_channel_config(text);
  INFO(text << " -> " << parsed.error.what());
  REQUIRE(parsed.config);
  return *parsed.config;
}
ChannelConfig accepted(const Json& doc) { return accepted(doc.dump()); }
ChannelConfig accepted(const char* text) { return accepted(std::string(text)); }

ConfigError refused(const std::string& text) {
  const ParsedConfig parsed = parse_channel_config(text);
  INFO(text);
  REQUIRE_FALSE(parsed.config);
  return parsed.error;
}
ConfigError refused(const Json& doc) { return refused(doc.dump()); }

// The refusal of `doc` names `field` with exactly `message`.
void check_refused(const Json& doc, const std::string& field, const std::string& message) {
  const ConfigError e = refused(doc);
  INFO(doc.dump());
  CHECK(e.field == field);
  CHECK(e.message == message);
}

void check_same(const ChannelConfig& a, const ChannelConfig& b) {
  REQUIRE(a.hls.size() == b.hls.size());
  for (std::size_t i = 0; i < a.hls.size(); ++i) {
    INFO("rendition " << i);
    CHECK(a.hls[i].video.width == b.hls[i].video.width);
    CHECK(a.hls[i].video.height == b.hls[i].video.height);
    CHECK(a.hls[i].video.fps == b.hls[i].video.fps);
    CHECK(a.hls[i].video.bps == b.hls[i].video.bps);
    CHECK(a.hls[i].video.passthrough == b.hls[i].video.passthrough);
    CHECK(a.hls[i].audio == b.hls[i].audio);
  }
  CHECK(a.segment_duration == b.segment_duration);
  CHECK(a.latency_ms == b.latency_ms);
  CHECK(a.playlist_length == b.playlist_length);
  CHECK(a.idle_timeout == b.idle_timeout);
  CHECK(a.input.video_port == b.input.video_port);
  CHECK(a.input.audio_port == b.input.audio_port);
  CHECK(a.input.video_payload_type == b.input.video_payload_type);
  CHECK(a.input.audio_payload_type == b.input.audio_payload_type);
  CHECK(a.input.bind == b.input.bind);
  for (std::size_t i = 0; i < a.hls.size(); ++i) {
    CHECK(a.hls[i].duration_seconds == b.hls[i].duration_seconds);
    CHECK(a.hls[i].start_time_offset == b.hls[i].start_time_offset);
  }
  CHECK(a.encrypt_key_uri == b.encrypt_key_uri);
  CHECK(a.encrypt == b.encrypt);
  CHECK(a.key_rotation == b.key_rotation);
  CHECK(a.auth_webhook_url == b.auth_webhook_url);
  CHECK(a.event_webhook_url == b.event_webhook_url);
  CHECK(a.archive == b.archive);
  CHECK(a.archive_destination_id == b.archive_destination_id);
}

const std::vector<std::int64_t> kMp3Rates = {32000,  40000,  48000,  56000,  64000,  80000,  96000,
                                             112000, 128000, 160000, 192000, 224000, 256000, 320000};

}  // namespace

TEST_CASE("channel config: the defaults are filled in", "[channel_config]") {
  const ChannelConfig c =
      accepted(R"({"hls":[{"video":{"width":640,"height":480,"fps":30,"bps":1000000},"audio":{"bps":64000}}]})");
  REQUIRE(c.hls.size() == 1);
  CHECK(c.hls[0].video.width == 640);
  CHECK(c.hls[0].video.height == 480);
  CHECK(c.hls[0].video.fps == 30);
  CHECK(c.hls[0].video.bps == 1000000);
  CHECK_FALSE(c.hls[0].video.passthrough);
  CHECK(c.hls[0].audio.bps == 64000);
  CHECK(c.hls[0].audio.codec == AudioCodec::kMp3);  // the original service's only codec
  CHECK(c.segment_duration == 2.0);
  REQUIRE(c.latency_ms.has_value());
  CHECK(*c.latency_ms == 500);
  CHECK(c.playlist_length == 6);
  CHECK(c.idle_timeout == 15.0);
  CHECK(c.input.video_port == 0);
  CHECK(c.input.audio_port == 0);
  CHECK(c.input.video_payload_type == 96);
  CHECK(c.input.audio_payload_type == 111);
  CHECK(c.input.bind == "127.0.0.1");
}

TEST_CASE("channel config: the original service's CreateChannel body is accepted as it is", "[channel_config]") {
  // ImageFlux_20180905.CreateChannel, two renditions, audio without a codec.
  const ChannelConfig c =
      accepted(R"({"hls":[{"video":{"width":1280,"height":720,"fps":30,"bps":2500000},"audio":{"bps":128000}},)"
               R"({"video":{"width":640,"height":480,"fps":30,"bps":1000000},"audio":{"bps":64000}}]})");
  REQUIRE(c.hls.size() == 2);
  CHECK(c.hls[0].video.width == 1280);
  CHECK(c.hls[0].video.bps == 2500000);
  CHECK(c.hls[0].audio.bps == 128000);
  CHECK(c.hls[1].video.height == 480);
  CHECK(c.hls[1].audio.bps == 64000);
  CHECK(c.hls[1].audio.codec == AudioCodec::kMp3);
}

TEST_CASE("channel config: the hls array", "[channel_config]") {
  check_refused(Json::object(), "hls", "is required");
  check_refused({{"hls", Json::object()}}, "hls", "must be an array of renditions");
  check_refused({{"hls", "640x480"}}, "hls", "must be an array of renditions");
  check_refused({{"hls", Json::array()}}, "hls", "must have at least one rendition");

  Json eight = base();
  for (int i = 1; i < 8; ++i) eight["hls"].push_back(base()["hls"][0]);
  CHECK(accepted(eight).hls.size() == 8);
  Json nine = eight;
  nine["hls"].push_back(base()["hls"][0]);
  check_refused(nine, "hls", "must have at most 8 renditions");

  Json not_object = base();
  not_object["hls"].push_back(42);
  check_refused(not_object, "hls[1]", "must be an object");

  Json no_video = base();
  no_video["hls"][0].erase("video");
  check_refused(no_video, "hls[0].video", "is required");
  Json no_audio = base();
  no_audio["hls"][0].erase("audio");
  check_refused(no_audio, "hls[0].audio", "is required");
  Json video_not_object = base();
  video_not_object["hls"][0]["video"] = Json::array();
  check_refused(video_not_object, "hls[0].video", "must be an object");
  Json audio_not_object = base();
  audio_not_object["hls"][0]["audio"] = 64000;
  check_refused(audio_not_object, "hls[0].audio", "must be an object");
}

TEST_CASE("channel config: the document must be an object", "[channel_config]") {
  for (const char* text : {"[]", "42", "\"hls\"", "null", "true"}) {
    const ConfigError e = refused(std::string(text));
    CHECK(e.field.empty());
    CHECK(e.message == "must be an object");
    CHECK(e.what() == "must be an object");
  }
}

TEST_CASE("channel config: width and height are even and within bounds", "[channel_config]") {
  Json odd_width = base();
  odd_width["hls"][0]["video"]["width"] = 641;
  check_refused(odd_width, "hls[0].video.width", "must be even");
  CHECK(refused(odd_width).what() == "hls[0].video.width: must be even");
  Json odd_height = base();
  odd_height["hls"][0]["video"]["height"] = 361;
  check_refused(odd_height, "hls[0].video.height", "must be even");

  // The error names the rendition it is in.
  Json second = base();
  second["hls"].push_back(base()["hls"][0]);
  second["hls"][1]["video"]["width"] = 1279;
  check_refused(second, "hls[1].video.width", "must be even");

  for (int w : {16, 3840}) {
    Json d = base();
    d["hls"][0]["video"]["width"] = w;
    CHECK(accepted(d).hls[0].video.width == w);
  }
  for (int h : {16, 2160}) {
    Json d = base();
    d["hls"][0]["video"]["height"] = h;
    CHECK(accepted(d).hls[0].video.height == h);
  }
  for (int w : {14, 0, -640, 3842, 7680}) {
    Json d = base();
    d["hls"][0]["video"]["width"] = w;
    check_refused(d, "hls[0].video.width", "must be between 16 and 3840");
  }
  for (int h : {14, 2162, 4320}) {
    Json d = base();
    d["hls"][0]["video"]["height"] = h;
    check_refused(d, "hls[0].video.height", "must be between 16 and 2160");
  }
}

TEST_CASE("channel config: fps and bps are within bounds", "[channel_config]") {
  for (int fps : {1, 24, 60}) {
    Json d = base();
    d["hls"][0]["video"]["fps"] = fps;
    CHECK(accepted(d).hls[0].video.fps == fps);
  }
  for (int fps : {0, -30, 61, 120}) {
    Json d = base();
    d["hls"][0]["video"]["fps"] = fps;
    check_refused(d, "hls[0].video.fps", "must be between 1 and 60");
  }
  for (std::int64_t bps : {50'000LL, 50'000'000LL}) {
    Json d = base();
    d["hls"][0]["video"]["bps"] = bps;
    CHECK(accepted(d).hls[0].video.bps == bps);
  }
  for (std::int64_t bps : {49'999LL, 0LL, -1LL, 50'000'001LL, 9'000'000'000LL}) {
    Json d = base();
    d["hls"][0]["video"]["bps"] = bps;
    check_refused(d, "hls[0].video.bps", "must be between 50000 and 50000000");
  }
  // Past int64: still a bounds error, not a wrapped value that passes.
  const ConfigError huge = refused(std::string(
      R"({"hls":[{"video":{"width":640,"height":480,"fps":30,"bps":18446744073709551615},"audio":{"bps":64000}}]})"));
  CHECK(huge.field == "hls[0].video.bps");
  CHECK(huge.message == "must be between 50000 and 50000000");
}

TEST_CASE("channel config: the four video numbers are required integers", "[channel_config]") {
  for (const char* key : {"width", "height", "fps", "bps"}) {
    const std::string field = std::string("hls[0].video.") + key;
    Json missing = base();
    missing["hls"][0]["video"].erase(key);
    check_refused(missing, field, "is required");
    for (const Json& bad : {Json(640.5), Json(640.0), Json("640"), Json(true), Json(nullptr), Json::array({640})}) {
      Json d = base();
      d["hls"][0]["video"][key] = bad;
      check_refused(d, field, "must be an integer");
    }
  }
}

TEST_CASE("channel config: unknown fields are named at every level", "[channel_config]") {
  Json top = base();
  top["segment_length"] = 2;
  check_refused(top, "segment_length", "unknown field");

  Json entry = base();
  entry["hls"][0]["name"] = "720p";
  check_refused(entry, "hls[0].name", "unknown field");

  Json video = base();
  video["hls"].push_back(base()["hls"][0]);
  video["hls"][1]["video"]["bitrate"] = 1000000;
  check_refused(video, "hls[1].video.bitrate", "unknown field");

  Json audio = base();
  audio["hls"][0]["audio"]["sample_rate"] = 48000;
  check_refused(audio, "hls[0].audio.sample_rate", "unknown field");

  Json input = base();
  input["input"] = {{"rtp", Json::object()}, {"srt", Json::object()}};
  check_refused(input, "input.srt", "unknown field");

  Json rtp = base();
  rtp["input"]["rtp"] = {{"video_port", 5004}, {"port", 5006}};
  check_refused(rtp, "input.rtp.port", "unknown field");
}

TEST_CASE("channel config: audio codec", "[channel_config]") {
  Json mp3 = base();
  mp3["hls"][0]["audio"]["codec"] = "mp3";
  CHECK(accepted(mp3).hls[0].audio.codec == AudioCodec::kMp3);
  Json aac = base();
  aac["hls"][0]["audio"]["codec"] = "aac";
  CHECK(accepted(aac).hls[0].audio.codec == AudioCodec::kAac);
  for (const Json& bad : {Json("opus"), Json("MP3"), Json(""), Json(3), Json(nullptr)}) {
    Json d = base();
    d["hls"][0]["audio"]["codec"] = bad;
    check_refused(d, "hls[0].audio.codec", R"(must be "mp3" or "aac")");
  }
  Json no_bps = base();
  no_bps["hls"][0]["audio"].erase("bps");
  check_refused(no_bps, "hls[0].audio.bps", "is required");
  Json float_bps = base();
  float_bps["hls"][0]["audio"]["bps"] = 64000.0;
  check_refused(float_bps, "hls[0].audio.bps", "must be an integer");
  CHECK(to_string(AudioCodec::kMp3) == "mp3");
  CHECK(to_string(AudioCodec::kAac) == "aac");
}

TEST_CASE("channel config: MP3 takes only MPEG-1 Layer III bitrates", "[channel_config]") {
  for (std::int64_t bps : kMp3Rates) {
    Json d = base();
    d["hls"][0]["audio"]["bps"] = bps;
    CHECK(accepted(d).hls[0].audio.bps == bps);
  }
  const std::string list =
      "must be an MP3 bitrate: one of 32000, 40000, 48000, 56000, 64000, 80000, 96000, 112000, 128000, 160000, "
      "192000, 224000, 256000, 320000";
  for (std::int64_t bps : {44100LL, 100000LL, 64001LL, 144000LL, 300000LL}) {
    Json d = base();
    d["hls"][0]["audio"]["bps"] = bps;
    check_refused(d, "hls[0].audio.bps", list);
  }
  for (std::int64_t bps : {8000LL, 31999LL, 320001LL, 384000LL}) {
    Json d = base();
    d["hls"][0]["audio"]["bps"] = bps;
    check_refused(d, "hls[0].audio.bps", "must be between 32000 and 320000");
  }
  // The codec decides the rule wherever it stands in the object.
  const ChannelConfig c = accepted(std::string(
      R"({"hls":[{"video":{"width":640,"height":480,"fps":30,"bps":1000000},"audio":{"bps":100000,"codec":"aac"}}]})"));
  CHECK(c.hls[0].audio.bps == 100000);
}

TEST_CASE("channel config: AAC takes any bitrate from 16 to 320 kb/s", "[channel_config]") {
  for (std::int64_t bps : {16000LL, 44100LL, 100000LL, 320000LL}) {
    Json d = base();
    d["hls"][0]["audio"] = {{"codec", "aac"}, {"bps", bps}};
    const ChannelConfig c = accepted(d);
    CHECK(c.hls[0].audio.bps == bps);
    CHECK(c.hls[0].audio.codec == AudioCodec::kAac);
  }
  for (std::int64_t bps : {15999LL, 0LL, 320001LL}) {
    Json d = base();
    d["hls"][0]["audio"] = {{"codec", "aac"}, {"bps", bps}};
    check_refused(d, "hls[0].audio.bps", "must be between 16000 and 320000");
  }
}

TEST_CASE("channel config: latency_ms is milliseconds or \"auto\"", "[channel_config]") {
  for (int ms : {0, 200, 10000}) {
    Json d = base();
    d["latency_ms"] = ms;
    const ChannelConfig c = accepted(d);
    REQUIRE(c.latency_ms.has_value());
    CHECK(*c.latency_ms == ms);
  }
  Json automatic = base();
  automatic["latency_ms"] = "auto";
  CHECK_FALSE(accepted(automatic).latency_ms.has_value());
  for (int ms : {-1, 10001}) {
    Json d = base();
    d["latency_ms"] = ms;
    check_refused(d, "latency_ms", "must be between 0 and 10000");
  }
  for (const Json& bad : {Json(500.5), Json(500.0), Json("AUTO"), Json("500"), Json(nullptr), Json(true)}) {
    Json d = base();
    d["latency_ms"] = bad;
    check_refused(d, "latency_ms", "must be an integer number of milliseconds or \"auto\"");
  }
}

TEST_CASE("channel config: playlist_length, segment_duration and idle_timeout bounds", "[channel_config]") {
  for (int n : {3, 6, 1000}) {
    Json d = base();
    d["playlist_length"] = n;
    CHECK(accepted(d).playlist_length == n);
  }
  for (int n : {2, 0, 1001}) {
    Json d = base();
    d["playlist_length"] = n;
    check_refused(d, "playlist_length", "must be between 3 and 1000");
  }
  Json float_length = base();
  float_length["playlist_length"] = 6.0;
  check_refused(float_length, "playlist_length", "must be an integer");

  for (double s : {0.5, 1.5, 2.0, 20.0}) {
    Json d = base();
    d["segment_duration"] = s;
    CHECK(accepted(d).segment_duration == s);
  }
  Json integer_duration = base();
  integer_duration["segment_duration"] = 4;  // an integer is a number too
  CHECK(accepted(integer_duration).segment_duration == 4.0);
  for (double s : {0.49, 0.0, -2.0, 20.01, 60.0}) {
    Json d = base();
    d["segment_duration"] = s;
    check_refused(d, "segment_duration", "must be between 0.5 and 20.0");
  }
  Json string_duration = base();
  string_duration["segment_duration"] = "2";
  check_refused(string_duration, "segment_duration", "must be a number");

  for (double s : {1.0, 15.0, 86400.0}) {
    Json d = base();
    d["idle_timeout"] = s;
    CHECK(accepted(d).idle_timeout == s);
  }
  for (double s : {0.99, 0.0, 86400.5}) {
    Json d = base();
    d["idle_timeout"] = s;
    check_refused(d, "idle_timeout", "must be between 1.0 and 86400.0");
  }
  Json null_timeout = base();
  null_timeout["idle_timeout"] = nullptr;
  check_refused(null_timeout, "idle_timeout", "must be a number");
}

TEST_CASE("channel config: passthrough with and without a size", "[channel_config]") {
  Json bare = base();
  bare["hls"][0]["video"] = {{"passthrough", true}};
  const ChannelConfig b = accepted(bare);
  CHECK(b.hls[0].video.passthrough);
  CHECK(b.hls[0].video.width == 0);
  CHECK(b.hls[0].video.height == 0);
  CHECK(b.hls[0].video.fps == 0);
  CHECK(b.hls[0].video.bps == 0);

  Json sized = base();
  sized["hls"][0]["video"]["passthrough"] = true;
  const ChannelConfig s = accepted(sized);
  CHECK(s.hls[0].video.passthrough);
  CHECK(s.hls[0].video.width == 640);
  CHECK(s.hls[0].video.height == 480);
  CHECK(s.hls[0].video.fps == 30);
  CHECK(s.hls[0].video.bps == 1000000);

  // A size it is given is still checked.
  Json odd = bare;
  odd["hls"][0]["video"]["width"] = 641;
  check_refused(odd, "hls[0].video.width", "must be even");

  // passthrough false is an ordinary transcoded rendition.
  Json off = base();
  off["hls"][0]["video"] = {{"passthrough", false}, {"height", 480}, {"fps", 30}, {"bps", 1000000}};
  check_refused(off, "hls[0].video.width", "is required");

  for (const Json& bad : {Json("yes"), Json(1), Json(nullptr)}) {
    Json d = bare;
    d["hls"][0]["video"]["passthrough"] = bad;
    check_refused(d, "hls[0].video.passthrough", "must be true or false");
  }
}

TEST_CASE("channel config: input.rtp ports and payload types", "[channel_config]") {
  Json d = base();
  d["input"]["rtp"] = {{"video_port", 5004},
                       {"audio_port", 5005},
                       {"video_payload_type", 102},
                       {"audio_payload_type", 127},
                       {"bind", "0.0.0.0"}};
  const ChannelConfig c = accepted(d);
  CHECK(c.input.video_port == 5004);
  CHECK(c.input.audio_port == 5005);
  CHECK(c.input.video_payload_type == 102);
  CHECK(c.input.audio_payload_type == 127);
  CHECK(c.input.bind == "0.0.0.0");

  Json only_video = base();
  only_video["input"]["rtp"] = {{"video_port", 5004}};
  CHECK(accepted(only_video).input.audio_port == 0);

  for (int port : {1, 65535}) {
    Json p = base();
    p["input"]["rtp"] = {{"video_port", port}, {"audio_port", port == 1 ? 2 : 1}};
    CHECK(accepted(p).input.video_port == port);
  }
  for (const char* key : {"video_port", "audio_port"}) {
    for (int port : {0, -1, 65536, 100000}) {
      Json p = base();
      p["input"]["rtp"] = {{key, port}};
      check_refused(p, std::string("input.rtp.") + key, "must be between 1 and 65535");
    }
    Json s = base();
    s["input"]["rtp"] = {{key, "5004"}};
    check_refused(s, std::string("input.rtp.") + key, "must be an integer");
  }

  Json equal = base();
  equal["input"]["rtp"] = {{"video_port", 5004}, {"audio_port", 5004}};
  check_refused(equal, "input.rtp.audio_port", "must differ from video_port");

  for (const char* key : {"video_payload_type", "audio_payload_type"}) {
    for (int pt : {96, 127}) {
      Json p = base();
      p["input"]["rtp"] = {{key, pt}};
      accepted(p);
    }
    // Static payload types (0-95, RFC 3551) and values past seven bits.
    for (int pt : {95, 0, 8, 128, 255}) {
      Json p = base();
      p["input"]["rtp"] = {{key, pt}};
      check_refused(p, std::string("input.rtp.") + key, "must be between 96 and 127");
    }
  }

  Json no_rtp = base();
  no_rtp["input"] = Json::object();
  check_refused(no_rtp, "input.rtp", "is required");
  Json input_string = base();
  input_string["input"] = "rtp";
  check_refused(input_string, "input", "must be an object");
  Json rtp_array = base();
  rtp_array["input"]["rtp"] = Json::array();
  check_refused(rtp_array, "input.rtp", "must be an object");
}

TEST_CASE("channel config: bind takes addresses and host names only", "[channel_config]") {
  for (const std::string& bind :
       {std::string("127.0.0.1"), std::string("0.0.0.0"), std::string("::"), std::string("::1"), std::string("fe80::1"),
        std::string("media-1.example"), std::string(253, 'a')}) {
    Json d = base();
    d["input"]["rtp"] = {{"bind", bind}};
    CHECK(accepted(d).input.bind == bind);
  }
  // Each of these would end the udpsrc element or its property in the
  // pipeline description, or is no address at all.
  for (const std::string& bind :
       {std::string(""), std::string("0.0.0.0 ! fakesink"), std::string("a b"), std::string("a!b"),
        std::string("\"x\""), std::string("'x'"), std::string("x\ny"), std::string("x\ty"), std::string("a;b"),
        std::string("a,b"), std::string("a=b"), std::string("a/b"), std::string("a\\b"), std::string("a.b$c"),
        std::string("caf\xc3\xa9"), std::string(254, 'a')}) {
    Json d = base();
    d["input"]["rtp"] = {{"bind", bind}};
    check_refused(d, "input.rtp.bind", "must be an IP address or host name");
  }
  for (const Json& bad : {Json(127), Json(nullptr), Json::array({"127.0.0.1"})}) {
    Json d = base();
    d["input"]["rtp"] = {{"bind", bad}};
    check_refused(d, "input.rtp.bind", "must be an IP address or host name");
  }
}

TEST_CASE("channel config: bad JSON is reported with its byte offset", "[channel_config]") {
  struct Case {
    std::string text;
    std::string message;
  };
  // nlohmann::json counts the bytes it has read, the bad one included.
  const std::vector<Case> cases = {
      {"", "not valid JSON (at byte 1)"},
      {"{", "not valid JSON (at byte 2)"},
      {"{\"hls\":[}", "not valid JSON (at byte 9)"},
      {"{\"hls\":[]} x", "not valid JSON (at byte 12)"},
      {"{'hls':[]}", "not valid JSON (at byte 2)"},
      {"{\"hls\":\"\xff\"}", "not valid JSON (at byte 9)"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const ConfigError e = refused(c.text);
    CHECK(e.field.empty());
    CHECK(e.message == c.message);
    CHECK(e.what() == c.message);
  }
}

TEST_CASE("channel config: a number too large for a double is refused, not thrown", "[channel_config]") {
  // nlohmann::json reports this one as out_of_range, not parse_error; a
  // request body with it must still get an answer, not end the server.
  for (const std::string& text :
       {std::string(R"({"segment_duration":1e400})"),
        std::string(R"({"hls":[{"video":{"width":640,"height":480,"fps":30,"bps":-1e999},"audio":{"bps":64000}}]})")}) {
    INFO(text);
    ParsedConfig parsed;
    CHECK_NOTHROW(parsed = parse_channel_config(text));
    CHECK_FALSE(parsed.config);
    CHECK_FALSE(parsed.error.message.empty());
  }
}

TEST_CASE("channel config: audio encodings are shared by the renditions that ask for the same", "[channel_config]") {
  const ChannelConfig c = accepted(std::string(R"({"hls":[
      {"video":{"width":1280,"height":720,"fps":30,"bps":2500000},"audio":{"bps":64000}},
      {"video":{"width":960,"height":540,"fps":30,"bps":1500000},"audio":{"bps":128000,"codec":"mp3"}},
      {"video":{"width":640,"height":360,"fps":30,"bps":800000},"audio":{"bps":64000,"codec":"mp3"}},
      {"video":{"width":480,"height":270,"fps":15,"bps":400000},"audio":{"bps":64000,"codec":"aac"}},
      {"video":{"width":320,"height":180,"fps":15,"bps":200000},"audio":{"bps":128000}}]})"));
  const std::vector<AudioSpec> expected = {
      {64000, AudioCodec::kMp3}, {128000, AudioCodec::kMp3}, {64000, AudioCodec::kAac}};
  CHECK(c.audio_encodings() == expected);
  CHECK(c.audio_encoding_of(0) == 0);
  CHECK(c.audio_encoding_of(1) == 1);
  CHECK(c.audio_encoding_of(2) == 0);
  CHECK(c.audio_encoding_of(3) == 2);
  CHECK(c.audio_encoding_of(4) == 1);

  const ChannelConfig one = accepted(base());
  CHECK(one.audio_encodings().size() == 1);
  CHECK(one.audio_encoding_of(0) == 0);
}

TEST_CASE("channel config: to_json round-trips through parse_channel_config", "[channel_config]") {
  const std::vector<std::string> docs = {
      base().dump(),
      R"({"hls":[{"video":{"passthrough":true},"audio":{"bps":96000,"codec":"aac"}}],"latency_ms":"auto"})",
      R"({"hls":[{"video":{"width":1920,"height":1080,"fps":60,"bps":6000000,"passthrough":true},"audio":{"bps":320000}},
                 {"video":{"width":640,"height":360,"fps":25,"bps":700000},"audio":{"bps":44100,"codec":"aac"}}],
          "segment_duration":1.7,"latency_ms":0,"playlist_length":1000,"idle_timeout":0.1e2,
          "input":{"rtp":{"video_port":40000,"audio_port":40001,"video_payload_type":127,"audio_payload_type":100,
                          "bind":"fe80::1"}}})",
      R"({"hls":[{"video":{"width":640,"height":360,"fps":30,"bps":1000000},"audio":{"bps":64000},
                  "durationSeconds":4,"startTimeOffset":-12.5}],
          "encrypt_key_uri":"https://keys.example/k/{key_id}","key_rotation":10,
          "auth_webhook_url":"https://hooks.example/auth","event_webhook_url":"http://10.0.0.1:8080/events",
          "archive":true,"archive_destination_id":"s3-tokyo"})",
  };
  for (const auto& text : docs) {
    INFO(text);
    const ChannelConfig first = accepted(text);
    const std::string json = to_json(first);
    INFO(json);
    const ChannelConfig second = accepted(json);
    check_same(first, second);
    CHECK(to_json(second) == json);
  }

  // Every default is written out, so a stored channel does not change when a
  // default does.
  const Json written = Json::parse(to_json(accepted(base())));
  CHECK(written["segment_duration"] == 2.0);
  CHECK(written["latency_ms"] == 500);
  CHECK(written["playlist_length"] == 6);
  CHECK(written["idle_timeout"] == 15.0);
  CHECK(written["hls"][0]["video"]["passthrough"] == false);
  CHECK(written["hls"][0]["audio"]["codec"] == "mp3");
  CHECK(written["input"]["rtp"]["bind"] == "127.0.0.1");
  CHECK(written["input"]["rtp"]["video_payload_type"] == 96);
  CHECK(written["input"]["rtp"]["audio_payload_type"] == 111);
  // Ports the server has not chosen yet stay out rather than becoming 0,
  // which parse_channel_config would refuse.
  CHECK_FALSE(written["input"]["rtp"].contains("video_port"));
  CHECK_FALSE(written["input"]["rtp"].contains("audio_port"));
}

TEST_CASE("channel config: the original service's durationSeconds and startTimeOffset", "[channel_config]") {
  Json d = base();
  d["hls"][0]["durationSeconds"] = 6;
  d["hls"][0]["startTimeOffset"] = -9.5;
  const ChannelConfig c = accepted(d);
  CHECK(c.hls[0].duration_seconds == 6.0);
  CHECK(c.hls[0].segment_duration(2.0) == 6.0);
  CHECK(c.hls[0].start_time_offset == -9.5);
  CHECK(accepted(base()).hls[0].segment_duration(2.0) == 2.0);
  for (double bad : {0.4, 20.5, -1.0}) {
    Json e = base();
    e["hls"][0]["durationSeconds"] = bad;
    check_refused(e, "hls[0].durationSeconds", "must be between 0.5 and 20.0");
  }
  Json e = base();
  e["hls"][0]["startTimeOffset"] = 100000;
  check_refused(e, "hls[0].startTimeOffset", "must be between -86400.0 and 86400.0");
  e = base();
  e["hls"][0]["startTimeOffset"] = "-3";
  check_refused(e, "hls[0].startTimeOffset", "must be a number");
}

TEST_CASE("channel config: encryption, webhooks and archive, and their refusals", "[channel_config]") {
  Json d = base();
  d["encrypt_key_uri"] = "https://keys.example/k";
  d["auth_webhook_url"] = "http://127.0.0.1:9/auth";
  d["event_webhook_url"] = "https://hooks.example/e?token=abc";
  d["archive"] = true;
  d["archive_destination_id"] = "local_1";
  d["environment"] = {{"anything", "goes"}};
  const ChannelConfig c = accepted(d);
  CHECK(c.encrypted());
  CHECK(!c.encrypt);
  CHECK(c.key_rotation == 0);
  CHECK(c.archive);
  CHECK(c.archive_destination_id == "local_1");
  CHECK(!Json::parse(to_json(c)).contains("environment"));  // accepted and ignored

  Json self_served = base();
  self_served["encrypt"] = true;
  CHECK(accepted(self_served).encrypted());
  CHECK(accepted(self_served).encrypt_key_uri.empty());
  CHECK(!accepted(base()).encrypted());

  const auto refuse = [](const char* field, const Json& value, const std::string& message) {
    Json e = base();
    e[field] = value;
    check_refused(e, field, message);
  };
  refuse("encrypt_key_uri", "", "must be a URL of 1 to 2048 characters");
  refuse("encrypt_key_uri", "ftp://k", "must be an http(s) URL or an absolute path");
  refuse("encrypt_key_uri", "https://k/\"quoted\"",
         "must be a URL without spaces, quotes, backslashes or non-ASCII characters");
  refuse("encrypt_key_uri", "https://k/a b",
         "must be a URL without spaces, quotes, backslashes or non-ASCII characters");
  refuse("encrypt_key_uri", "https:///path", "must name a host");
  refuse("encrypt_key_uri", 7, "must be a string");
  refuse("encrypt_key_uri", "https://k/" + std::string(2048, 'a'), "must be a URL of 1 to 2048 characters");
  refuse("auth_webhook_url", "/local/path", "must be an http(s) URL");
  refuse("event_webhook_url", "javascript:alert(1)", "must be an http(s) URL");
  refuse("encrypt", "yes", "must be true or false");
  refuse("key_rotation", -1, "must be between 0 and 1000000");
  refuse("archive", 1, "must be true or false");
  refuse("archive_destination_id", "../etc", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  refuse("archive_destination_id", "..", "must be 1 to 64 letters, digits, '-', '_' or '.'");
  refuse("archive_destination_id", std::string(65, 'a'), "must be 1 to 64 letters, digits, '-', '_' or '.'");
  Json no_destination = base();
  no_destination["archive"] = true;
  check_refused(no_destination, "archive_destination_id", "is required when archive is true");
  CHECK(accepted(base()).encrypt_key_uri.empty());
  Json path_uri = base();
  path_uri["encrypt_key_uri"] = "/keys/{key_id}";
  CHECK(accepted(path_uri).encrypt_key_uri == "/keys/{key_id}");
}
