// endpoint: a host and a port. The host is a numeric IPv4 or IPv6 address
// ("127.0.0.1", "::1") or, where a name is resolved first (connect,
// resolve), a host name. Listening defaults to loopback only: a server is
// reachable from other machines only when it asks for "0.0.0.0" or "::".
#pragma once

#include <cstdint>
#include <string>

namespace troupe::io {

struct endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0 when listening: the system picks one

  // "127.0.0.1:6379", "[::1]:6379".
  std::string to_string() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  friend bool operator==(const endpoint&, const endpoint&) = default;
};

}  // namespace troupe::io
