// Accepts the HTTP connections of `nagare serve` for libsoup.
//
// libsoup 3's own listener accepts one connection per main-loop iteration,
// and under load an iteration first serves every busy connection: 500
// viewers connecting at once waited seconds for their turn (tests/load,
// before this: p99 2.4 s, some requests over 5 s). It also listens with
// GLib's backlog of 10, so a burst of handshakes overflowed the kernel's
// queue and waited for TCP to retransmit, and it stops accepting for good
// after one failed accept (EMFILE when out of descriptors).
//
// This one listens with a backlog that holds a burst, takes every waiting
// connection at each wake-up (up to a bound, so the loop stays fair), and
// pauses for a moment when accepting fails instead of giving up.
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include <memory>
#include <string>

namespace nagare::launcher {

class Acceptor {
 public:
  // Listening on `address` and handing connections to `server` when it
  // returns; nullptr with *error otherwise.
  static std::unique_ptr<Acceptor> start(SoupServer* server, GSocketAddress* address, std::string* error);
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  // http://HOST:PORT as bound: the port the kernel chose when 0 was asked.
  const std::string& url() const { return url_; }

 private:
  Acceptor(SoupServer* server, GSocket* socket, std::string url);
  void watch();
  static gboolean on_ready(GSocket* socket, GIOCondition condition, gpointer self);
  void accept_waiting();

  SoupServer* server_;  // not owned: the server outlives its acceptor
  GSocket* socket_;
  std::string url_;
  GSource* source_ = nullptr;
  guint retry_ = 0;
  bool failing_ = false;  // logged once until an accept succeeds again
};

}  // namespace nagare::launcher
