// Helpers shared by the net layer's tests.
#pragma once

#include <chrono>
#include <thread>

#include "troupe/core/runtime.hpp"

namespace troupe::net::testing {

// Polls `pred` until it holds or `timeout` passes; its last answer.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return pred();
}

// An actor that monitors `target` (or links to it, trapping exits) and
// passes each down or exit_signal on to `reporter`. Its link or monitor is
// in place (sent) when this returns: the setup runs on the calling thread.
inline pid spawn_watcher(runtime& rt, pid target, pid reporter, bool link) {
  return rt.spawn([=](actor& self) -> behavior {
    if (link) {
      self.trap_exit(true);
      self.link(target);
    } else {
      self.monitor(target);
    }
    return {
        [=, &self](const down& d) { self.send(reporter, d); },
        [=, &self](const exit_signal& e) { self.send(reporter, e); },
    };
  });
}

}  // namespace troupe::net::testing
