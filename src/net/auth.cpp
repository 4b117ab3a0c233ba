#include "net/auth.hpp"

#include "core/runtime_impl.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace troupe::net::detail {

std::string random_bytes(runtime& rt, std::size_t n) {
  std::string out(n, '\0');
  if (rt.impl().hooks) {  // simulated: the seed's
    for (std::size_t i = 0; i < n; i += 8) {
      const std::uint64_t v = rt.random();
      std::memcpy(out.data() + i, &v, std::min<std::size_t>(8, n - i));
    }
    return out;
  }
  return random_bytes(n);
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("troupe: no random bytes from OpenSSL");
  return out;
}

std::uint64_t random_u64(runtime& rt) {
  std::uint64_t v;
  auto bytes = random_bytes(rt, sizeof v);
  std::memcpy(&v, bytes.data(), sizeof v);
  return v;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len))
    throw std::runtime_error("troupe: HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

bool same_proof(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string handshake_proof(std::string_view cookie, char role, std::string_view client_nonce,
                            std::string_view server_nonce, std::string_view client_name,
                            std::string_view server_name) {
  std::string data;
  data += role;
  auto field = [&](std::string_view f) {
    data += std::to_string(f.size());
    data += ':';
    data += f;
  };
  field(client_nonce);
  field(server_nonce);
  field(client_name);
  field(server_name);
  return hmac_sha256(cookie, data);
}

}  // namespace troupe::net::detail
