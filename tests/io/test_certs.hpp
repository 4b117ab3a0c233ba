// Certificates and keys made in memory for the mutual TLS tests: a small CA,
// leaves it signs (live or already expired) and self-signed strangers, all as
// PEM text, so no test depends on files on disk or on the openssl tool.
#pragma once

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstring>  // EVP_EC_gen expands to strstr
#include <memory>
#include <stdexcept>
#include <string>

namespace troupe::io::testing {

struct pem_pair {
  std::string certificate;
  std::string private_key;
};

namespace certs_detail {

template <auto Free>
struct deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, deleter<X509_free>>;
using bio_ptr = std::unique_ptr<BIO, deleter<BIO_free>>;
using bn_ptr = std::unique_ptr<BIGNUM, deleter<BN_free>>;
using asn1_int_ptr = std::unique_ptr<ASN1_INTEGER, deleter<ASN1_INTEGER_free>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, deleter<X509_EXTENSION_free>>;

// The rest of the queue is dropped too: left behind, it would make a later
// SSL_get_error in the same thread report a failure that is not its own.
[[noreturn]] inline void fail(const char* what) {
  char reason[256] = "no OpenSSL error queued";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
  ERR_clear_error();
  throw std::runtime_error(std::string("test_certs: ") + what + " failed: " + reason);
}
inline void check(int ok, const char* what) {
  if (ok <= 0) fail(what);
}
template <class T>
inline T* check(T* p, const char* what) {
  if (!p) fail(what);
  return p;
}

inline pkey_ptr new_key() { return pkey_ptr(check(EVP_EC_gen("P-256"), "EVP_EC_gen")); }

// Random and positive, so that two certificates from one issuer never share a
// serial: peers may cache or reject by (issuer, serial).
inline void set_random_serial(X509* x) {
  unsigned char bytes[16];
  check(RAND_bytes(bytes, sizeof bytes), "RAND_bytes");
  bytes[0] = static_cast<unsigned char>((bytes[0] & 0x7f) | 0x40);
  bn_ptr bn(check(BN_bin2bn(bytes, sizeof bytes, nullptr), "BN_bin2bn"));
  asn1_int_ptr serial(check(BN_to_ASN1_INTEGER(bn.get(), nullptr), "BN_to_ASN1_INTEGER"));
  check(X509_set_serialNumber(x, serial.get()), "X509_set_serialNumber");
}

// Offsets from now; X509_time_adj_ex picks UTCTime or GeneralizedTime itself.
inline void set_validity(X509* x, int not_before_days, long not_before_secs, int not_after_days) {
  check(X509_time_adj_ex(X509_getm_notBefore(x), not_before_days, not_before_secs, nullptr) != nullptr,
        "X509_time_adj_ex(notBefore)");
  check(X509_time_adj_ex(X509_getm_notAfter(x), not_after_days, 0, nullptr) != nullptr,
        "X509_time_adj_ex(notAfter)");
}

// A certificate with everything but issuer, extensions and signature.
inline x509_ptr new_cert(EVP_PKEY* key, const std::string& common_name) {
  x509_ptr x(check(X509_new(), "X509_new"));
  check(X509_set_version(x.get(), 2), "X509_set_version");  // 2 means v3, which extensions need
  set_random_serial(x.get());
  // The subject key identifier hashes the public key, so it has to be in place first.
  check(X509_set_pubkey(x.get(), key), "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(x.get());
  check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0),
        "X509_NAME_add_entry_by_txt(CN)");
  return x;
}

inline void add_ext(X509V3_CTX* ctx, X509* x, int nid, const std::string& value) {
  ext_ptr ext(check(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()), OBJ_nid2sn(nid)));
  check(X509_add_ext(x, ext.get(), -1), "X509_add_ext");  // it copies, so ours is still freed
}

// An IPv4 literal also goes in as an IP entry, for peers that check the
// address they dialled rather than a host name.
inline std::string subject_alt_name(const std::string& name) {
  int dots = 0;
  bool digits_and_dots = !name.empty();
  for (char c : name) {
    if (c == '.') ++dots;
    else if (c < '0' || c > '9') digits_and_dots = false;
  }
  if (digits_and_dots && dots == 3) return "DNS:" + name + ",IP:" + name;
  if (name.find(':') != std::string::npos) return "IP:" + name;
  return "DNS:" + name;
}

