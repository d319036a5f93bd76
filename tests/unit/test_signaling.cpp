// Sora-compatible signaling messages (launcher/signaling.hpp): what a
// WebSocket text frame becomes. The reasons are checked exactly: they go
// back to the client in the close frame, and the Sora SDK's connect()
// rejects with them.
//
// The connect message is the shape sora-js-sdk 2026.1.0 sends for
// Sora.connection(url).sendonly(channel_id, metadata).connect(stream), as
// seen by tests/player/webrtc_publish_test.mjs, trimmed of its long sdp.
#include <catch2/catch.hpp>

#include <string>

#include "signaling.hpp"

using namespace nagare::launcher::signaling;

namespace {

std::string reason(const Message& m) {
  const auto* bad = std::get_if<Malformed>(&m);
  return bad ? bad->reason : std::string("(not malformed: ") + type_of(m) + ")";
}

}  // namespace

TEST_CASE("signaling: the Sora SDK's connect", "[signaling]") {
  const Message m = parse(R"({"type":"connect","role":"sendonly","channel_id":"3932c22610f664cf406121b9fb418708",
    "sdk_type":"JavaScript","sdk_version":"2026.1.0","user_agent":"Mozilla/5.0","audio":true,
    "video":{"codec_type":"H264"},"metadata":{"user":"alice","token":[1,2]},"sdp":"v=0\r\n",
    "environment":"Chromium"})");
  const auto* c = std::get_if<Connect>(&m);
  REQUIRE(c);
  CHECK(c->role == "sendonly");
  CHECK(c->channel_id == "3932c22610f664cf406121b9fb418708");
  CHECK(!c->client_id);
  CHECK(c->probe_sdp == "v=0\r\n");
  CHECK(c->metadata == nlohmann::json{{"user", "alice"}, {"token", {1, 2}}});
  CHECK(type_of(m) == "connect");
}

TEST_CASE("signaling: connect without the optional fields", "[signaling]") {
  const Message m = parse(R"({"type":"connect","role":"sendrecv","channel_id":"x","client_id":"cam-1"})");
  const auto* c = std::get_if<Connect>(&m);
  REQUIRE(c);
  CHECK(c->client_id == "cam-1");
  CHECK(c->probe_sdp.empty());
  CHECK(c->metadata.is_null());
}

TEST_CASE("signaling: connect missing or mistyping role and channel_id", "[signaling]") {
  const std::string why = R"(malformed message: connect needs "role" and "channel_id" strings)";
  CHECK(reason(parse(R"({"type":"connect","channel_id":"x"})")) == why);
  CHECK(reason(parse(R"({"type":"connect","role":"sendonly"})")) == why);
  CHECK(reason(parse(R"({"type":"connect","role":1,"channel_id":"x"})")) == why);
  CHECK(reason(parse(R"({"type":"connect","role":"sendonly","channel_id":null})")) == why);
}

TEST_CASE("signaling: a role other than a publisher's is parsed, not judged", "[signaling]") {
  // Refusing recvonly is ingest's decision (close 4403), not a parse error.
  const Message m = parse(R"({"type":"connect","role":"recvonly","channel_id":"x"})");
  REQUIRE(std::holds_alternative<Connect>(m));
  CHECK(std::get<Connect>(m).role == "recvonly");
}

TEST_CASE("signaling: answer", "[signaling]") {
  const Message m = parse(R"({"type":"answer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})");
  REQUIRE(std::holds_alternative<Answer>(m));
  CHECK(std::get<Answer>(m).sdp == "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n");
  CHECK(reason(parse(R"({"type":"answer"})")) == "malformed message: answer needs \"sdp\"");
  CHECK(reason(parse(R"({"type":"answer","sdp":{}})")) == "malformed message: answer needs \"sdp\"");
}

TEST_CASE("signaling: candidate by m-line index, by mid, or neither", "[signaling]") {
  const std::string line = "candidate:1 1 UDP 2015363327 192.0.2.2 44765 typ host";
  Message m = parse(R"({"type":"candidate","candidate":")" + line + R"(","sdpMLineIndex":1,"sdpMid":"1"})");
  REQUIRE(std::holds_alternative<Candidate>(m));
  CHECK(std::get<Candidate>(m).candidate == line);
  CHECK(std::get<Candidate>(m).mline_index == 1u);
  CHECK(std::get<Candidate>(m).mid == "1");

  m = parse(R"({"type":"candidate","candidate":"c","sdpMid":"video"})");
  REQUIRE(std::holds_alternative<Candidate>(m));
  CHECK(!std::get<Candidate>(m).mline_index);
  CHECK(std::get<Candidate>(m).mid == "video");

  m = parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":null})");
  REQUIRE(std::holds_alternative<Candidate>(m));
  CHECK(!std::get<Candidate>(m).mline_index);
  CHECK(!std::get<Candidate>(m).mid);
}

TEST_CASE("signaling: candidate fields out of bounds are refused, not truncated", "[signaling]") {
  CHECK(reason(parse(R"({"type":"candidate"})")) == "malformed message: candidate needs \"candidate\"");
  const std::string why = "malformed message: candidate's \"sdpMLineIndex\" must be a small unsigned integer";
  CHECK(reason(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":-1})")) == why);
  CHECK(reason(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":1.5})")) == why);
  CHECK(reason(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":"0"})")) == why);
  // 2^32 + 1 would be 1 after a cast to unsigned.
  CHECK(reason(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":4294967297})")) == why);
  CHECK(std::get<Candidate>(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":1023})")).mline_index ==
        1023u);
  CHECK(reason(parse(R"({"type":"candidate","candidate":"c","sdpMLineIndex":1024})")) == why);
}

TEST_CASE("signaling: pong, disconnect and messages a receiver ignores", "[signaling]") {
  CHECK(std::holds_alternative<Pong>(parse(R"({"type":"pong","stats":[]})")));
  CHECK(std::holds_alternative<Disconnect>(parse(R"({"type":"disconnect","reason":"NO-ERROR"})")));
  const Message m = parse(R"({"type":"stats","reports":[]})");
  REQUIRE(std::holds_alternative<Other>(m));
  CHECK(type_of(m) == "stats");
}

TEST_CASE("signaling: what is not a message", "[signaling]") {
  const std::string why = "malformed message: expected a JSON object with a \"type\"";
  for (const char* text : {"", "{", "null", "[]", "\"connect\"", "42", R"({"role":"sendonly"})", R"({"type":7})",
                           R"({"type":"connect"} trailing)", "{\"type\":\"pong\",\"x\":\"\xff\"}"}) {
    INFO(text);
    CHECK(reason(parse(text)) == why);
  }
  CHECK(type_of(parse("")) == "malformed");
}

TEST_CASE("signaling: deep nesting is refused, long strings are data", "[signaling]") {
  auto connect_with = [](int depth) {
    const std::string nested = std::string(depth, '[') + std::string(depth, ']');
    return parse(R"({"type":"connect","role":"sendonly","channel_id":"x","metadata":)" + nested + "}");
  };
  CHECK(std::holds_alternative<Connect>(connect_with(31)));  // 32 levels with the message itself
  CHECK(reason(connect_with(32)) == "malformed message: nested deeper than 32 levels");
  // What a 256 KiB frame can hold: refused without recursing 100,000 deep.
  CHECK(reason(connect_with(100000)) == "malformed message: nested deeper than 32 levels");
  const std::string huge(200000, 'a');
  CHECK(std::get<Answer>(parse(R"({"type":"answer","sdp":")" + huge + "\"}")).sdp == huge);
}
