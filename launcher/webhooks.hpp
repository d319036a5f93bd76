// Webhooks, the plain C++ part: the ordered, bounded, retrying queue of
// events for one receiver, the JSON of an event, and what an auth webhook's
// answer means. webhook_client.* sends them over HTTP (libsoup).
//
// No GStreamer, no libsoup: times are passed in (µs, monotonic), so the
// back-off and the bounds are unit-tested on numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace nagare::launcher::webhooks {

struct Event {
  std::uint64_t id = 0;  // increasing per process: receivers can spot gaps and repeats
  std::string type;      // "channel.created", "hls.started", …
  std::string body;      // the JSON POSTed
};

// The JSON of an event: {"id", "type", "time" (RFC 3339 UTC, ms), …data}.
// `data`'s fields are merged in (an object; anything else goes under "data").
std::string event_json(std::uint64_t id, std::string_view type, std::int64_t unix_ms, const nlohmann::json& data);

struct QueueStats {
  std::uint64_t queued = 0;     // accepted into the queue
  std::uint64_t delivered = 0;  // answered 2xx
  std::uint64_t attempts_failed = 0;
  std::uint64_t dropped = 0;  // refused because the queue was full
};

// The events for one receiver, sent one at a time in order. A failed send
// is retried after 1, 2, 4 … 60 s, for as long as it takes; meanwhile new
// events wait behind it, up to `capacity`, past which new ones are dropped
// (and counted): a dead receiver costs bounded memory and never blocks the
// media, and a slow one loses nothing up to the bound.
class EventQueue {
 public:
  static constexpr std::int64_t kFirstRetryUs = 1'000'000;
  static constexpr std::int64_t kLongestRetryUs = 60'000'000;

  explicit EventQueue(std::size_t capacity) : capacity_(capacity) {}

  // False (and counted as dropped) when the queue is full.
  bool push(Event event);
  // The event to send at `now`, or nullptr: none waiting, one in flight, or
  // the back-off after a failure has not passed.
  const Event* next(std::int64_t now);
  // The answer to the event in flight.
  void delivered();
  void failed(std::int64_t now);
  // When a waiting event may be sent again after a failure (µs), if it waits.
  std::optional<std::int64_t> retry_at() const;

  std::size_t size() const { return events_.size(); }
  bool in_flight() const { return in_flight_; }
  const QueueStats& stats() const { return stats_; }

 private:
  std::size_t capacity_;
  std::deque<Event> events_;
  bool in_flight_ = false;
  std::int64_t not_before_ = 0;
  std::int64_t backoff_ = 0;  // the next failure's wait
  QueueStats stats_;
};

// What an auth webhook's answer means. Only a 2xx with a JSON object whose
// "allowed" is true admits; anything else refuses, with the receiver's
// "reason" when it gave one (a short string), else a reason saying what
// came back.
struct AuthDecision {
  bool allowed = false;
  std::string reason;  // for a refusal: passed to the publisher
};
AuthDecision auth_decision(int http_status, std::string_view body);
// No answer: a timeout or a connection error, in the transport's words.
AuthDecision auth_unreachable(std::string_view why);

// The body of an auth request: who asks to publish where, and how.
std::string auth_request_json(std::string_view channel_id, std::string_view protocol, std::string_view remote_address,
                              const nlohmann::json& metadata, std::int64_t unix_ms);

}  // namespace nagare::launcher::webhooks
