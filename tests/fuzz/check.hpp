// Shared by the libFuzzer targets of tests/fuzz: the checks every codec must
// pass, whatever its format (see include/troupe/io/codec.hpp for the
// contract). A violated invariant traps, which libFuzzer reports as a crash
// and saves the input for.
#pragma once

#include <cstddef>
#include <string_view>

#define FUZZ_CHECK(cond)            \
  do {                              \
    if (!(cond)) __builtin_trap();  \
  } while (0)

namespace troupe_fuzz {

inline std::size_t byte_at(std::string_view s, std::size_t i) {
  return static_cast<unsigned char>(s[i]);
}

// Whatever a stream parse returned a message for must also come out the same
// when the bytes arrive differently. `rest` is the stream from the message's
// first byte, `n` the bytes it consumed, `msg` the message; `proto` is a
// codec in its initial state (configured like the one under test), copied for
// each check; same(a, b) compares two messages.
//   - Exactly the message's bytes: the same message, all of them consumed.
//   - The message's bytes split in three reads (at points derived from the
//     data) given to one codec, as a connection would (each read extends the
//     buffer): the first two need more (the network may cut a message
//     anywhere), the last gives the same message. This exercises the state a
//     codec keeps between calls.
template <class Codec, class Msg, class Same>
void check_message(const Codec& proto, std::string_view rest, std::size_t n, const Msg& msg,
                   Same same) {
  FUZZ_CHECK(n > 0 && n <= rest.size());
  {
    Codec fresh = proto;
    auto exact = fresh.parse(rest.substr(0, n));
    FUZZ_CHECK(exact.has_message() && exact.consumed() == n && same(exact.message(), msg));
  }
  {
    const std::size_t cut1 = byte_at(rest, n - 1) % n;
    const std::size_t cut2 = cut1 + byte_at(rest, n / 2) % (n - cut1);
    Codec split = proto;
    FUZZ_CHECK(split.parse(rest.substr(0, cut1)).needs_more());
    FUZZ_CHECK(split.parse(rest.substr(0, cut2)).needs_more());
    auto whole = split.parse(rest);
    FUZZ_CHECK(whole.has_message() && whole.consumed() == n && same(whole.message(), msg));
  }
}

}  // namespace troupe_fuzz
