#include "acceptor.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "log.hpp"

namespace nagare::launcher {

namespace {

// The kernel caps it at net.core.somaxconn (4096 on current kernels).
constexpr int kListenBacklog = 4096;
// Connections taken per wake-up: enough for any burst to be in within a few
// iterations, few enough that requests on open connections still get their
// turn in between.
constexpr int kAcceptsPerWake = 256;
// After a failed accept (EMFILE, ENFILE, ENOBUFS): wait, then try again.
constexpr guint kRetryMs = 100;

std::string url_of(GSocketAddress* address) {
  auto* inet = G_INET_SOCKET_ADDRESS(address);
  gchar* host = g_inet_address_to_string(g_inet_socket_address_get_address(inet));
  const bool v6 = g_socket_address_get_family(address) == G_SOCKET_FAMILY_IPV6;
  std::string url = std::string("http://") + (v6 ? "[" : "") + host + (v6 ? "]" : "") + ":" +
                    std::to_string(g_inet_socket_address_get_port(inet));
  g_free(host);
  return url;
}

}  // namespace

std::unique_ptr<Acceptor> Acceptor::start(SoupServer* server, GSocketAddress* address, std::string* error) {
  GError* gerror = nullptr;
  const GSocketFamily family = g_socket_address_get_family(address);
  GSocket* socket = g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &gerror);
  if (socket) {
    // As libsoup does: an IPv6 address means IPv6 only, and responses go
    // out without waiting for Nagle's timer (accepted sockets inherit it).
    if (family == G_SOCKET_FAMILY_IPV6) g_socket_set_option(socket, IPPROTO_IPV6, IPV6_V6ONLY, TRUE, nullptr);
    g_socket_set_option(socket, IPPROTO_TCP, TCP_NODELAY, TRUE, nullptr);
    g_socket_set_listen_backlog(socket, kListenBacklog);
    g_socket_set_blocking(socket, FALSE);
  }
  if (!socket || !g_socket_bind(socket, address, TRUE, &gerror) || !g_socket_listen(socket, &gerror)) {
    *error = gerror ? gerror->message : "unknown error";
    g_clear_error(&gerror);
    if (socket) g_object_unref(socket);
    return nullptr;
  }
  // libsoup keeps a connection alive after a response only while it has a
  // listener of its own (request_finished in soup-server.c, 3.2), so it gets
  // this socket too. Its listener accepts one connection when it wins the
  // race for one, and stops watching the first time it finds none waiting
  // (the socket does not block): either way every connection is served the
  // same, and this acceptor takes the bursts.
  if (!soup_server_listen_socket(server, socket, static_cast<SoupServerListenOptions>(0), &gerror)) {
    *error = gerror ? gerror->message : "libsoup refused the socket";
    g_clear_error(&gerror);
    g_object_unref(socket);
    return nullptr;
  }
  GSocketAddress* bound = g_socket_get_local_address(socket, nullptr);
  std::string url = bound ? url_of(bound) : url_of(address);
  if (bound) g_object_unref(bound);
  std::unique_ptr<Acceptor> acceptor(new Acceptor(server, socket, std::move(url)));
  acceptor->watch();
  return acceptor;
}

Acceptor::Acceptor(SoupServer* server, GSocket* socket, std::string url)
    : server_(server), socket_(socket), url_(std::move(url)) {}

Acceptor::~Acceptor() {
  if (retry_) g_source_remove(retry_);
  if (source_) {
    g_source_destroy(source_);
    g_source_unref(source_);
  }
  g_socket_close(socket_, nullptr);
  g_object_unref(socket_);
}

void Acceptor::watch() {
  source_ = g_socket_create_source(socket_, G_IO_IN, nullptr);
  g_source_set_callback(source_, G_SOURCE_FUNC(on_ready), this, nullptr);  // a GSocketSourceFunc
  g_source_attach(source_, nullptr);
}

gboolean Acceptor::on_ready(GSocket*, GIOCondition, gpointer self) {
  static_cast<Acceptor*>(self)->accept_waiting();
  return G_SOURCE_CONTINUE;
}

void Acceptor::accept_waiting() {
  for (int i = 0; i < kAcceptsPerWake; ++i) {
    GError* gerror = nullptr;
    GSocket* client = g_socket_accept(socket_, nullptr, &gerror);
    if (!client) {
      if (!g_error_matches(gerror, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        // Out of descriptors, say: the connection stays in the kernel's
        // queue. Stop watching (the socket stays readable, and watching it
        // would spin) and look again shortly.
        if (!failing_) log_line("serve", std::string("accepting connections fails: ") + gerror->message);
        failing_ = true;
        g_source_destroy(source_);
        g_source_unref(source_);
        source_ = nullptr;
        retry_ = g_timeout_add(
            kRetryMs,
            [](gpointer data) -> gboolean {
              auto* self = static_cast<Acceptor*>(data);
              self->retry_ = 0;
              self->watch();
              return G_SOURCE_REMOVE;
            },
            this);
      }
      g_error_free(gerror);
      return;
    }
    if (failing_) log_line("serve", "accepting connections again");
    failing_ = false;
    GSocketConnection* connection = g_socket_connection_factory_create_connection(client);
    GSocketAddress* local = g_socket_get_local_address(client, nullptr);
    GSocketAddress* remote = g_socket_get_remote_address(client, nullptr);
    if (!soup_server_accept_iostream(server_, G_IO_STREAM(connection), local, remote, &gerror)) {
      log_line("serve", std::string("a connection was refused by libsoup: ") + (gerror ? gerror->message : "?"));
      g_clear_error(&gerror);
    }
    if (local) g_object_unref(local);
    if (remote) g_object_unref(remote);
    g_object_unref(connection);
    g_object_unref(client);
  }
}

}  // namespace nagare::launcher
