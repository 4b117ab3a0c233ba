// Feeding bytes to a RESP codec as a connection does, shared by the kv
// tests and the kv fuzz target (which compare the burst codec with the
// generic one).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/io/codecs/resp.hpp"

namespace kv_testing {

// What a connection makes of some bytes: the commands, the bytes used,
// and the error that stopped it, if any. `bad_step`: a parse claimed to
// use no bytes or more than it was given (feeding stopped there).
struct outcome {
  std::vector<troupe::io::resp::value> commands;
  std::size_t used = 0;
  bool failed = false;
  std::string error_reply;
  bool bad_step = false;
};

// `collect` adds what one parse yielded to the commands.
template <class Codec, class Collect>
outcome feed(const Codec& codec, std::string_view bytes, Collect collect) {
  outcome o;
  while (o.used < bytes.size()) {
    auto step = codec.parse(bytes.substr(o.used));
    if (step.needs_more()) break;
    if (step.failed()) {
      o.failed = true;
      o.error_reply = step.error().reply;
      break;
    }
    if (step.consumed() == 0 || step.consumed() > bytes.size() - o.used) {
      o.bad_step = true;
      break;
    }
    o.used += step.consumed();
    collect(step.message(), o.commands);
  }
  return o;
}

}  // namespace kv_testing
