// pid_slot: where a supervised child runs now. Each start of the child
// publishes its pid (call publish() first thing in its setup); anyone
// reads the current one without a lock, so a sender never keeps the pid
// of a child its supervisor has replaced.
//
// Reclamation: a reader loads the current pid's address and copies the pid
// at once (two instructions apart). A publish keeps every pid it replaced
// for `grace` (10 s) before freeing it, so a copy only ever reads a pid
// that is kept, unless its reader stalled for 10 s between those two
// instructions. What is kept is bounded by the restarts of 10 s, which a
// supervisor's intensity bounds (a pid also keeps its dead actor's small
// cell).
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

#include "troupe/core/pid.hpp"

namespace troupe {

// Where a supervised child runs now (see above): lock-free reads, one
// publish per start.
class pid_slot {
 public:
  // How long a replaced pid is kept before it is freed (above).
  static constexpr std::chrono::seconds grace{10};

  // The pid last published; null before the first.
  pid current() const {
    // ordering: acquire pairs with publish's release (the pid's contents).
    const pid* now = current_.load(std::memory_order_acquire);
    return now ? *now : pid();
  }
  // Makes `now` the current pid; call it first thing in each start of the
  // child.
  void publish(pid now) {
    const auto at = std::chrono::steady_clock::now();
    std::lock_guard hold(publishing_);
    kept_.push_back({std::make_unique<pid>(std::move(now)), at});
    current_.store(kept_.back().value.get(), std::memory_order_release);
    // Free what was replaced more than `grace` ago (never the current one).
    while (kept_.size() > 1 && at - kept_[1].since > grace) kept_.pop_front();
  }

 private:
  struct kept {
    std::unique_ptr<pid> value;
    std::chrono::steady_clock::time_point since;  // published; replaced when the next one was
  };
  std::atomic<const pid*> current_{nullptr};
  std::mutex publishing_;
  std::deque<kept> kept_;  // oldest first; the last is current
};

}  // namespace troupe
