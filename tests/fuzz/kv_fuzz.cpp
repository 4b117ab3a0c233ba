// libFuzzer target for examples/kv's burst codec. Built and run by
// scripts/fuzz (not part of the CMake build).
//
// The kv codec parses most commands itself (flat, as views) and hands
// the rest to the generic RESP codec; a connection must see the same
// thing either way. Invariant (a violation traps): fed the same bytes the
// way a connection feeds them, the two codecs yield the same commands, use
// the same bytes and fail with the same reply, under default limits and
// under tiny ones (the first input byte picks, and picks the burst size).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "../../examples/kv/burst.hpp"
#include "../examples/kv_feed.hpp"
#include "check.hpp"

namespace {

namespace resp = troupe::io::resp;

using kv_testing::feed;
using kv_testing::outcome;

template <class C>
void set_limits(C& c, bool tiny) {
  if (!tiny) return;
  c.max_bulk = 16;
  c.max_elements = 4;
  c.max_inline = 32;
  c.max_depth = 2;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool tiny = data[0] & 1;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

  resp::codec generic;
  set_limits(generic, tiny);
  kv::codec flat;
  set_limits(flat, tiny);
  flat.max_burst = 1 + (data[0] >> 1) % 8;

  const outcome want = feed(generic, bytes, [](resp::value& v, std::vector<resp::value>& out) {
    out.push_back(std::move(v));
  });
  const outcome got = feed(flat, bytes, [](kv::burst& b, std::vector<resp::value>& out) {
    FUZZ_CHECK(!b.empty() && b.size() <= 8);
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (b[i].count == 0) {
        out.push_back(std::move(b.odd(b[i])));
        continue;
      }
      std::vector<resp::value> args;
      for (std::string_view a : b.args(b[i])) args.push_back(resp::value::bulk(std::string(a)));
      out.push_back(resp::value::array(std::move(args)));
    }
  });
  // A parse never uses no bytes or more than it was given.
  FUZZ_CHECK(!want.bad_step && !got.bad_step);
  FUZZ_CHECK(got.used == want.used && got.failed == want.failed && got.error_reply == want.error_reply);
  FUZZ_CHECK(got.commands.size() == want.commands.size());
  for (std::size_t i = 0; i < want.commands.size(); ++i) FUZZ_CHECK(got.commands[i] == want.commands[i]);
  return 0;
}
