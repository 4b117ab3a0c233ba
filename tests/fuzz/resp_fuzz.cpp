// libFuzzer target for io::resp::codec. Built and run by scripts/fuzz (not
// part of the CMake build).
//
// The input is a byte stream as a peer would send it, parsed value after
// value. Invariants (a violation traps):
//   - check_message (check.hpp): a value consumes at least one byte and no
//     more than offered; the same value from exactly its bytes, and from its
//     bytes split in three reads (the first two need more);
//   - encode(value) parses back to an equal value (up to the CR/LF that
//     encode turns into spaces in simple strings and errors), consuming
//     exactly the encoded size, and encoding that gives the same bytes;
//   - an error has a reason, and its reply parses as one RESP error.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "troupe/io/codecs/resp.hpp"

namespace {

namespace resp = troupe::io::resp;

// v as it comes back from encode: CR and LF in simple strings and errors,
// which the wire cannot carry, become spaces.
resp::value as_encoded(const resp::value& v) {
  resp::value out = v;
  if (out.type == resp::kind::simple || out.type == resp::kind::error) {
    for (char& c : out.str)
      if (c == '\r' || c == '\n') c = ' ';
  }
  for (auto& e : out.elements) e = as_encoded(e);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const resp::codec codec;

  while (!rest.empty()) {
    auto r = codec.parse(rest);
    if (r.needs_more()) break;
    if (r.failed()) {
      const auto& err = r.error();
      FUZZ_CHECK(!err.reason.empty());
      if (!err.reply.empty()) {
        auto reply = codec.parse(err.reply);
        FUZZ_CHECK(reply.has_message() && reply.consumed() == err.reply.size() &&
                   reply.message().is_error());
      }
      break;
    }
    FUZZ_CHECK(r.has_message());
    const std::size_t n = r.consumed();
    const resp::value& v = r.message();
    troupe_fuzz::check_message(codec, rest, n, v,
                               [](const resp::value& a, const resp::value& b) { return a == b; });

    std::string encoded;
    codec.encode(v, encoded);
    FUZZ_CHECK(!encoded.empty());
    auto again = codec.parse(encoded);
    FUZZ_CHECK(again.has_message() && again.consumed() == encoded.size() &&
               again.message() == as_encoded(v));
    std::string reencoded;
    codec.encode(again.message(), reencoded);
    FUZZ_CHECK(reencoded == encoded);

    rest.remove_prefix(n);
  }
  return 0;
}
