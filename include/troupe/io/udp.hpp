// UDP sockets that are actors.
//
//   pid echo = io::open_udp(io, {"127.0.0.1", 9000},
//       [](actor&, io::udp_socket sock) -> behavior {
//         return {[sock](io::datagram& d) mutable { sock.send_to(d.peer, d.data); }};
//       });
//
// Each datagram received arrives as an io::datagram (up to 64 KiB; a
// longer one is truncated by the kernel). Sending the socket's actor an
// outbound<datagram> sends it (`peer` is the destination). UDP keeps no order and may
// lose datagrams; nothing here adds either. When the actor ends, the socket
// closes.
#pragma once

#include <memory>
#include <string>
#include <utility>

#include "troupe/core/actor.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/io/connection.hpp"
#include "troupe/io/endpoint.hpp"
#include "troupe/io/reactor.hpp"

namespace troupe::io {

// One UDP datagram, received or to send.
struct datagram {
  // The sender of a received datagram; the destination of one to send.
  endpoint peer;
  // The payload.
  std::string data;
};

namespace detail {
class udp_core;
std::shared_ptr<udp_core> udp_bind(reactor& io, const endpoint& at);  // throws std::system_error
void udp_start(udp_core& core, troupe::pid owner);
bool udp_send(udp_core& core, const endpoint& to, std::string data);
void udp_close(udp_core& core);
endpoint udp_local(const udp_core& core);

struct udp_guard {
  explicit udp_guard(std::shared_ptr<udp_core> c) : core(std::move(c)) {}
  udp_guard(udp_guard&&) noexcept = default;
  ~udp_guard() {
    if (core) udp_close(*core);
  }
  std::shared_ptr<udp_core> core;
};
}  // namespace detail

// The handle a UDP socket actor's handlers use. Copyable; every copy names
// the same socket.
class udp_socket {
 public:
  // Wraps a bound socket; open_udp() makes it.
  explicit udp_socket(std::shared_ptr<detail::udp_core> core) : core_(std::move(core)) {}
  // False when the socket is closed or `to` is not a numeric address.
  bool send_to(const endpoint& to, std::string data) {
    return detail::udp_send(*core_, to, std::move(data));
  }
  // The bound address (with the port the system picked for port 0).
  endpoint local() const { return detail::udp_local(*core_); }
  // Closes the socket; later sends fail.
  void close() { detail::udp_close(*core_); }

 private:
  std::shared_ptr<detail::udp_core> core_;
};

// Binds a UDP socket at `at` and spawns its actor, its behavior
// on_open(self, sock); throws std::system_error when the address cannot be bound.
template <class F>
troupe::pid open_udp(reactor& io, const endpoint& at, F on_open) {
  auto core = detail::udp_bind(io, at);
  auto body = [fn = std::move(on_open)](actor& self, detail::udp_guard& g) mutable -> behavior {
    udp_socket sock(g.core);
    behavior user = fn(self, sock);
    return std::move(user).or_else(behavior{
        [sock](outbound<datagram>& d) mutable { sock.send_to(d.value.peer, std::move(d.value.data)); },
    });
  };
  troupe::pid owner = io.system().spawn(std::move(body), detail::udp_guard(core));
  detail::udp_start(*core, owner);
  return owner;
}

}  // namespace troupe::io
