// raw_node: a hand-driven peer for node tests. It speaks the handshake
// itself (so it can prove the cookie) and then writes whatever frames a
// test wants: forged targets, unknown types, garbage, or nothing at all.
#pragma once

#include <string>

#include "../io/raw_socket.hpp"
#include "net/auth.hpp"
#include "net/node_impl.hpp"

namespace troupe::net::testing {

namespace wire = troupe::net::detail;

class raw_node {
 public:
  raw_node(std::uint16_t port, std::string name, std::string cookie)
      : sock_(port), name_(std::move(name)), cookie_(std::move(cookie)) {}

  // Runs the client side of the handshake; the server's name, or "" if it
  // refused us.
  std::string handshake() {
    std::string nonce = wire::random_bytes(wire::nonce_size);
    send_hello(name_, wire::protocol_version, nonce);
    std::string challenge = read_frame();
    if (challenge.empty()) return {};
    reader r(challenge);
    r.byte();
    r.bytes();
    r.varint();
    std::string server(r.bytes());
    r.fixed64();
    r.bytes();
    r.varint();
    std::string their_nonce(r.bytes());
    send_frame(frame(wire::frame_tag::proof, [&](writer& w) {
      w.bytes(wire::handshake_proof(cookie_, 'c', nonce, their_nonce, name_, server));
    }));
    std::string welcome = read_frame();
    if (welcome.empty() || static_cast<wire::frame_tag>(welcome[0]) != wire::frame_tag::welcome) return {};
    // The server proves the cookie in its welcome, after we did.
    reader rw(welcome);
    rw.byte();
    if (!wire::same_proof(rw.bytes(), wire::handshake_proof(cookie_, 's', nonce, their_nonce, name_, server)))
      return {};
    return server;
  }

  // Sends a hello (with `name`) and returns the challenge's payload: what a
  // caller who has proved nothing gets back ("" if the node refused).
  std::string hello_only(const std::string& name) {
    send_hello(name, wire::protocol_version, wire::random_bytes(wire::nonce_size));
    return read_frame();
  }

  // A hello frame (magic, version, name, incarnation 42, listening on
  // 127.0.0.1:1, nonce).
  bool send_hello(const std::string& name, std::uint64_t version, const std::string& nonce) {
    return send_frame(frame(wire::frame_tag::hello, [&](writer& w) {
      w.bytes(wire::protocol_magic);
      w.varint(version);
      w.bytes(name);
      w.fixed64(42);
      w.bytes("127.0.0.1");
      w.varint(1);
      w.bytes(nonce);
    }));
  }

  template <class F>
  static std::string frame(wire::frame_tag tag, F fields) {
    std::string out;
    writer w(out);
    w.byte(static_cast<std::uint8_t>(tag));
    fields(w);
    return out;
  }
  bool send_frame(const std::string& payload) {
    auto len = static_cast<std::uint32_t>(payload.size());
    std::string bytes{static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                      static_cast<char>(len >> 8), static_cast<char>(len)};
    return sock_.send(bytes + payload);
  }
  // The next frame's payload, skipping heartbeats and peer lists; "" at the end.
  std::string read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    for (;;) {
      std::string head = sock_.read_exactly(4, timeout);
      if (head.size() < 4) return {};
      auto byte = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(head[i])); };
      std::uint32_t len = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
      std::string payload = sock_.read_exactly(len, timeout);
      if (payload.size() < len) return {};
      auto tag = payload.empty() ? wire::frame_tag{} : static_cast<wire::frame_tag>(payload[0]);
      if (tag == wire::frame_tag::heartbeat || tag == wire::frame_tag::peers) continue;
      return payload;
    }
  }
  io::testing::raw_socket& socket() { return sock_; }

 private:
  io::testing::raw_socket sock_;
  std::string name_, cookie_;
};

}  // namespace troupe::net::testing