// The extensions that make `x` usable as either end of a TLS connection.
inline void add_leaf_exts(X509V3_CTX* ctx, X509* x, const std::string& common_name) {
  add_ext(ctx, x, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(ctx, x, NID_key_usage, "critical,digitalSignature");
  add_ext(ctx, x, NID_ext_key_usage, "serverAuth,clientAuth");
  if (!common_name.empty()) add_ext(ctx, x, NID_subject_alt_name, subject_alt_name(common_name));
  add_ext(ctx, x, NID_subject_key_identifier, "hash");
}

inline void sign(X509* x, EVP_PKEY* key) { check(X509_sign(x, key, EVP_sha256()), "X509_sign"); }

inline std::string drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0 || !data) fail("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(n));
}
inline std::string cert_pem(X509* x) {
  bio_ptr bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
  check(PEM_write_bio_X509(bio.get(), x), "PEM_write_bio_X509");
  return drain(bio.get());
}
// PKCS#8, unencrypted: what SSL_CTX_use_PrivateKey reads back without a passphrase.
inline std::string key_pem(EVP_PKEY* key) {
  bio_ptr bio(check(BIO_new(BIO_s_mem()), "BIO_new"));
  check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr),
        "PEM_write_bio_PrivateKey");
  return drain(bio.get());
}

}  // namespace certs_detail

class test_ca {
 public:
  explicit test_ca(const std::string& name) {
    using namespace certs_detail;
    key_ = new_key();
    cert_ = new_cert(key_.get(), name);
    X509* x = cert_.get();
    check(X509_set_issuer_name(x, X509_get_subject_name(x)), "X509_set_issuer_name");
    // Reaching a year back keeps it older than any leaf it signs, expired ones included.
    set_validity(x, -365, 0, 365);
    X509V3_CTX ctx{};
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    add_ext(&ctx, x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(&ctx, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    // Leaves name this in their authorityKeyIdentifier, which cannot be made without it.
    add_ext(&ctx, x, NID_subject_key_identifier, "hash");
    sign(x, key_.get());
    pem_ = cert_pem(x);
  }
  ~test_ca() = default;  // the unique_ptrs free the key and the certificate
  test_ca(const test_ca&) = delete;
  test_ca& operator=(const test_ca&) = delete;

  const std::string& certificate() const { return pem_; }

  // valid_days > 0: valid from an hour ago (slack for clock skew) until that
  // many days ahead. valid_days <= 0: a day-long window that ended
  // |valid_days| days ago, so -1 gives a certificate that has expired.
  pem_pair issue(const std::string& common_name, int valid_days = 1) const {
    using namespace certs_detail;
    pkey_ptr key = new_key();
    x509_ptr leaf = new_cert(key.get(), common_name);
    X509* x = leaf.get();
    check(X509_set_issuer_name(x, X509_get_subject_name(cert_.get())), "X509_set_issuer_name");
    if (valid_days > 0) set_validity(x, 0, -3600, valid_days);
    else set_validity(x, valid_days - 1, 0, valid_days);
    X509V3_CTX ctx{};
    X509V3_set_ctx(&ctx, cert_.get(), x, nullptr, nullptr, 0);
    add_leaf_exts(&ctx, x, common_name);
    add_ext(&ctx, x, NID_authority_key_identifier, "keyid:always");
    sign(x, key_.get());
    return {cert_pem(x), key_pem(key.get())};
  }

 private:
  certs_detail::pkey_ptr key_;
  certs_detail::x509_ptr cert_;
  std::string pem_;
};

// A leaf that vouches for itself: a peer presenting it must be turned away
// by anyone who trusts only a test_ca.
inline pem_pair self_signed(const std::string& common_name) {
  using namespace certs_detail;
  pkey_ptr key = new_key();
  x509_ptr cert = new_cert(key.get(), common_name);
  X509* x = cert.get();
  check(X509_set_issuer_name(x, X509_get_subject_name(x)), "X509_set_issuer_name");
  set_validity(x, 0, -3600, 1);
  X509V3_CTX ctx{};
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  add_leaf_exts(&ctx, x, common_name);
  sign(x, key.get());
  return {cert_pem(x), key_pem(key.get())};
}

}  // namespace troupe::io::testing
