#include "webhooks.hpp"

#include <algorithm>

#include "log.hpp"

namespace nagare::launcher::webhooks {

using Json = nlohmann::json;

namespace {

constexpr std::size_t kMaxReason = 200;  // characters of a receiver's reason passed on

// A receiver's text as it may go into a close frame or an error body:
// printable, one line, bounded.
std::string clean_reason(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, kMaxReason)) out += (c >= 0x20 && c != 0x7f) ? c : ' ';
  return out;
}

}  // namespace

std::string event_json(std::uint64_t id, std::string_view type, std::int64_t unix_ms, const Json& data) {
  Json doc = {{"id", id}, {"type", type}, {"time", rfc3339_ms(unix_ms)}};
  if (data.is_object()) {
    for (const auto& [key, value] : data.items()) {
      if (!doc.contains(key)) doc[key] = value;
    }
  } else if (!data.is_null()) {
    doc["data"] = data;
  }
  // Strings come from nagare or were parsed as JSON, so they are valid
  // UTF-8; replace is a guard, not a path.
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool EventQueue::push(Event event) {
  if (events_.size() >= capacity_) {
    ++stats_.dropped;
    return false;
  }
  events_.push_back(std::move(event));
  ++stats_.queued;
  return true;
}

const Event* EventQueue::next(std::int64_t now) {
  if (in_flight_ || events_.empty() || now < not_before_) return nullptr;
  in_flight_ = true;
  return &events_.front();
}

void EventQueue::delivered() {
  if (!in_flight_) return;
  in_flight_ = false;
  events_.pop_front();
  backoff_ = 0;
  not_before_ = 0;
  ++stats_.delivered;
}

void EventQueue::failed(std::int64_t now) {
  if (!in_flight_) return;
  in_flight_ = false;
  backoff_ = backoff_ == 0 ? kFirstRetryUs : std::min(backoff_ * 2, kLongestRetryUs);
  not_before_ = now + backoff_;
  ++stats_.attempts_failed;
}

std::optional<std::int64_t> EventQueue::retry_at() const {
  if (in_flight_ || events_.empty() || backoff_ == 0) return std::nullopt;
  return not_before_;
}

AuthDecision auth_decision(int http_status, std::string_view body) {
  const Json answer = Json::parse(body.begin(), body.end(), nullptr, false);
  std::string reason;
  if (answer.is_object()) {
    const auto it = answer.find("reason");
    if (it != answer.end() && it->is_string()) reason = clean_reason(it->get<std::string>());
  }
  if (http_status < 200 || http_status > 299) {
    return {false, reason.empty() ? "the auth webhook answered HTTP " + std::to_string(http_status) : reason};
  }
  if (!answer.is_object()) return {false, "the auth webhook's answer is not a JSON object"};
  const auto allowed = answer.find("allowed");
  if (allowed != answer.end() && allowed->is_boolean() && allowed->get<bool>()) return {true, ""};
  return {false, reason.empty() ? "the auth webhook did not allow it" : reason};
}

AuthDecision auth_unreachable(std::string_view why) {
  return {false, "the auth webhook did not answer: " + clean_reason(why)};
}

std::string auth_request_json(std::string_view channel_id, std::string_view protocol, std::string_view remote_address,
                              const Json& metadata, std::int64_t unix_ms) {
  const Json doc = {{"type", "publish"},    {"channel_id", channel_id},
                    {"protocol", protocol}, {"remote_address", remote_address},
                    {"metadata", metadata}, {"time", rfc3339_ms(unix_ms)}};
  return doc.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace nagare::launcher::webhooks
