// eventually(pred): the tests' way to wait for something another thread
// does, without asserting on a time.
#pragma once

#include <chrono>
#include <thread>

namespace troupe::test_support {

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

}  // namespace troupe::test_support
