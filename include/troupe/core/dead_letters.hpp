// dead_letter: a message that could not be delivered, kept for inspection.
#pragma once

#include <cstdint>
#include <string>

#include "troupe/core/pid.hpp"

namespace troupe {

struct dead_letter {
  pid sender;
  pid receiver;
  std::string type;    // the message's C++ type
  std::string reason;  // "receiver dead", "no handler", "mailbox full", ...
};

}  // namespace troupe
