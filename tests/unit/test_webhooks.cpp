// The webhooks' plain C++ part (launcher/webhooks.hpp): the event queue's
// order, bound and back-off on a clock of numbers, the JSON of events and
// auth requests, and what an auth webhook's answer means.
#include <catch2/catch.hpp>

#include <string>

#include "webhooks.hpp"

using namespace nagare::launcher::webhooks;
using Json = nlohmann::json;

namespace {

constexpr std::int64_t kS = 1'000'000;  // µs

Event event(std::uint64_t id) { return {id, "hls.started", "{}"}; }

}  // namespace

TEST_CASE("event queue: one at a time, in order", "[webhooks]") {
  EventQueue q(10);
  for (std::uint64_t i = 1; i <= 3; ++i) REQUIRE(q.push(event(i)));
  const Event* e = q.next(0);
  REQUIRE(e);
  CHECK(e->id == 1);
  CHECK(q.next(0) == nullptr);  // one in flight
  q.delivered();
  CHECK(q.next(0)->id == 2);
  q.delivered();
  CHECK(q.next(0)->id == 3);
  q.delivered();
  CHECK(q.next(0) == nullptr);
  CHECK(q.stats().delivered == 3);
}

TEST_CASE("event queue: a failure is retried after 1, 2, 4 … 60 s, and the others wait behind it", "[webhooks]") {
  EventQueue q(10);
  q.push(event(1));
  q.push(event(2));
  std::int64_t now = 0;
  std::int64_t expected = 1 * kS;
  for (int attempt = 0; attempt < 9; ++attempt) {
    REQUIRE(q.next(now));
    CHECK(q.next(now) == nullptr);
    q.failed(now);
    REQUIRE(q.retry_at());
    CHECK(*q.retry_at() == now + expected);
    CHECK(q.next(now + expected - 1) == nullptr);  // not before its time
    now += expected;
    expected = std::min(expected * 2, 60 * kS);
  }
  CHECK(q.stats().attempts_failed == 9);
  const Event* e = q.next(now);
  REQUIRE(e);
  CHECK(e->id == 1);  // still the first: order is kept through failures
  q.delivered();
  CHECK(!q.retry_at());
  CHECK(q.next(now)->id == 2);  // the back-off is over with a success
}

TEST_CASE("event queue: bounded; past the bound new events are dropped and counted", "[webhooks]") {
  EventQueue q(3);
  for (std::uint64_t i = 1; i <= 3; ++i) CHECK(q.push(event(i)));
  CHECK(!q.push(event(4)));
  CHECK(!q.push(event(5)));
  CHECK(q.size() == 3);
  CHECK(q.stats().dropped == 2);
  CHECK(q.stats().queued == 3);
  q.next(0);
  q.delivered();
  CHECK(q.push(event(6)));  // room again
}

TEST_CASE("event JSON: id, type and time first, the data merged in", "[webhooks]") {
  const Json e =
      Json::parse(event_json(7, "key.created", 1'795'512'600'250, {{"channel_id", "abc"}, {"broadcast", 2}}));
  CHECK(e["id"] == 7);
  CHECK(e["type"] == "key.created");
  CHECK(e["time"] == "2026-11-24T09:30:00.250Z");
  CHECK(e["channel_id"] == "abc");
  CHECK(e["broadcast"] == 2);
  // Data cannot overwrite the envelope.
  CHECK(Json::parse(event_json(1, "x", 0, {{"type", "forged"}}))["type"] == "x");
  CHECK(Json::parse(event_json(1, "x", 0, 5))["data"] == 5);
}

TEST_CASE("auth: only a 2xx with {\"allowed\": true} admits", "[webhooks]") {
  CHECK(auth_decision(200, R"({"allowed": true})").allowed);
  CHECK(auth_decision(204, R"({"allowed":true,"reason":"ok"})").allowed);
  CHECK(!auth_decision(200, R"({"allowed": false})").allowed);
  CHECK(!auth_decision(200, R"({"allowed": "true"})").allowed);
  CHECK(!auth_decision(200, R"({"allowed": 1})").allowed);
  CHECK(!auth_decision(200, "").allowed);
  CHECK(!auth_decision(200, "[true]").allowed);
  CHECK(!auth_decision(302, R"({"allowed": true})").allowed);
  CHECK(!auth_decision(500, R"({"allowed": true})").allowed);
}

TEST_CASE("auth: a refusal carries the receiver's reason, or says what came back", "[webhooks]") {
  CHECK(auth_decision(200, R"({"allowed": false, "reason": "not on the list"})").reason == "not on the list");
  CHECK(auth_decision(403, R"({"reason": "banned"})").reason == "banned");
  CHECK(auth_decision(200, R"({"allowed": false})").reason == "the auth webhook did not allow it");
  CHECK(auth_decision(500, "oops").reason == "the auth webhook answered HTTP 500");
  CHECK(auth_decision(200, "oops").reason == "the auth webhook's answer is not a JSON object");
  // A reason goes into a close frame or a JSON body: one printable line, bounded.
  const auto d = auth_decision(200, R"({"allowed": false, "reason": "a\nb\tc)" + std::string(500, 'x') + R"("})");
  CHECK(d.reason.size() == 200);
  CHECK(d.reason.substr(0, 5) == "a b c");
  CHECK(auth_unreachable("Socket I/O timed out").reason == "the auth webhook did not answer: Socket I/O timed out");
}

TEST_CASE("auth request: channel, protocol, address and the client's metadata", "[webhooks]") {
  const Json r = Json::parse(auth_request_json("c0ffee", "whip", "127.0.0.1", {{"user", "alice"}}, 0));
  CHECK(r["type"] == "publish");
  CHECK(r["channel_id"] == "c0ffee");
  CHECK(r["protocol"] == "whip");
  CHECK(r["remote_address"] == "127.0.0.1");
  CHECK(r["metadata"]["user"] == "alice");
  CHECK(r["time"] == "1970-01-01T00:00:00.000Z");
}
