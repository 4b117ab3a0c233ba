// TLS contexts and sessions (OpenSSL). See tls.hpp and tls_session.hpp.
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "io/tls_session.hpp"

namespace troupe::io {

namespace {

// The newest OpenSSL error's reason ("certificate verify failed"), and the
// queue emptied: the queue is per thread and would leak into the next call.
std::string take_openssl_error() {
  unsigned long code = ERR_peek_last_error();
  std::string why;
  if (const char* reason = code ? ERR_reason_error_string(code) : nullptr) why = reason;
  else if (code) why = "OpenSSL error " + std::to_string(code);
  ERR_clear_error();
  return why;
}

[[noreturn]] void refuse(const std::string& what, const std::string& why) {
  throw std::invalid_argument("tls: " + what + ": " + why);
}

// `value` is PEM text or the path of a file holding it.
std::string pem_text(const std::string& what, const std::string& value) {
  if (value.empty()) refuse(what, "not given");
  if (value.find("-----BEGIN") != std::string::npos) return value;
  std::ifstream file(value, std::ios::binary);
  if (!file) refuse(what, "cannot read " + value);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

bio_ptr reader_of(const std::string& text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

void load_chain(SSL_CTX* ctx, const std::string& text) {
  auto in = reader_of(text);
  X509* leaf = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr);
  if (!leaf) refuse("certificate", "no PEM certificate in it (" + take_openssl_error() + ")");
  bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used) refuse("certificate", take_openssl_error());
  while (X509* next = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, next) != 1) {  // takes `next` only on success
      X509_free(next);
      refuse("certificate", "intermediate: " + take_openssl_error());
    }
  }
  ERR_clear_error();  // the loop ends on "no start line"
}

void load_key(SSL_CTX* ctx, const std::string& text) {
  auto in = reader_of(text);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr);
  if (!key) refuse("private key", "no unencrypted PEM key in it (" + take_openssl_error() + ")");
  bool used = SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  // OpenSSL checks the pair here (and again below, for certificates loaded
  // after the key); either way the user hears which pair is wrong.
  if (!used || SSL_CTX_check_private_key(ctx) != 1)
    refuse("private key", "does not match the certificate (" + take_openssl_error() + ")");
}

void load_trusted(SSL_CTX* ctx, const std::string& text) {
  auto in = reader_of(text);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr)) {
    bool added = X509_STORE_add_cert(store, ca) == 1;
    X509_free(ca);
    if (!added) refuse("trusted", take_openssl_error());
    ++count;
  }
  ERR_clear_error();
  if (count == 0) refuse("trusted", "no PEM certificate in it");
}

}  // namespace

std::shared_ptr<const tls_context> tls_context::make(const tls_options& options) {
  bool anonymous = options.certificate.empty() && options.private_key.empty();
  std::string certificate, key;
  if (!anonymous) {
    certificate = pem_text("certificate", options.certificate);
    key = pem_text("private key", options.private_key);
  }
  auto trusted = pem_text("trusted", options.trusted);
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (!ctx) throw std::runtime_error("tls: " + take_openssl_error());
  std::shared_ptr<const tls_context> made(new tls_context(ctx));  // frees ctx if a load throws
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
  // No resumption: connections between nodes are long-lived, and without
  // tickets a server writes nothing after its handshake unasked.
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  int verify = SSL_VERIFY_PEER;
  if (options.require_client_certificate) verify |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx, verify, nullptr);
  if (!anonymous) {
    load_chain(ctx, certificate);
    load_key(ctx, key);
  }
  load_trusted(ctx, trusted);
  return made;
}

tls_context::~tls_context() { SSL_CTX_free(ctx_); }

namespace detail {

tls_session::tls_session(const tls_context& context, bool server) {
  ssl_ = SSL_new(context.native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  if (!ssl_ || !in_ || !out_) {
    BIO_free(in_);
    BIO_free(out_);
    SSL_free(ssl_);
    throw std::runtime_error("tls: " + take_openssl_error());
  }
  BIO_set_mem_eof_return(in_, -1);  // empty means "more to come", not end of stream
  SSL_set_bio(ssl_, in_, out_);
  if (server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

tls_session::~tls_session() { SSL_free(ssl_); }

bool tls_session::established() const { return SSL_is_init_finished(ssl_) == 1; }

bool tls_session::partial() const { return !established() || SSL_has_pending(ssl_) == 1; }

void tls_session::close(std::string& cipher_out) {
  if (!established()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // 0: sent, the peer's not awaited (we linger and drop input)
  ERR_clear_error();
  drain(cipher_out);
}

void tls_session::drain(std::string& cipher_out) {
  auto pending = BIO_ctrl_pending(out_);
  if (pending == 0) return;
  auto at = cipher_out.size();
  cipher_out.resize(at + pending);
  int got = BIO_read(out_, cipher_out.data() + at, static_cast<int>(pending));
  cipher_out.resize(at + static_cast<std::size_t>(got > 0 ? got : 0));
}

tls_session::status tls_session::fail(int ret) {
  int kind = SSL_get_error(ssl_, ret);
  if (kind == SSL_ERROR_SSL) {
    error_ = take_openssl_error();
    long verified = SSL_get_verify_result(ssl_);
    if (verified != X509_V_OK) error_ += std::string(" (") + X509_verify_cert_error_string(verified) + ")";
  } else {
    error_ = "TLS error " + std::to_string(kind);
    ERR_clear_error();
  }
  if (error_.empty()) error_ = "TLS failure";
  return status::failed;
}

tls_session::status tls_session::start(std::string& cipher_out) {
  if (SSL_is_server(ssl_)) return status::ok;
  ERR_clear_error();
  int ret = SSL_do_handshake(ssl_);
  if (ret <= 0 && SSL_get_error(ssl_, ret) != SSL_ERROR_WANT_READ) {
    auto failed = fail(ret);
    drain(cipher_out);
    return failed;
  }
  drain(cipher_out);
  return status::ok;
}

tls_session::status tls_session::seal(std::string& plain, std::string& cipher_out) {
  if (plain.empty() || !established()) return status::ok;
  ERR_clear_error();
  std::size_t written = 0;
  // A memory BIO takes everything: one call writes all of `plain`, as
  // records of up to 16 KiB.
  int ret = SSL_write_ex(ssl_, plain.data(), plain.size(), &written);
  if (ret != 1) {
    auto failed = fail(ret);
    drain(cipher_out);
    return failed;
  }
  plain.clear();
  drain(cipher_out);
  return status::ok;
}

tls_session::status tls_session::open(std::string_view cipher, std::string& plain_in, std::string& cipher_out) {
  if (!cipher.empty()) BIO_write(in_, cipher.data(), static_cast<int>(cipher.size()));
  ERR_clear_error();
  for (;;) {
    // Read straight into the buffer's spare room, 16 KiB (a record) at a time.
    constexpr std::size_t chunk = 16 * 1024;
    auto at = plain_in.size();
    plain_in.resize(at + chunk);
    std::size_t got = 0;
    int ret = SSL_read_ex(ssl_, plain_in.data() + at, chunk, &got);
    plain_in.resize(at + got);
    if (ret == 1) continue;
    int kind = SSL_get_error(ssl_, ret);
    if (kind == SSL_ERROR_WANT_READ) break;
    status result = kind == SSL_ERROR_ZERO_RETURN ? status::peer_closed : fail(ret);
    drain(cipher_out);
    return result;
  }
  drain(cipher_out);
  return status::ok;
}

}  // namespace detail

}  // namespace troupe::io
