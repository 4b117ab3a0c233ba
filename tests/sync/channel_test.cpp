// Channels and select: every operation and error, from threads and from
// coroutine actors.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/sync/channel.hpp"
#include "troupe/sync/select.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

TEST(Channel, BufferedKeepsOrderAndReportsFullAndEmpty) {
  channel<int> c(2);
  EXPECT_EQ(c.capacity(), 2u);
  EXPECT_EQ(c.try_send(1), chan_status::ok);
  EXPECT_EQ(c.try_send(2), chan_status::ok);
  EXPECT_EQ(c.try_send(3), chan_status::would_block);  // full says so
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(*c.recv(), 1);
  EXPECT_EQ(c.try_recv().value, 2);
  auto none = c.try_recv();
  EXPECT_EQ(none.status, chan_status::would_block);
  EXPECT_FALSE(none.value);
}

TEST(Channel, TheRingWrapsAroundInOrderAndFreesWhatIsLeft) {
  auto alive = std::make_shared<int>(0);
  {
    channel<std::shared_ptr<int>> c(3);
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 10; ++round) {  // the head passes the end 6 times
      while (c.size() < 3) ASSERT_EQ(c.try_send(std::make_shared<int>(next_in++)), chan_status::ok);
      for (int k = 0; k < 2; ++k) EXPECT_EQ(**c.recv(), next_out++);
    }
    ASSERT_TRUE(c.send(alive));
    EXPECT_EQ(alive.use_count(), 2);
  }  // the last values sit across the ring's end
  EXPECT_EQ(alive.use_count(), 1);
}

TEST(Channel, ACapacityOf2To31OrMoreIsRefused) {
  EXPECT_THROW(channel<char>(std::size_t{1} << 31), std::invalid_argument);
  EXPECT_EQ(channel<char>(5).capacity(), 5u);
}

TEST(Channel, UnbufferedSendWaitsForAReceiver) {
  channel<std::string> c;
  EXPECT_EQ(c.try_send(std::string("nobody")), chan_status::would_block);
  std::atomic<bool> sent{false};
  std::thread sender([&] {
    EXPECT_TRUE(c.send("hello"));
    sent = true;
  });
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(sent.load());  // no receiver yet
  EXPECT_EQ(*c.recv(), "hello");
  sender.join();
  EXPECT_TRUE(sent.load());
}

TEST(Channel, CloseDrainsThenReportsClosed) {
  channel<int> c(4);
  ASSERT_TRUE(c.send(1));
  ASSERT_TRUE(c.send(2));
  c.close();
  c.close();  // idempotent
  EXPECT_TRUE(c.is_closed());
  auto refused = c.send(3);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), errc::closed);
  EXPECT_EQ(c.try_send(4), chan_status::closed);
  EXPECT_EQ(c.recv(), 1);
  EXPECT_EQ(c.recv(), 2);
  EXPECT_EQ(c.recv(), std::nullopt);
  EXPECT_EQ(c.try_recv().status, chan_status::closed);
}

TEST(Channel, CloseWakesBlockedReceiversAndSenders) {
  channel<int> c;
  std::optional<int> got = 5;
  result<void> sent;
  std::thread receiver([&] { got = c.recv(); });
  channel<int> full(1);
  ASSERT_TRUE(full.send(0));
  std::thread sender([&] { sent = full.send(1); });
  std::this_thread::sleep_for(20ms);
  c.close();
  full.close();
  receiver.join();
  sender.join();
  EXPECT_EQ(got, std::nullopt);
  ASSERT_FALSE(sent);
  EXPECT_EQ(sent.error().code(), errc::closed);
  EXPECT_EQ(full.recv(), 0);  // what was buffered is still there
}

TEST(Channel, MoveOnlyValuesAndBlockedSenderRefillsTheBuffer) {
  channel<std::unique_ptr<int>> c(1);
  ASSERT_TRUE(c.send(std::make_unique<int>(1)));
  std::thread sender([&] { ASSERT_TRUE(c.send(std::make_unique<int>(2))); });
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(**c.recv(), 1);
  EXPECT_EQ(**c.recv(), 2);  // the blocked sender's value took the freed slot
  sender.join();
}

