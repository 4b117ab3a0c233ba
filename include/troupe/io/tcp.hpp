// TCP listeners and outgoing connections whose sockets are actors.
//
//   auto server = io::listen<io::line_codec>(io, {"127.0.0.1", 7000},
//       [](actor& self, io::connection<io::line_codec> conn) -> behavior {
//         return {[conn](std::string& line) mutable { conn.write("echo: " + line); }};
//       });
//   server.local().port;   // the bound port (useful when asking for port 0)
//
// The function runs once per connection, as the setup of that connection's
// actor (see connection.hpp for what the actor receives). Each connection
// gets its own copy of the codec `proto`.
#pragma once

#include <memory>
#include <utility>

#include "troupe/async/future.hpp"
#include "troupe/core/config.hpp"
#include "troupe/io/connection.hpp"
#include "troupe/io/reactor.hpp"

namespace troupe::io {

// Settings for listen() and connect(): each connection's options and
// actor, and a listener's limits.
struct socket_options {
  // Back pressure, timeouts and TLS for each connection.
  connection_options connection{};
  // How each connection's actor is spawned.
  spawn_options actor{};  // for each connection's actor
  // Length of the kernel's queue of connections not yet accepted.
  int backlog = 1024;   // listeners only
  // Listeners only: at most this many of its connections open at once. At
  // the limit the listener stops accepting (logged): new connections wait
  // in the kernel's backlog, which refuses them once full, and accepting
  // resumes as soon as one closes. Zero: the soft RLIMIT_NOFILE at listen
  // time less 64 descriptors kept for everything else, at least 16.
  std::size_t max_connections = 0;
  // Listeners only: bytes of input buffers (partial messages) over all its
  // connections, past the first 16 KiB each. A connection whose buffer
  // would grow past it is closed, logged, instead (the message it was
  // receiving is lost; the others keep theirs). Zero: no limit.
  std::size_t max_buffered_input = 0;
};

// What io::serve uses, and what a server built on listen() should start
// from: the connection cap above, 256 MiB of buffered input, and timeouts
// that close a connection whose message has been arriving for 30 s (a
// slow-loris peer) or that moved no byte either way for 5 minutes.
socket_options server_socket_options();

namespace detail {

class listener_core;

// Spawns the actor of a new connection, on that connection's I/O thread.
struct socket_spawner {
  virtual ~socket_spawner() = default;
  virtual std::unique_ptr<conn_reader> spawn(runtime& rt, std::shared_ptr<conn_core> core,
                                             troupe::pid& actor) = 0;
};

template <class C, class F>
struct spawner_of final : socket_spawner {
  spawner_of(F f, C p, spawn_options o) : fn(std::move(f)), proto(std::move(p)), opts(std::move(o)) {}
  std::unique_ptr<conn_reader> spawn(runtime& rt, std::shared_ptr<conn_core> core,
                                     troupe::pid& actor) override {
    C codec = proto;  // this connection's: its encoder and reader are copies of it
    if constexpr (requires { codec.begin_connection(); }) codec.begin_connection();
    auto body = [fn = fn, codec](troupe::actor& self, std::shared_ptr<conn_core>& c,
                                 owner_guard&) mutable -> behavior {
      connection<C> conn(c, codec);
      behavior user = fn(self, conn);
      return std::move(user).or_else(conn.socket_handlers(self));
    };
    actor = rt.spawn(opts, std::move(body), core, owner_guard(core));
    return std::make_unique<codec_reader<C>>(std::move(codec), rt, actor);
  }
  F fn;
  C proto;
  spawn_options opts;
};

// Throws std::system_error when the address cannot be bound.
std::shared_ptr<listener_core> start_listener(reactor& io, const endpoint& at,
                                              const socket_options& options,
                                              std::shared_ptr<socket_spawner> spawner);
void stop_listener(listener_core& core);
endpoint listener_local(const listener_core& core);
void start_connect(reactor& io, const endpoint& to, const socket_options& options,
                   std::shared_ptr<socket_spawner> spawner, promise<troupe::pid> done);

}  // namespace detail

// Accepts connections until closed or destroyed; connections already made
// live on (each ends with its own actor).
class listener {
 public:
  listener() = default;
  // Owns a started listener; listen() makes it.
  explicit listener(std::shared_ptr<detail::listener_core> core) : core_(std::move(core)) {}
  // Takes over other's listening socket; other is left empty.
  listener(listener&&) noexcept = default;
  // Closes this listener, then takes over other's.
  listener& operator=(listener&& other) noexcept {
    close();
    core_ = std::move(other.core_);
    return *this;
  }
  ~listener() { close(); }

  // The bound address (with the port the system picked for port 0).
  endpoint local() const { return detail::listener_local(*core_); }
  // Stops accepting; idempotent. Open connections live on.
  void close() {
    if (core_) detail::stop_listener(*core_);
    core_.reset();
  }
  // True while it listens (not closed, moved from or default-made).
  explicit operator bool() const noexcept { return core_ != nullptr; }

 private:
  std::shared_ptr<detail::listener_core> core_;
};

// Listens at `at` and spawns an actor for each accepted connection, its
// behavior on_connection(self, conn); throws std::system_error when the
// address cannot be bound.
template <codec C, class F>
listener listen(reactor& io, const endpoint& at, F on_connection, socket_options options = {},
                C proto = C{}) {
  auto spawner = std::make_shared<detail::spawner_of<C, F>>(std::move(on_connection),
                                                            std::move(proto), options.actor);
  return listener(detail::start_listener(io, at, options, std::move(spawner)));
}

// Connects (resolving a host name first) and spawns the socket's actor;
// the future gives its pid, or errc::io_error (refused, unreachable,
// unresolvable).
template <codec C, class F>
future<troupe::pid> connect(reactor& io, const endpoint& to, F on_connection,
                            socket_options options = {}, C proto = C{}) {
  promise<troupe::pid> done;
  auto result = done.get_future();
  auto spawner = std::make_shared<detail::spawner_of<C, F>>(std::move(on_connection),
                                                            std::move(proto), options.actor);
  detail::start_connect(io, to, options, std::move(spawner), std::move(done));
  return result;
}

}  // namespace troupe::io
