// libFuzzer target for io::length_prefixed_codec. Built and run by
// scripts/fuzz (not part of the CMake build).
//
// The input is a byte stream as a peer would send it. The first byte picks
// max_frame (so the over-the-limit path is reached with small inputs); the
// rest is parsed frame after frame. Invariants (a violation traps):
//   - a frame consumes its 4-byte header and payload, no more than offered;
//   - check_message (check.hpp): the same frame from exactly its bytes, and
//     from its bytes split in three reads (the first two need more);
//   - encode(payload) parses back to the same payload, consuming exactly the
//     encoded size;
//   - the only error is a length over max_frame, once the header is in.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "troupe/io/codecs/length_prefixed.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  troupe::io::length_prefixed_codec codec;
  // 0..254: a small limit; 255: the default (16 MiB).
  if (data[0] != 255) codec.max_frame = data[0];
  const troupe::io::length_prefixed_codec proto = codec;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  while (!rest.empty()) {
    auto r = codec.parse(rest);
    if (r.needs_more()) break;
    if (r.failed()) {
      FUZZ_CHECK(rest.size() >= 4 && !r.error().reason.empty());
      break;
    }
    FUZZ_CHECK(r.has_message());
    const std::size_t n = r.consumed();
    FUZZ_CHECK(n >= 4 && n <= rest.size());
    const std::string& payload = r.message();
    FUZZ_CHECK(payload.size() == n - 4 && payload.size() <= codec.max_frame);
    FUZZ_CHECK(std::string_view(payload) == rest.substr(4, n - 4));
    troupe_fuzz::check_message(proto, rest, n, payload,
                               [](const std::string& a, const std::string& b) { return a == b; });

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
