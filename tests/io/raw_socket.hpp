// A blocking loopback TCP client for tests: the peer a socket actor talks
// to, with nothing of troupe in between.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace troupe::io::testing {

class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port, const char* host = "127.0.0.1") {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    ::inet_pton(AF_INET, host, &addr.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("connect failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~raw_socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void set_receive_buffer(int bytes) { ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes); }
  bool send(const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Reads until `n` bytes came, the peer closed, or `timeout` passed.
  std::string read_exactly(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::string got;
    auto until = std::chrono::steady_clock::now() + timeout;
    while (got.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[65536];
      ssize_t r = ::recv(fd_, buf, std::min(sizeof buf, n - got.size()), 0);
      if (r <= 0) break;
      got.append(buf, static_cast<std::size_t>(r));
    }
    return got;
  }
  // Reads until the peer closes (true) or `timeout` passes (false); the
  // bytes read go to `out`. A reset counts as closed.
  bool read_to_end(std::string& out, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return read_while(out, [] { return false; }, timeout, true);
  }
  // Reads until what came ends with `marker` (true), or the peer closes or
  // `timeout` passes (false); the bytes read go to `out`.
  bool read_until(std::string& out, const std::string& marker,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto ends_with_marker = [&] {
      return out.size() >= marker.size() && out.compare(out.size() - marker.size(), marker.size(), marker) == 0;
    };
    return read_while(out, ends_with_marker, timeout, false);
  }
  void shutdown_send() { ::shutdown(fd_, SHUT_WR); }
  int fd() const { return fd_; }

 private:
  // Reads into `out` until done() (true), the peer closes (`closed_is_done`)
  // or `timeout` passes (false).
  template <class Done>
  bool read_while(std::string& out, Done done, std::chrono::milliseconds timeout, bool closed_is_done) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[65536];
      ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) return closed_is_done;
      out.append(buf, static_cast<std::size_t>(r));
    }
    return true;
  }

  int fd_ = -1;
};

}  // namespace troupe::io::testing
