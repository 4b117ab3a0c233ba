// libFuzzer target for io::resp::codec. Built and run by scripts/fuzz (not
// part of the CMake build).
//
// The input is a byte stream as a peer would send it, parsed value after
// value. Invariants (a violation traps):
//   - a value consumes at least one byte and no more than offered;
//   - parsing only the bytes a value consumed gives the same value;
//   - a shorter prefix of a value (cut at a point derived from the data)
//     needs more: the network may split a value anywhere; and the codec that
//     saw that prefix, given the whole input, gives the same value (a codec
//     may keep state between calls, but must answer as if it re-read);
//   - encode(value) parses back to an equal value, consuming exactly the
//     encoded size, and encoding that again gives the same bytes;
//   - an error says why (a non-empty reason).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/io/codecs/resp.hpp"

namespace {

namespace resp = troupe::io::resp;

#define FUZZ_CHECK(cond)            \
  do {                              \
    if (!(cond)) __builtin_trap();  \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  resp::codec codec;

  while (!rest.empty()) {
    auto r = codec.parse(rest);
    if (r.needs_more()) break;
    if (r.failed()) {
      FUZZ_CHECK(!r.error().reason.empty());
      break;
    }
    FUZZ_CHECK(r.has_message());
    const std::size_t n = r.consumed();
    FUZZ_CHECK(n > 0 && n <= rest.size());
    const resp::value& v = r.message();

    {  // Exactly the value's bytes: the same value.
      resp::codec fresh;
      auto exact = fresh.parse(rest.substr(0, n));
      FUZZ_CHECK(exact.has_message() && exact.consumed() == n && exact.message() == v);
    }
    {  // Split in two: the first part needs more; then the whole: the same.
      const std::size_t cut = static_cast<unsigned char>(rest[n - 1]) % n;
      resp::codec split;
      FUZZ_CHECK(split.parse(rest.substr(0, cut)).needs_more());
      auto whole = split.parse(rest);
      FUZZ_CHECK(whole.has_message() && whole.consumed() == n && whole.message() == v);
    }
    {  // Round trip.
      std::string encoded;
      codec.encode(v, encoded);
      FUZZ_CHECK(!encoded.empty());
      resp::codec fresh;
      auto again = fresh.parse(encoded);
      FUZZ_CHECK(again.has_message() && again.consumed() == encoded.size() &&
                 again.message() == v);
      std::string reencoded;
      codec.encode(again.message(), reencoded);
      FUZZ_CHECK(reencoded == encoded);
    }
    rest.remove_prefix(n);
  }
  return 0;
}
