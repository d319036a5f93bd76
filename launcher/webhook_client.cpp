#include "webhook_client.hpp"

#include <algorithm>

#include "figures.hpp"
#include "log.hpp"

namespace nagare::launcher {

namespace {

constexpr guint kDrainPollMs = 50;

// The host of a URL, for log lines: its path or query may hold a secret.
std::string host_of(const std::string& url) {
  GUri* uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
  if (!uri) return "(a bad URL)";
  const char* host = g_uri_get_host(uri);
  std::string out = host ? host : "(no host)";
  g_uri_unref(uri);
  return out;
}

}  // namespace

struct WebhookClient::Impl : std::enable_shared_from_this<Impl> {
  struct Receiver {
    Receiver(std::string u, std::size_t capacity) : url(std::move(u)), queue(capacity) {}
    std::string url;
    webhooks::EventQueue queue;
    guint retry = 0;
  };

  // What an asynchronous request carries to its callback.
  struct Request {
    std::weak_ptr<Impl> owner;
    std::string url;
    SoupMessage* message = nullptr;
    std::function<void(webhooks::AuthDecision)> auth;  // empty for an event
  };

  explicit Impl(WebhookOptions o) : options(o) {
    session = soup_session_new_with_options("timeout", options.timeout_s, "user-agent", "nagare/" VERSION " ", nullptr);
    cancellable = g_cancellable_new();
  }
  ~Impl() {
    for (auto& [url, r] : receivers) {
      if (r->retry) g_source_remove(r->retry);
    }
    if (drain_source) g_source_remove(drain_source);
    g_cancellable_cancel(cancellable);
    g_object_unref(cancellable);
    g_object_unref(session);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  Receiver& receiver(const std::string& url) {
    auto& r = receivers[url];
    if (!r) r = std::make_unique<Receiver>(url, options.queue_capacity);
    return *r;
  }

  void start(Request* request, const std::string& content_type, const std::string& body, const char* event_type) {
    GBytes* bytes = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(request->message, content_type.c_str(), bytes);
    g_bytes_unref(bytes);
    if (event_type) {
      soup_message_headers_replace(soup_message_get_request_headers(request->message), "X-Nagare-Event", event_type);
    }
    soup_session_send_and_read_async(session, request->message, G_PRIORITY_DEFAULT, cancellable, &Impl::on_answer,
                                     request);
  }

  // Sends the receiver's next event if it may go now, or arranges to.
  void pump(Receiver& r) {
    const std::int64_t now = g_get_monotonic_time();
    if (const webhooks::Event* e = r.queue.next(now)) {
      SoupMessage* message = soup_message_new("POST", r.url.c_str());
      if (!message) {  // the URL was checked when the channel was made; still, never crash on one
        r.queue.failed(now);
        log_line("webhook", host_of(r.url) + ": not a URL libsoup takes");
      } else {
        start(new Request{weak_from_this(), r.url, message, {}}, "application/json", e->body, e->type.c_str());
        return;
      }
    }
    if (const auto at = r.queue.retry_at(); at && r.retry == 0) {
      const auto delay_ms = static_cast<guint>(std::max<std::int64_t>(0, *at - now) / 1000 + 1);
      auto* context = new std::pair<std::weak_ptr<Impl>, std::string>(weak_from_this(), r.url);
      r.retry = g_timeout_add_full(
          G_PRIORITY_DEFAULT, delay_ms,
          [](gpointer data) -> gboolean {
            auto* c = static_cast<std::pair<std::weak_ptr<Impl>, std::string>*>(data);
            if (auto self = c->first.lock()) {
              Receiver& again = self->receiver(c->second);
              again.retry = 0;
              self->pump(again);
            }
            return G_SOURCE_REMOVE;
          },
          context, [](gpointer data) { delete static_cast<std::pair<std::weak_ptr<Impl>, std::string>*>(data); });
    }
  }

  static void on_answer(GObject* source, GAsyncResult* result, gpointer data) {
    std::unique_ptr<Request> request(static_cast<Request*>(data));
    GError* error = nullptr;
    GBytes* bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
    const int status = static_cast<int>(soup_message_get_status(request->message));
    std::string body;
    if (bytes) {
      gsize size = 0;
      const auto* text = static_cast<const char*>(g_bytes_get_data(bytes, &size));
      body.assign(text, std::min<gsize>(size, gsize{64} * 1024));
      g_bytes_unref(bytes);
    }
    g_object_unref(request->message);
    const std::string why = error ? error->message : "";
    g_clear_error(&error);
    auto self = request->owner.lock();
    if (!self) return;  // shut down meanwhile
    if (request->auth) {
      request->auth(why.empty() ? webhooks::auth_decision(status, body) : webhooks::auth_unreachable(why));
      return;
    }
    Receiver& r = self->receiver(request->url);
    if (why.empty() && status >= 200 && status <= 299) {
      r.queue.delivered();
    } else {
      r.queue.failed(g_get_monotonic_time());
      log_line("webhook", host_of(r.url) + ": " + (why.empty() ? "HTTP " + std::to_string(status) : why) + "; " +
                              std::to_string(r.queue.size()) + " events wait, retrying");
    }
    self->pump(r);
  }

  bool idle() const {
    return std::all_of(receivers.begin(), receivers.end(),
                       [](const auto& r) { return r.second->queue.size() == 0 && !r.second->queue.in_flight(); });
  }

  WebhookOptions options;
  SoupSession* session = nullptr;
  GCancellable* cancellable = nullptr;
  std::map<std::string, std::unique_ptr<Receiver>> receivers;
  std::uint64_t next_id = 1;
  guint drain_source = 0;
};

WebhookClient::WebhookClient(WebhookOptions options) : impl_(std::make_shared<Impl>(options)) {}
WebhookClient::~WebhookClient() = default;

void WebhookClient::send(const std::string& url, const std::string& type, const nlohmann::json& data) {
  if (url.empty()) return;
  Impl::Receiver& r = impl_->receiver(url);
  const std::uint64_t id = impl_->next_id++;
  if (!r.queue.push({id, type, webhooks::event_json(id, type, unix_now_ms(), data)})) {
    const std::uint64_t dropped = r.queue.stats().dropped;
    // Once, then every hundredth: a dead receiver must not flood the log.
    if (dropped == 1 || dropped % 100 == 0) {
      log_line("webhook", host_of(url) + ": " + std::to_string(r.queue.size()) + " events wait already; dropped " +
                              type + " (" + std::to_string(dropped) + " dropped so far)");
    }
    return;
  }
  impl_->pump(r);
}

void WebhookClient::authorize(const std::string& url, const std::string& body,
                              std::function<void(webhooks::AuthDecision)> done) {
  SoupMessage* message = soup_message_new("POST", url.c_str());
  if (!message) {
    done(webhooks::auth_unreachable("not a URL"));
    return;
  }
  impl_->start(new Impl::Request{impl_, url, message, std::move(done)}, "application/json", body, nullptr);
}

void WebhookClient::drain(unsigned timeout_ms, std::function<void()> done) {
  if (impl_->idle()) {
    done();
    return;
  }
  struct Wait {
    std::weak_ptr<Impl> owner;
    std::int64_t deadline;
    std::function<void()> done;
  };
  auto* wait = new Wait{impl_, g_get_monotonic_time() + std::int64_t{timeout_ms} * 1000, std::move(done)};
  impl_->drain_source = g_timeout_add_full(
      G_PRIORITY_DEFAULT, kDrainPollMs,
      [](gpointer data) -> gboolean {
        auto* w = static_cast<Wait*>(data);
        auto self = w->owner.lock();
        if (self && !self->idle() && g_get_monotonic_time() < w->deadline) return G_SOURCE_CONTINUE;
        if (self) self->drain_source = 0;
        w->done();
        return G_SOURCE_REMOVE;
      },
      wait, [](gpointer data) { delete static_cast<Wait*>(data); });
}

std::string WebhookClient::metrics() const {
  webhooks::QueueStats sum;
  std::size_t waiting = 0;
  for (const auto& [url, r] : impl_->receivers) {
    const auto& s = r->queue.stats();
    sum.queued += s.queued;
    sum.delivered += s.delivered;
    sum.dropped += s.dropped;
    sum.attempts_failed += s.attempts_failed;
    waiting += r->queue.size();
  }
  std::string out;
  out +=
      metric_header("nagare_webhook_events_total", "counter", "Events for webhook receivers, by what became of them.");
  out += "nagare_webhook_events_total{result=\"queued\"} " + std::to_string(sum.queued) + "\n";
  out += "nagare_webhook_events_total{result=\"delivered\"} " + std::to_string(sum.delivered) + "\n";
  out += "nagare_webhook_events_total{result=\"dropped\"} " + std::to_string(sum.dropped) + "\n";
  out += metric_header("nagare_webhook_failed_attempts_total", "counter",
                       "Event deliveries that failed and will be retried.");
  out += "nagare_webhook_failed_attempts_total " + std::to_string(sum.attempts_failed) + "\n";
  out += metric_header("nagare_webhook_events_waiting", "gauge",
                       "Events queued for webhook receivers, not yet delivered.");
  out += "nagare_webhook_events_waiting " + std::to_string(waiting) + "\n";
  return out;
}

}  // namespace nagare::launcher
