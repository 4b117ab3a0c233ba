// A small blocking HTTP/1.1 client for the admin API (observer/admin.hpp):
// one request per connection, bounded in time and size. The CLI's
// observer commands use it; nothing else does.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace troupe::cli {

struct http_reply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// `address` is "HOST:PORT" (or "[V6]:PORT"); `token` goes in an
// Authorization header when not empty. Throws std::runtime_error when the
// server cannot be reached or answers with something that is not HTTP.
http_reply admin_request(const std::string& address, const std::string& method, const std::string& path,
                         const std::string& token, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                         std::size_t max_bytes = 64u << 20);

}  // namespace troupe::cli
