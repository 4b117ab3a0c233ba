// tls_session: one connection's TLS engine over memory buffers.
//
// OpenSSL runs here as a pure state machine: ciphertext goes in and comes
// out as byte strings, and socket_conn keeps doing all socket I/O itself (so
// writers keep their direct sends, and the I/O thread its reads). Not
// thread-safe: socket_conn calls every method under its `mu_`, because the
// reading side (the I/O thread) and the writing side (any thread) share
// one SSL object and TLS records are numbered in one sequence per
// direction.
//
// Plaintext written before the handshake ends is kept and encrypted once
// it has; a TLS record carries up to 16 KiB, so a burst of queued frames
// is sealed into few records.
#pragma once

#include <string>
#include <string_view>

#include "troupe/io/tls.hpp"

struct ssl_st;
struct bio_st;

namespace troupe::io::detail {

class tls_session {
 public:
  enum class status { ok, peer_closed, failed };

  tls_session(const tls_context& context, bool server);
  ~tls_session();
  tls_session(const tls_session&) = delete;
  tls_session& operator=(const tls_session&) = delete;

  // A client's first flight (its hello); nothing for a server.
  status start(std::string& cipher_out);
  // Encrypts `plain` (all of it, once the handshake is done; else it
  // waits) and appends what is due to the peer to `cipher_out`.
  status seal(std::string& plain, std::string& cipher_out);
  // Takes received ciphertext; appends the plaintext it carried to
  // `plain_in` and what the engine must answer (handshake messages,
  // alerts) to `cipher_out`.
  status open(std::string_view cipher, std::string& plain_in, std::string& cipher_out);

  bool established() const;
  // Bytes of a record (or of the handshake) taken but not yet complete.
  bool partial() const;
  // Our close_notify, once established (a graceful close): a peer can then
  // tell our end from a cut connection.
  void close(std::string& cipher_out);
  const std::string& error() const noexcept { return error_; }  // why, after `failed`

 private:
  status fail(int ret);
  void drain(std::string& cipher_out);

  ssl_st* ssl_ = nullptr;
  bio_st* in_ = nullptr;   // ciphertext received, owned by ssl_
  bio_st* out_ = nullptr;  // ciphertext to send, owned by ssl_
  std::string error_;
};

}  // namespace troupe::io::detail
