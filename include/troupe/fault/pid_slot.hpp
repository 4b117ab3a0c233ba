// pid_slot: where a supervised child runs now. Each start of the child
// publishes its pid (call publish() first thing in its setup); anyone
// reads the current one without a lock, so a sender never keeps the pid
// of a child its supervisor has replaced.
//
// A start publishes a new pid object; those it replaces stay until the
// slot goes (a few: a supervisor bounds restarts), so a reader copying the
// pointer it loaded never copies a released pid.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

#include "troupe/core/pid.hpp"

namespace troupe {

class pid_slot {
 public:
  // The pid last published; null before the first.
  pid current() const {
    // ordering: acquire pairs with publish's release (the pid's contents).
    const pid* now = current_.load(std::memory_order_acquire);
    return now ? *now : pid();
  }
  void publish(pid now) {
    std::lock_guard hold(publishing_);
    kept_.push_back(std::make_unique<pid>(std::move(now)));
    current_.store(kept_.back().get(), std::memory_order_release);
  }

 private:
  std::atomic<const pid*> current_{nullptr};
  std::mutex publishing_;
  std::vector<std::unique_ptr<pid>> kept_;  // every pid published
};

}  // namespace troupe
