// endpoint: a host and a port. The host is a numeric IPv4 or IPv6 address
// ("127.0.0.1", "::1") or, where a name is resolved first (connect,
// resolve), a host name. Listening defaults to loopback only: a server is
// reachable from other machines only when it asks for "0.0.0.0" or "::".
#pragma once

#include <cstdint>
#include <string>

namespace troupe::io {

// A host and a port to listen at, connect to or send to.
struct endpoint {
  // A numeric IPv4 or IPv6 address, or a host name where one is resolved.
  std::string host = "127.0.0.1";
  // The port number.
  std::uint16_t port = 0;  // 0 when listening: the system picks one

  // "127.0.0.1:6379", "[::1]:6379".
  std::string to_string() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  // Same host text and same port (no resolution).
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

}  // namespace troupe::io
