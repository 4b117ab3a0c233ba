// Node authentication: both nodes know a secret cookie and prove it
// without sending it. Each side sends a fresh random nonce; each answers
// the other's with HMAC-SHA256(cookie, role | both nonces | both names).
// The role byte keeps one side's proof from being replayed as the other's;
// the fresh nonces keep an old handshake from being replayed at all.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/core/runtime.hpp"

namespace troupe::net::detail {

inline constexpr std::size_t nonce_size = 16;

// Unpredictable bytes from OpenSSL; in a simulated runtime (troupe::testing,
// whose hooks supply its randomness) from the simulation's seed instead, so
// that nonces, tags and incarnations replay with it.
std::string random_bytes(runtime& rt, std::size_t n);
// From OpenSSL, always.
std::string random_bytes(std::size_t n);
std::uint64_t random_u64(runtime& rt);
std::string hmac_sha256(std::string_view key, std::string_view data);
// Constant time in the proofs' length.
bool same_proof(std::string_view a, std::string_view b);
// The proof `role` ('c'lient or 's'erver) gives for a handshake.
std::string handshake_proof(std::string_view cookie, char role, std::string_view client_nonce,
                            std::string_view server_nonce, std::string_view client_name,
                            std::string_view server_name);

}  // namespace troupe::net::detail
