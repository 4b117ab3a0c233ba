// stream_network: the seam under io::reactor's listen() and connect().
// A reactor made with one (reactor::reactor(runtime&, network)) has no I/O
// threads and no sockets: listeners, outgoing connections, post() and
// call_after() go to the network, which delivers bytes to each
// connection's codec and actor as the real loop would. troupe::testing's
// simulated cluster is the one implementation besides the sockets; the net
// layer's node runs over either unchanged.
//
// What an implementation keeps: a connection's bytes arrive in order,
// exactly once, or the connection ends (closed{} to its actor) — TCP's
// promise; the codec's reader runs for one connection at a time; a
// connection's actor hears closed{} then socket_ended{} once, unless it
// has ended; when the actor ends, the connection is closed.
#pragma once

#include <functional>
#include <memory>

#include "troupe/async/future.hpp"
#include "troupe/io/tcp.hpp"

namespace troupe::io::detail {

// A listening endpoint, as io::listener holds it.
class listener_core {
 public:
  virtual ~listener_core() = default;
  // Stops accepting; idempotent; any thread.
  virtual void stop() = 0;
  // The bound address.
  virtual endpoint local() const = 0;
};

class stream_network {
 public:
  virtual ~stream_network() = default;
  // Throws std::system_error when `at` cannot be bound (in use).
  virtual std::shared_ptr<listener_core> listen(const endpoint& at, const socket_options& options,
                                                std::shared_ptr<socket_spawner> spawner) = 0;
  // Completes `done` with the new connection's actor, or errc::io_error.
  virtual void connect(const endpoint& to, const socket_options& options,
                       std::shared_ptr<socket_spawner> spawner, promise<troupe::pid> done) = 0;
  // Runs fn after `delay` (zero: soon), as reactor::post and call_after.
  virtual void post(duration delay, std::function<void()> fn) = 0;
  // reactor::stop: closes this reactor's listeners and connections.
  virtual void stop() = 0;
};

}  // namespace troupe::io::detail
