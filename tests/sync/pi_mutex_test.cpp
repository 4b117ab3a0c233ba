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
#include <iostream>
#include <thread>

#include "troupe/core/trace.hpp"
#include "troupe/core/trace_check.hpp"
#include "troupe/sync/pi_mutex.hpp"
#include "troupe/troupe.hpp"

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
    troupe::tracing::mark("medium running");  // for the traced runs below
    spin_for(300ms);  // the long-running communications task
    medium_done = true;
    troupe::tracing::mark("medium done");
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

namespace {

// The Pathfinder rule over a recorded trace: a priority-30 thread never
// waits for the bus while a priority-10 thread holds it and the medium
// task runs.
troupe::tracing::rule pathfinder_rule() {
  using namespace troupe::tracing;
  auto on_bus = [](const event& e, event_kind kind) { return e.kind == kind && e.what == "bus"; };
  formula high_waits("high waits for the bus", [=](const event& e) { return on_bus(e, event_kind::lock_wait) && e.value >= 30; });
  formula high_takes("high takes the bus", [=](const event& e) { return on_bus(e, event_kind::lock_acquire) && e.value >= 30; });
  formula low_takes("low takes the bus", [=](const event& e) { return on_bus(e, event_kind::lock_acquire) && e.value <= 10; });
  formula low_releases("low releases the bus", [=](const event& e) { return on_bus(e, event_kind::lock_release) && e.value <= 10; });
  formula medium_runs("medium runs", [](const event& e) { return e.kind == event_kind::mark && e.what == "medium running"; });
  formula medium_ends("medium ends", [](const event& e) { return e.kind == event_kind::mark && e.what == "medium done"; });
  return rule("pathfinder: high never waits on low's bus while medium runs",
              !(since(!high_takes, high_waits) && since(!low_releases, low_takes) && since(!medium_ends, medium_runs)));
}

// Runs the scenario with `Mutex` while a runtime records; the rule's violations.
template <class Mutex>
std::vector<troupe::tracing::violation> traced_pathfinder(Mutex& bus, std::string& setup_error) {
  troupe::runtime rt(troupe::config{.workers = 1});
  troupe::tracing::start(rt);
  outcome out = pathfinder(bus);
  troupe::tracing::stop(rt);
  setup_error = out.setup_error;
  return troupe::tracing::check(troupe::tracing::snapshot(rt), {pathfinder_rule()});
}

}  // namespace

TEST(PiMutex, ThePathfinderRuleCatchesTheInversionWithAPlainMutexNotWithInheritance) {
  if (std::string why = realtime_refusal(); !why.empty())
    GTEST_SKIP() << "real-time scheduling is not permitted here (" << why
                 << "): the Pathfinder scenario cannot be reproduced; skipped, not passed";
  std::string last;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    std::string error;
    troupe::named_mutex plain("bus");  // no inheritance, but traced like pi_mutex
    auto without = traced_pathfinder(plain, error);
    ASSERT_TRUE(error.empty()) << error;
    troupe::pi_mutex inheriting("bus");
    auto with = traced_pathfinder(inheriting, error);
    ASSERT_TRUE(error.empty()) << error;
    if (!without.empty() && with.empty()) {
      // The report names the rule and shows the witnesses: high's wait and
      // medium's start, with the holder's thread.
      const std::string report = troupe::tracing::to_string(without.front());
      std::cout << report << "\n";  // the report, as a user sees it
      EXPECT_NE(report.find("pathfinder"), std::string::npos) << report;
      EXPECT_NE(report.find("medium running"), std::string::npos) << report;
      EXPECT_NE(report.find("lock_wait bus (priority 30) held by thread"), std::string::npos) << report;
      return;
    }
    last = "attempt " + std::to_string(attempt) + ": plain mutex " + std::to_string(without.size()) +
           " violation(s), pi_mutex " + std::to_string(with.size()) +
           (with.empty() ? "" : ": " + troupe::tracing::to_string(with.front()));
  }
  ADD_FAILURE() << "the rule did not both catch the plain mutex and pass pi_mutex in 3 attempts; " << last;
}
