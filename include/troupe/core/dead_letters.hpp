// dead_letter: a message that could not be delivered, kept for inspection.
#pragma once

#include <cstdint>
#include <string>

#include "troupe/core/pid.hpp"

namespace troupe {

// One undelivered message, as runtime::recent_dead_letters() lists it.
struct dead_letter {
  // Who sent it; null when sent from outside any actor.
  pid sender;
  // Whom it was for.
  pid receiver;
  // The message's C++ type name, demangled.
  std::string type;    // the message's C++ type
  // Why it was not delivered.
  std::string reason;  // "receiver dead", "no handler", "mailbox full", ...
};

}  // namespace troupe
