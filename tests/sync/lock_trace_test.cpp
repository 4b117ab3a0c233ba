// Lock events: troupe's mutexes report waits (with the holder), acquires
// and releases to the runtime that records, inside actors and outside them;
// the Chrome export shows them as slices; and a runtime that goes away
// while threads lock stops being recorded into, safely.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "troupe/core/trace.hpp"
#include "troupe/sync/channel.hpp"
#include "troupe/sync/monitor.hpp"
#include "troupe/sync/pi_mutex.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe;

TEST(LockTrace, AContendedLockRecordsTheWaitWithItsHolderThenTheHold) {
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  named_mutex m("ledger");
  std::atomic<bool> held{false};
  std::thread holder([&] {
    std::lock_guard hold(m);
    held = true;
    std::this_thread::sleep_for(50ms);
  });
  while (!held) std::this_thread::yield();
  { std::lock_guard hold(m); }  // waits for the holder
  holder.join();
  tracing::stop(rt);
  auto events = tracing::snapshot(rt);
  std::vector<tracing::event> ledger;
  for (auto& e : events)
    if (e.what == "ledger") ledger.push_back(e);
  ASSERT_EQ(ledger.size(), 5u);  // holder acquires, we wait, holder releases, we acquire, we release
  EXPECT_EQ(ledger[0].kind, tracing::event_kind::lock_acquire);
  EXPECT_EQ(ledger[1].kind, tracing::event_kind::lock_wait);
  EXPECT_NE(ledger[1].other, 0u) << "the wait names the holder's thread";
  EXPECT_EQ(ledger[2].kind, tracing::event_kind::lock_release);
  EXPECT_EQ(ledger[2].thread, ledger[0].thread);
  EXPECT_EQ(ledger[3].kind, tracing::event_kind::lock_acquire);
  EXPECT_EQ(ledger[3].thread, ledger[1].thread);
  EXPECT_EQ(ledger[4].kind, tracing::event_kind::lock_release);

  std::ostringstream json;
  tracing::write_chrome_json(events, json);
  EXPECT_NE(json.str().find("\"name\":\"wait ledger\""), std::string::npos);
  EXPECT_NE(json.str().find("\"name\":\"hold ledger\""), std::string::npos);
}

TEST(LockTrace, InsideAnActorTheActorsRuntimeRecordsIt) {
  runtime quiet(config{.workers = 1});
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  tracing::start(quiet);  // the outside recorder now, but the actor is rt's
  tracing::stop(quiet);
  named_mutex m("cache");
  pid user = rt.spawn([&m](actor&) -> behavior {
    return {[&m](int n) {
      std::lock_guard hold(m);
      return n;
    }};
  });
  scoped_actor me(rt);
  ASSERT_TRUE(me.request<int>(user, 1, 5s));
  tracing::stop(rt);
  int acquires = 0;
  for (auto& e : tracing::snapshot(rt))
    if (e.what == "cache" && e.kind == tracing::event_kind::lock_acquire) {
      ++acquires;
      EXPECT_EQ(e.actor, user.id());
    }
  EXPECT_EQ(acquires, 1);
  for (auto& e : tracing::snapshot(quiet)) EXPECT_NE(e.what, "cache");
}

// Threads keep locking outside actors while runtimes that record are made
// and destroyed (each becomes the outside recorder in turn): no event goes
// into a runtime that is gone (ASan, TSan).
TEST(LockTrace, RuntimesComeAndGoWhileThreadsLock) {
  named_mutex m("busy");
  std::atomic<bool> stop{false};
  std::vector<std::thread> lockers;
  for (int i = 0; i < 3; ++i)
    lockers.emplace_back([&] {
      while (!stop.load()) {
        std::lock_guard hold(m);
      }
    });
  for (int round = 0; round < 20; ++round) {
    runtime rt(config{.workers = 1});
    tracing::start(rt, {.ring_events = 1024});
    std::this_thread::sleep_for(2ms);
    if (round % 2 == 0) tracing::stop(rt);
  }
  stop = true;
  for (auto& t : lockers) t.join();
}

// A monitor<T>'s lock is traced as troupe's mutexes are: a contended entry
// records the wait with its holder, then the hold.
TEST(LockTrace, AMonitorsLockIsTracedLikeAMutex) {
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  monitor<int> counter("counter", 0);
  std::atomic<bool> held{false};
  auto waited = [&] {
    for (auto& e : tracing::snapshot(rt))
      if (e.kind == tracing::event_kind::lock_wait && e.what == "counter") return true;
    return false;
  };
  std::thread holder([&] {
    auto c = counter.lock();
    held = true;
    // Held until the other thread is seen waiting (however loaded the machine).
    for (int i = 0; i < 10'000 && !waited(); ++i) std::this_thread::sleep_for(1ms);
    ++*c;
  });
  while (!held) std::this_thread::yield();
  {
    auto c = counter.lock();  // waits for the holder
    ++*c;
  }
  holder.join();
  int waits = 0, acquires = 0, releases = 0;
  for (auto& e : tracing::snapshot(rt)) {
    if (e.what != "counter") continue;
    waits += e.kind == tracing::event_kind::lock_wait;
    acquires += e.kind == tracing::event_kind::lock_acquire;
    releases += e.kind == tracing::event_kind::lock_release;
    if (e.kind == tracing::event_kind::lock_wait) EXPECT_NE(e.other, 0u);  // the holder's thread
  }
  EXPECT_EQ(waits, 1);
  EXPECT_EQ(acquires, 2);
  EXPECT_EQ(releases, 2);
}

// Channel steps are recorded with the channel (its address) and what it
// buffers after each.
TEST(LockTrace, ChannelSendsAndReceivesAreRecorded) {
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  channel<int> ch(4);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ch.send(i));
  for (int i = 0; i < 3; ++i) ASSERT_EQ(ch.recv(), i);
  std::vector<std::int64_t> sends, recvs;
  for (auto& e : tracing::snapshot(rt)) {
    if (e.kind == tracing::event_kind::channel_send) sends.push_back(e.value);
    if (e.kind == tracing::event_kind::channel_recv) recvs.push_back(e.value);
  }
  EXPECT_EQ(sends, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(recvs, (std::vector<std::int64_t>{2, 1, 0}));
}

}  // namespace
