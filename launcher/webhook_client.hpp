// Webhooks over HTTP (libsoup 3, asynchronous, on the GLib main context):
// channel events POSTed to each receiver in order with retries
// (webhooks::EventQueue), and the auth webhook a publisher must pass.
//
// Nothing here ever waits: a request is started and its answer handled when
// it comes, so a slow or dead receiver holds up only its own queue, never a
// channel's media or another receiver.
#pragma once

#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "webhooks.hpp"

namespace nagare::launcher {

struct WebhookOptions {
  std::size_t queue_capacity = 1000;  // events waiting per receiver before new ones are dropped
  unsigned timeout_s = 5;             // per request, events and auth alike
};

class WebhookClient {
 public:
  explicit WebhookClient(WebhookOptions options = {});
  ~WebhookClient();
  WebhookClient(const WebhookClient&) = delete;
  WebhookClient& operator=(const WebhookClient&) = delete;

  // Queues an event for `url` (nothing if `url` is empty).
  void send(const std::string& url, const std::string& type, const nlohmann::json& data);
  // Asks `url` whether a publisher may publish; `done` runs once, on the main
  // context, with the decision (a refusal on timeout or error).
  void authorize(const std::string& url, const std::string& body, std::function<void(webhooks::AuthDecision)> done);
  // Waits until every queue is empty or `timeout_ms` has passed, then calls
  // `done` (on shutdown: the last events get their chance).
  void drain(unsigned timeout_ms, std::function<void()> done);

  // Prometheus text: events queued, delivered, dropped; failed attempts;
  // events waiting. Summed over receivers (a URL may hold a secret).
  std::string metrics() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace nagare::launcher
