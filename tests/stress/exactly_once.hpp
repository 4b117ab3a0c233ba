// Helpers shared by the channel stress tests: a start line, a failure log
// that does not flood, a per-item tally (lost / duplicated), a watchdog.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "stress_scale.hpp"

namespace stress_helpers {

// A one-shot start line: every racer spins until all have arrived, so the
// races start together.
class start_line {
 public:
  explicit start_line(int parties) : waiting_(parties) {}
  void arrive_and_wait() {
    waiting_.fetch_sub(1);
    while (waiting_.load() > 0) std::this_thread::yield();
  }

 private:
  std::atomic<int> waiting_;
};

// Collects failures from any thread without flooding the log: the first
// few are reported.
class failure_log {
 public:
  template <class... Parts>
  void check(bool ok, const Parts&... parts) {
    if (ok) return;
    if (count_.fetch_add(1) < 10) {
      ::testing::Message text;
      (text << ... << parts);
      ADD_FAILURE() << text.GetString();
    }
  }
  long count() const { return count_.load(); }

 private:
  std::atomic<long> count_{0};
};

// What arrived of the items 1..n: how many, their sum, and how often each.
class tally {
 public:
  explicit tally(long n) : seen_(static_cast<std::size_t>(n) + 1) {}
  void add(long v) {
    count_.fetch_add(1);
    sum_.fetch_add(v);
    if (v >= 1 && v < static_cast<long>(seen_.size()))
      seen_[static_cast<std::size_t>(v)].fetch_add(1);
    else
      out_of_range_.fetch_add(1);
  }
  long count() const { return count_.load(); }

  // Every item 1..n arrived exactly once.
  void expect_exactly_once(const char* what) const {
    const long n = static_cast<long>(seen_.size()) - 1;
    EXPECT_EQ(count_.load(), n) << what << ": items received";
    EXPECT_EQ(sum_.load(), static_cast<long long>(n) * (n + 1) / 2) << what << ": sum of the items received";
    EXPECT_EQ(out_of_range_.load(), 0) << what << ": items that were never sent";
    long lost = 0;
    long duplicated = 0;
    long first_bad = -1;
    for (long v = 1; v <= n; ++v) {
      const int k = seen_[static_cast<std::size_t>(v)].load();
      if (k == 0) ++lost;
      if (k > 1) ++duplicated;
      if (k != 1 && first_bad < 0) first_bad = v;
    }
    EXPECT_EQ(lost, 0) << what << ": items lost (first bad item " << first_bad << ")";
    EXPECT_EQ(duplicated, 0) << what << ": items delivered twice (first bad item " << first_bad << ")";
  }

 private:
  std::vector<std::atomic<int>> seen_;
  std::atomic<long> count_{0};
  std::atomic<long long> sum_{0};
  std::atomic<long> out_of_range_{0};
};

// Aborts the test binary with a report when the test is still running after
// a generous limit: a deadlock fails the test instead of hanging it.
// Declare it after what `progress` reads, and end the test's threads before
// it goes.
class watchdog {
 public:
  watchdog(std::string what, std::function<std::string()> progress)
      : what_(std::move(what)),
        progress_(std::move(progress)),
        limit_(static_cast<long>(180 * std::max(1.0, troupe::stress::stress_scale()))),
        thread_([this] { watch(); }) {}
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, limit_, [this] { return done_; })) return;
    const std::string state = progress_ ? progress_() : std::string();
    std::fprintf(stderr, "channel_stress watchdog: '%s' still running after %lld s (deadlock?); %s\n",
                 what_.c_str(), static_cast<long long>(limit_.count()), state.c_str());
    std::fflush(stderr);
    std::abort();
  }

  std::string what_;
  std::function<std::string()> progress_;
  std::chrono::seconds limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the rest is built
};

inline std::string progress_text(long sent, long received, long n) {
  return "sent " + std::to_string(sent) + ", received " + std::to_string(received) + " of " +
         std::to_string(n);
}

inline std::size_t at(long i) { return static_cast<std::size_t>(i); }

}  // namespace stress_helpers
