// reactor: the event loop that runs a runtime's sockets.
//
//   troupe::runtime rt;
//   troupe::io::reactor io(rt);            // one I/O thread
//   auto server = io::listen<io::line_codec>(io, {"127.0.0.1", 7000}, on_connection);
//
// I/O runs on the reactor's own threads (epoll through Asio; io_uring when
// built with -DTROUPE_IO_URING=ON). They move bytes and run codecs; every
// handler runs in the socket's actor, on a worker or, while every worker
// sleeps, on the I/O thread itself (config::lend_io_threads). With
// several threads, each connection stays on one thread for its life
// (chosen round robin), so its bytes are never reordered.
//
// Destroying the reactor (or stop()) closes every socket it owns; their
// actors get closed{"reactor stopped"} and end. Destroy the reactor before
// its runtime, and not from an actor (its turn may be running on an I/O
// thread, which stop() joins).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "troupe/async/future.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/io/endpoint.hpp"

namespace troupe {
class runtime;
}

namespace troupe::io {

namespace detail {
class reactor_impl;
class stream_network;
}

// How a reactor runs its I/O threads.
struct reactor_options {
  // I/O threads: 1 unless the machine has several network interfaces
  // worth a thread each. Must be at least 1.
  unsigned threads = 1;
  // After input, an I/O thread keeps polling this long (yielding its core
  // between polls) before it sleeps in epoll_wait, so that the answer to
  // what it just handled is read without waking a sleeping core (tens of
  // microseconds on a virtual machine): remote ping-pong on the 2-core
  // machine went from about 60 to 9 us per round trip. The spin stops as
  // soon as a yield hands the core to another thread, so a loaded machine
  // does not pay for it; an idle one pays this much CPU after each burst
  // of input. Zero: sleep at once. At most 1 ms.
  duration spin = std::chrono::microseconds(25);
};

// The event loop: I/O threads that move a runtime's socket bytes and run
// their codecs.
class reactor {
 public:
  // Starts the I/O threads; rt must outlive the reactor.
  explicit reactor(runtime& rt, reactor_options options = {});
  // A reactor with no threads and no sockets: listen() and connect() go
  // over `network` (troupe::testing's simulated cluster makes these).
  reactor(runtime& rt, std::shared_ptr<detail::stream_network> network);
  ~reactor();
  reactor(const reactor&) = delete;
  reactor& operator=(const reactor&) = delete;

  // The runtime whose actors own the sockets.
  runtime& system() const noexcept;
  // How many I/O threads run (options.threads).
  unsigned thread_count() const noexcept;

  // Runs fn on an I/O thread soon, or after `delay`. Keep it short: it
  // shares the thread with every socket.
  void post(std::function<void()> fn);
  // Runs fn on an I/O thread after `delay`; same rules as post().
  void call_after(duration delay, std::function<void()> fn);

  // Name resolution off the caller's thread: every address of `host`
  // (IPv4 and IPv6), or errc::io_error naming the failure.
  future<std::vector<endpoint>> resolve(const std::string& host, std::uint16_t port);

  // Closes every socket and joins the I/O threads. Idempotent. Not from
  // one of its own I/O threads (nor a turn one lent itself to): it joins
  // them, so it throws std::logic_error there.
  void stop();

  // The implementation, for code inside the io layer.
  detail::reactor_impl& impl() noexcept { return *impl_; }
  // The network it runs over instead of sockets, or null.
  detail::stream_network* network() const noexcept { return network_.get(); }

 private:
  runtime& rt_;
  std::unique_ptr<detail::reactor_impl> impl_;  // null over a network
  std::shared_ptr<detail::stream_network> network_;
};

}  // namespace troupe::io