TEST(Channel, BlockingOnAnActorThreadIsAClearError) {
  runtime rt(config{.workers = 1});
  channel<int> c(1);
  scoped_actor me(rt);
  pid a = rt.spawn([c](actor&) mutable -> behavior {
    return {[c](int) mutable -> std::string {
      EXPECT_EQ(c.try_send(1), chan_status::ok);  // non-blocking calls are fine
      try {
        (void)c.recv();
        (void)c.recv();
      } catch (const std::logic_error& e) {
        return e.what();
      }
      return "no error";
    }};
  });
  auto r = me.request<std::string>(a, 0, 2s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("async_recv"), std::string::npos) << *r;
}

TEST(Select, TakesAReadyCaseAndRunsItsHandler) {
  channel<int> a(1), b(1);
  ASSERT_TRUE(b.send(7));
  int got = 0;
  int which = select(on_recv(a, [&](std::optional<int> v) { got = v.value_or(-1); }),
                     on_recv(b, [&](std::optional<int> v) { got = v.value_or(-1); }));
  EXPECT_EQ(which, 1);
  EXPECT_EQ(got, 7);
}

TEST(Select, DefaultWhenNothingIsReady) {
  channel<int> a;
  bool defaulted = false;
  int which = select(on_recv(a, [](std::optional<int>) {}), on_default([&] { defaulted = true; }));
  EXPECT_EQ(which, 1);
  EXPECT_TRUE(defaulted);
}

