// stream_network: the seam under io::reactor's listen() and connect(), and
// conn_core: a connection as its socket actor's connection<C> sees it.
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

// The connection as its socket actor sees it (connection.hpp's conn_*
// functions). Every method may be called from any thread.
class conn_core {
 public:
  virtual ~conn_core() = default;
  // Encodes msg and queues it; send_now: write now rather than at the end
  // of the actor's turn.
  virtual write_status write(encode_fn encode, void* codec, const void* msg, bool send_now) = 0;
  // Writes what write() queued with send_now false.
  virtual void send_queued() = 0;
  virtual void close(bool abortive) = 0;
  // The socket actor ended: flush and close.
  virtual void owner_ended() = 0;
  virtual void pause_reading(bool paused) = 0;
  virtual std::size_t queued_bytes() const = 0;
  // Logs a refused outbound<> message with the peer's address.
  virtual void log_refused(write_status why) = 0;

  endpoint peer, local;
  // The input buffer's first size; what it grows past is charged to the
  // listener's input budget.
  static constexpr std::size_t initial_input = 16 * 1024;
};


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
