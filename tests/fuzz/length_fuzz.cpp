// libFuzzer target for io::length_prefixed_codec. Built and run by
// scripts/fuzz (not part of the CMake build).
//
// The input is a byte stream as a peer would send it. The first byte picks
// max_frame (so the over-the-limit path is reached with small inputs); the
// rest is parsed message after message. Invariants (a violation traps):
//   - a message consumes at least the 4-byte header and no more than offered,
//     and its payload is exactly consumed - 4 bytes;
//   - parsing only the bytes a message consumed gives the same message;
//   - every shorter prefix of a message needs more (never a message, never
//     an error): the network may split a frame anywhere;
//   - encode(payload) parses back to the same payload, consuming exactly the
//     encoded size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/io/codecs/length_prefixed.hpp"

namespace {

#define FUZZ_CHECK(cond)            \
  do {                              \
    if (!(cond)) __builtin_trap();  \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  troupe::io::length_prefixed_codec codec;
  // 0..254: a small limit; 255: the default (16 MiB).
  if (data[0] != 255) codec.max_frame = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  for (int guard = 0; !rest.empty(); ++guard) {
    FUZZ_CHECK(guard <= static_cast<int>(size));  // progress on every message
    auto r = codec.parse(rest);
    if (r.needs_more()) break;
    if (r.failed()) {
      // Only the limit is an error, and only once the header is complete.
      FUZZ_CHECK(rest.size() >= 4);
      break;
    }
    FUZZ_CHECK(r.has_message());
    const std::size_t n = r.consumed();
    FUZZ_CHECK(n >= 4 && n <= rest.size());
    const std::string& payload = r.message();
    FUZZ_CHECK(payload.size() == n - 4);
    FUZZ_CHECK(payload.size() <= codec.max_frame);
    FUZZ_CHECK(std::string_view(payload) == rest.substr(4, n - 4));

    // Exactly the message's bytes: the same message.
    auto exact = codec.parse(rest.substr(0, n));
    FUZZ_CHECK(exact.has_message() && exact.consumed() == n && exact.message() == payload);
    // A prefix (cut at a point derived from the data): need more.
    const std::size_t cut = n > 1 ? static_cast<unsigned char>(rest[n - 1]) % n : 0;
    FUZZ_CHECK(codec.parse(rest.substr(0, cut)).needs_more());

    // Round trip.
    std::string encoded;
    codec.encode(payload, encoded);
    FUZZ_CHECK(encoded.size() == payload.size() + 4);
    auto again = codec.parse(encoded);
    FUZZ_CHECK(again.has_message() && again.consumed() == encoded.size() &&
               again.message() == payload);

    rest.remove_prefix(n);
  }
  return 0;
}
