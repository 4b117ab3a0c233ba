// tls: TLS 1.3 with mutual certificate verification for socket actors.
//
//   auto tls = io::tls_context::make({.certificate = "node.pem",   // a path, or PEM text
//                                     .private_key = "node.key",
//                                     .trusted = "cluster-ca.pem"});
//   io::socket_options opts;
//   opts.connection.tls = tls;
//   auto server = io::listen<io::line_codec>(io, at, on_connection, opts);  // the server side
//   io::connect<io::line_codec>(io, to, on_connection, opts);              // the client side
//
// Encryption happens inside the connection, below the codec: codecs and
// actors see plaintext and nothing else changes (back pressure, timeouts,
// the writer's direct sends). Only TLS 1.3 is spoken. Both sides present
// a certificate and check the other's against `trusted`: a peer with no
// certificate, or one that does not chain to a trusted CA, or an expired
// one, is refused. Its connection closes with closed{"tls: <why>", error},
// the reason is logged, and the peer is sent the TLS alert that says why.
// Bytes written before the handshake ends wait for it (a close waits for
// them too, within close_timeout). A graceful close sends close_notify; a
// peer whose stream ends without one is reported as closed{"tls: the peer
// closed without close_notify", error}: the stream may have been cut. An
// incomplete record or handshake counts for read_timeout.
//
// Not checked: host names (a cluster's private CA vouches for membership,
// not for a name) and revocation lists.
#pragma once

#include <memory>
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace troupe::io {

// Where a tls_context gets its certificate, key and trusted CAs.
struct tls_options {
  // Each is a PEM file's path, or PEM text itself (it starts "-----BEGIN").
  // Without both, this side presents no certificate: a client of a server
  // that does not require one.
  std::string certificate{};  // this side's certificate, then any intermediates
  // The certificate's private key: a path or PEM text.
  std::string private_key{};  // its key (not encrypted)
  // The CAs that vouch for peers: a path or PEM text.
  std::string trusted{};      // the CA certificates a peer's certificate must chain to
  // Servers ask clients for a certificate and refuse those without one
  // (mutual TLS). Off: servers accept clients without certificates.
  bool require_client_certificate = true;
};

// Shared by every connection that uses it; immutable once made.
class tls_context {
 public:
  // Loads and checks the certificate, key and trusted CAs; throws
  // std::invalid_argument saying which one failed and why.
  static std::shared_ptr<const tls_context> make(const tls_options& options);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // OpenSSL's SSL_CTX, owned by this context: for the connections' TLS sessions.
  ssl_ctx_st* native() const noexcept { return ctx_; }

 private:
  explicit tls_context(ssl_ctx_st* ctx) : ctx_(ctx) {}
  ssl_ctx_st* ctx_;
};

}  // namespace troupe::io