TEST(Select, TimeoutWhenNothingArrives) {
  channel<int> a;
  bool timed_out = false;
  auto start = std::chrono::steady_clock::now();
  int which = select(on_recv(a, [](std::optional<int>) {}), on_timeout(30ms, [&] { timed_out = true; }));
  EXPECT_EQ(which, 1);
  EXPECT_TRUE(timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  // The timed-out receive left nothing behind: a later send is not taken by it.
  EXPECT_EQ(a.try_send(1), chan_status::would_block);
}

TEST(Select, OnlyATimeoutWaitsItOut) {
  auto start = std::chrono::steady_clock::now();
  bool fired = false;
  EXPECT_EQ(select(on_timeout(20ms, [&] { fired = true; })), 0);
  EXPECT_TRUE(fired);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(Select, SendCaseAndExactlyOneCaseHappens) {
  channel<int> out;  // unbuffered
  channel<int> in;
  std::thread receiver([&] { EXPECT_EQ(out.recv(), 42); });
  bool sent = false;
  int which = select(on_recv(in, [](std::optional<int>) { FAIL() << "nothing was sent on in"; }),
                     on_send(out, 42, [&](bool ok) { sent = ok; }));
  receiver.join();
  EXPECT_EQ(which, 1);
  EXPECT_TRUE(sent);
  EXPECT_EQ(in.try_send(1), chan_status::would_block);  // the recv case is gone
}

TEST(Select, CloseWhileASelectWaits) {
  channel<int> a, b;
  std::optional<int> seen = 1;
  int which = -1;
  std::thread waiter([&] {
    which = select(on_recv(a, [&](std::optional<int> v) { seen = v; }),
                   on_recv(b, [&](std::optional<int> v) { seen = v; }));
  });
  std::this_thread::sleep_for(20ms);
  b.close();
  waiter.join();
  EXPECT_EQ(which, 1);
  EXPECT_EQ(seen, std::nullopt);  // closed
  bool refused = true;
  EXPECT_EQ(select(on_send(b, 5, [&](bool ok) { refused = !ok; })), 0);
  EXPECT_TRUE(refused);
}

TEST(Select, ChoiceAmongReadyCasesIsFair) {
  channel<int> a(1000), b(1000);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(a.try_send(int(i)), chan_status::ok);
    ASSERT_EQ(b.try_send(int(i)), chan_status::ok);
  }
  int from_a = 0;
  for (int i = 0; i < 1000; ++i)
    if (select(on_recv(a, [](std::optional<int>) {}), on_recv(b, [](std::optional<int>) {})) == 0)
      ++from_a;
  // Random choice: about half each (the bound is far outside chance).
  EXPECT_GT(from_a, 350);
  EXPECT_LT(from_a, 650);
}

// ---- coroutines ----------------------------------------------------------------

TEST(ChannelCoroutine, CoroutineActorsPingPongWithoutBlockingWorkers) {
  runtime rt(config{.workers = 1});  // one worker: a blocked one would deadlock
  channel<int> ping, pong;
  std::atomic<int> last{0};
  rt.spawn([ping, pong](actor&) mutable -> task {
    for (int i = 0; i < 1000; ++i) {
      auto sent = co_await ping.async_send(i);
      EXPECT_TRUE(sent);
      auto back = co_await pong.async_recv();
      EXPECT_EQ(back, i + 1);
    }
    ping.close();
  });
  rt.spawn([ping, pong, &last](actor& self) mutable -> task {
    while (auto v = co_await ping.async_recv()) {
      EXPECT_TRUE(is_current_actor(self.pid()));  // resumed in its own actor
      co_await pong.async_send(*v + 1);
      last = *v + 1;
    }
  });
  for (int i = 0; i < 400 && last.load() < 1000; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(last.load(), 1000);
}

TEST(ChannelCoroutine, ThreadsAndCoroutinesShareAChannel) {
  runtime rt(config{.workers = 2});
  channel<int> c(4);
  std::atomic<long> sum{0};
  std::atomic<bool> done{false};
  rt.spawn([c, &sum, &done](actor&) mutable -> task {
    while (auto v = co_await c.async_recv()) sum += *v;
    done = true;
  });
  for (int i = 1; i <= 1000; ++i) ASSERT_TRUE(c.send(i));
  c.close();
  for (int i = 0; i < 400 && !done.load(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(sum.load(), 1000L * 1001 / 2);
}

TEST(ChannelCoroutine, AsyncSelectWithTimeoutAndDefault) {
  runtime rt(config{.workers = 1});
  channel<int> quiet, busy(1);
  ASSERT_TRUE(busy.send(9));
  std::atomic<int> stage{0};
  std::vector<std::string> log;
  rt.spawn([&, quiet, busy](actor&) mutable -> task {
    int which = co_await async_select(on_recv(quiet, [&](std::optional<int>) { log.push_back("quiet"); }),
                                      on_timeout(20ms, [&] { log.push_back("timeout"); }));
    EXPECT_EQ(which, 1);
    which = co_await async_select(on_recv(quiet, [&](std::optional<int>) { log.push_back("quiet"); }),
                                  on_default([&] { log.push_back("default"); }));
    EXPECT_EQ(which, 1);
    which = co_await async_select(on_recv(quiet, [&](std::optional<int>) { log.push_back("quiet"); }),
                                  on_recv(busy, [&](std::optional<int> v) {
                                    log.push_back("busy " + std::to_string(*v));
                                  }));
    EXPECT_EQ(which, 1);
    stage = 1;
  });
  for (int i = 0; i < 400 && stage.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(log, (std::vector<std::string>{"timeout", "default", "busy 9"}));
}

TEST(ChannelCoroutine, KilledWhileWaitingLeavesTheChannelClean) {
  runtime rt(config{.workers = 1});
  channel<int> c;
  std::atomic<bool> waiting{false};
  pid waiter = rt.spawn([c, &waiting](actor&) mutable -> task {
    waiting = true;
    auto v = co_await c.async_recv();
    ADD_FAILURE() << "resumed after being killed";
    (void)v;
  });
  for (int i = 0; i < 400 && !waiting.load(); ++i) std::this_thread::sleep_for(5ms);
  std::this_thread::sleep_for(10ms);
  rt.send_exit(waiter, exit_reason::kill());
  for (int i = 0; i < 400 && rt.live_actors() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(c.try_send(1), chan_status::would_block);  // no stale receiver left
}
