#include "troupe/async/executor.hpp"

#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe {

thread_pool::thread_pool(unsigned threads) {
  if (threads == 0) threads = 1;
  threads_.reserve(threads);
  for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

thread_pool::~thread_pool() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  ready_.notify_all();
  for (auto& t : threads_) t.join();
}

void thread_pool::post(std::function<void()> work) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(work));
  }
  ready_.notify_one();
}

void thread_pool::run() {
  for (;;) {
    std::function<void()> work;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and drained
      work = std::move(queue_.front());
      queue_.pop_front();
    }
    work();
  }
}

runtime_executor::runtime_executor(runtime& rt, unsigned lanes) : rt_(rt) {
  if (lanes == 0) lanes = rt.worker_count();
  lanes_.reserve(lanes);
  for (unsigned i = 0; i < lanes; ++i)
    lanes_.push_back(rt.spawn([](actor&) -> behavior { return behavior{[](int) {}}; }));
}

runtime_executor::~runtime_executor() {
  for (auto& lane : lanes_) rt_.send_exit(lane, exit_reason::kill());
}

void runtime_executor::post(std::function<void()> work) {
  const std::size_t lane = next_.fetch_add(1, std::memory_order_relaxed) % lanes_.size();
  run_in(lanes_[lane], [work = std::move(work)](actor&) { work(); });
}

}  // namespace troupe
