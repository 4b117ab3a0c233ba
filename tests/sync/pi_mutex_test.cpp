// pi_mutex: the Mars Pathfinder priority inversion, reproduced.
//
// Three SCHED_FIFO threads pinned to one core share a mutex: low takes it
// and works; high wakes and blocks on it; medium then hogs the core. With a
// plain mutex medium preempts low, so high waits for medium to finish (the
// inversion that reset Pathfinder). With priority inheritance low runs at
// high's priority, releases the mutex, and high gets it while medium is
// still running. The test checks that order of events, not a time.
#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "troupe/sync/pi_mutex.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

std::string set_fifo(int priority) {
  sched_param p{};
  p.sched_priority = priority;
  if (int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p); rc != 0)
    return std::string("pthread_setschedparam(SCHED_FIFO): ") + std::strerror(rc);
  return {};
}

std::string pin_to_cpu0() {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof one, &one); rc != 0)
    return std::string("pthread_setaffinity_np: ") + std::strerror(rc);
  return {};
}

// Makes the calling thread SCHED_FIFO at `priority` on CPU 0; the error
// text, or empty on success. Priority first, then the move: arriving on
// CPU 0 as an ordinary thread it would wait behind the real-time ones.
std::string go_realtime(int priority) {
  std::string why = set_fifo(priority);
  return why.empty() ? pin_to_cpu0() : why;
}

void spin_for(std::chrono::steady_clock::duration d) {
  const auto until = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < until) {
  }
}

// Whether real-time scheduling is allowed here (a throwaway thread tries).
std::string realtime_refusal() {
  std::string why;
  std::thread probe([&] { why = go_realtime(1); });
  probe.join();
  return why;
}

struct outcome {
  bool high_got_it_before_medium_finished = false;
  std::string setup_error;
};

template <class Mutex>
outcome pathfinder(Mutex& bus) {
  outcome out;
  std::atomic<bool> low_holds{false}, high_waiting{false}, medium_running{false},
      medium_done{false};
  std::atomic<bool> got_before_medium{false};
  std::string errors[3];  // read only after the joins
  std::atomic<bool> gave_up{false};
  std::thread low([&] {
    errors[0] = go_realtime(10);
    if (!errors[0].empty()) {
      gave_up = true;
      return;
    }
    bus.lock();
    low_holds = true;
    while (!high_waiting.load()) std::this_thread::yield();
    // The bus work starts once medium is about to take the core (else, on
    // a loaded machine, low could finish before medium even started and
    // the test would show nothing).
    while (!medium_running.load() && !gave_up.load()) std::this_thread::yield();
    spin_for(20ms);
    bus.unlock();
  });
  while (!low_holds.load() && !gave_up.load()) std::this_thread::yield();
  std::thread high([&] {
    errors[1] = go_realtime(30);
    if (!errors[1].empty()) {
      gave_up = true;
      high_waiting = true;  // lets low go on
      return;
    }
    high_waiting = true;
    bus.lock();
    got_before_medium = !medium_done.load();
    bus.unlock();
  });
  while (!high_waiting.load() && !gave_up.load()) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);  // high is blocked on the bus by now
  std::thread medium([&] {
    errors[2] = set_fifo(20);
    // Announced before the move to CPU 0, where it preempts low at once
    // unless low is boosted (low must not be waiting on CPU 0 for a thread
    // that a boosted low would keep off it).
    medium_running = true;
    if (errors[2].empty()) errors[2] = pin_to_cpu0();
    if (!errors[2].empty()) {
      gave_up = true;
      return;
    }
    spin_for(300ms);  // the long-running communications task
    medium_done = true;
  });
  low.join();
  high.join();
  medium.join();
  for (auto& e : errors)
    if (!e.empty()) out.setup_error = e;
  out.high_got_it_before_medium_finished = got_before_medium.load();
  return out;
}

}  // namespace

TEST(PiMutex, LocksLikeAMutex) {
  pi_mutex m("plain use");
  {
    std::lock_guard hold_it(m);
    EXPECT_FALSE(m.try_lock());
  }
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(PiMutex, PathfinderInversionWithAPlainMutexNotWithInheritance) {
  if (std::string why = realtime_refusal(); !why.empty())
    GTEST_SKIP() << "real-time scheduling is not permitted here (" << why
                 << "): the Pathfinder scenario cannot be reproduced; skipped, not passed";
  // One attempt must show both: the inversion with a plain mutex and none
  // with inheritance. A loaded machine can delay a thread's start enough to
  // spoil the set-up (low finishing before medium arrives), so up to three
  // attempts; a pi_mutex that did not inherit would fail all three.
  std::string last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::mutex plain;
    outcome without = pathfinder(plain);
    ASSERT_TRUE(without.setup_error.empty()) << without.setup_error;
    pi_mutex inheriting("bus");
    outcome with = pathfinder(inheriting);
    ASSERT_TRUE(with.setup_error.empty()) << with.setup_error;
    if (!without.high_got_it_before_medium_finished && with.high_got_it_before_medium_finished)
      return;  // reproduced, and fixed by inheritance
    last = std::string("attempt ") + std::to_string(attempt) + ": plain mutex " +
           (without.high_got_it_before_medium_finished ? "showed no inversion" : "showed the inversion") +
           "; pi_mutex " +
           (with.high_got_it_before_medium_finished ? "let high through in time"
                                                    : "left high waiting for medium");
  }
  ADD_FAILURE() << "the Pathfinder scenario was not both reproduced and fixed in 3 attempts; " << last;
}
