// Threads meet in the net layer: many senders on several workers write
// through proxies into one connection while requests, pid round trips and
// monitors cross both ways. Checked by count and sum; run under TSan.
#include <gtest/gtest.h>

#include "net_testing.hpp"

#include <atomic>
#include <cstdlib>
#include <thread>
#include <vector>

#include "../stress/stress_scale.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
using troupe::pid;
namespace net = troupe::net;
namespace io = troupe::io;
using troupe::net::testing::eventually;
using troupe::net::testing::site;
using troupe::net::testing::directory_via_b;

using troupe::stress::scaled;

TEST(NodeStress, ManySendersRequestsAndPidsAcrossTwoNodes) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  const int senders = 8, requesters = 4;
  const int per_sender = static_cast<int>(scaled(5000)), per_requester = static_cast<int>(scaled(500));
  std::atomic<std::int64_t> count{0}, sum{0};
  pid sink = b.rt.spawn([&](actor&) -> behavior {
    return {
        [&](std::int64_t v) {
          count.fetch_add(1, std::memory_order_relaxed);
          sum.fetch_add(v, std::memory_order_relaxed);
        },
        [](const std::string& s) { return s + "!"; },
        [](const pid& p) { return p; },  // a pid goes there and back
    };
  });
  b.rt.register_name("sink", sink);
  a.node.connect(b.node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/sink").get();

  for (int s = 0; s < senders; ++s)
    a.rt.spawn([remote, s, per_sender](actor& self) {
      for (int i = 1; i <= per_sender; ++i) self.send(remote, static_cast<std::int64_t>(s * 1000000 + i));
    });
  std::atomic<int> good_replies{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < requesters; ++r)
    threads.emplace_back([&, r] {
      troupe::scoped_actor me(a.rt);
      for (int i = 0; i < per_requester; ++i) {
        auto text = std::to_string(r) + ":" + std::to_string(i);
        auto reply = me.request<std::string>(remote, text, 30s);
        auto back = me.request<pid>(remote, me.pid(), 30s);
        if (reply && *reply == text + "!" && back && *back == me.pid()) ++good_replies;
      }
    });
  for (auto& t : threads) t.join();
  std::int64_t expected_sum = 0;
  for (int s = 0; s < senders; ++s)
    for (int i = 1; i <= per_sender; ++i) expected_sum += s * 1000000 + i;
  ASSERT_TRUE(eventually([&] { return count.load() == std::int64_t{senders} * per_sender; })) << count.load();
  EXPECT_EQ(sum.load(), expected_sum);
  EXPECT_EQ(good_replies.load(), requesters * per_requester);
  EXPECT_EQ(a.node.stats().malformed_frames + b.node.stats().malformed_frames, 0u);
}

TEST(NodeStress, ConnectionsComeAndGoWhileMessagesFly) {
  site a("a@127.0.0.1");
  std::atomic<std::int64_t> got{0};
  for (long round = 0; round < scaled(5, 2); ++round) {
    site b("b@127.0.0.1");
    pid sink = b.rt.spawn([&](actor&) -> behavior { return {[&](std::int64_t) { ++got; }}; });
    b.rt.register_name("sink", sink);
    a.node.connect(b.node.address()).get();
    pid remote = a.node.whereis("troupe://b@127.0.0.1/sink").get();
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 3; ++w)
      writers.emplace_back([&] {
        while (!stop) a.rt.send(remote, std::int64_t{1});  // ok, or dead letters once b is gone
      });
    std::this_thread::sleep_for(20ms);
    b.node.disconnect("a@127.0.0.1");
    std::this_thread::sleep_for(10ms);
    stop = true;
    for (auto& t : writers) t.join();
    EXPECT_TRUE(eventually([&] { return a.node.connected_nodes().empty(); }));
  }
  EXPECT_GT(got.load(), 0);
}

}  // namespace

// Connections on first use, raced: several threads send to a pid of a node
// that is not connected while the connection is made; the messages parked
// before it is up and those sent while they go out keep each sender's
// order, and none is lost. Over rounds of parting and reconnecting.
TEST(NodeStress, SendersRaceAConnectionMadeOnFirstUse) {
  site a("a@127.0.0.1"), b("b@127.0.0.1"), c("c@127.0.0.1");
  const int threads = 4, per_thread = static_cast<int>(scaled(2000)), rounds = 5;
  std::atomic<std::int64_t> count{0}, out_of_order{0};
  std::vector<std::int64_t> next(threads, 0);  // the sink's own: one actor
  c.rt.register_name("sink", c.rt.spawn([&](actor&) -> behavior {
    return {[&](std::int64_t v) {
      auto sender = static_cast<std::size_t>(v / 1000000);
      std::int64_t seq = v % 1000000;
      if (seq != next[sender]) out_of_order.fetch_add(1);
      next[sender] = seq + 1;
      count.fetch_add(1);
    }};
  }));
  auto found = directory_via_b(a, b, c, "sink");
  ASSERT_TRUE(found);
  pid directory = *found;
  for (int round = 0; round < rounds; ++round) {
    a.node.disconnect("c@127.0.0.1");
    ASSERT_TRUE(eventually([&] { return a.node.connected_nodes().size() == 1 && c.node.connected_nodes().size() == 1; }));
    troupe::scoped_actor me(a.rt);
    auto sink = me.request<pid>(directory, std::string("sink"), 5s);  // a fresh pid: no connection behind it
    ASSERT_TRUE(sink) << sink.error().message();
    std::vector<std::thread> senders;
    for (int t = 0; t < threads; ++t)
      senders.emplace_back([&, t, target = *sink] {
        for (int i = 0; i < per_thread; ++i) {
          std::int64_t v = static_cast<std::int64_t>(t) * 1000000 + (static_cast<std::int64_t>(round) * per_thread + i);
          if (a.rt.send(target, v) != troupe::send_status::ok) out_of_order.fetch_add(1000000);
        }
      });
    for (auto& s : senders) s.join();
    const std::int64_t expected = static_cast<std::int64_t>(threads) * per_thread * (round + 1);
    ASSERT_TRUE(eventually([&] { return count.load() == expected; }, 60s)) << count.load() << " of " << expected;
  }
  EXPECT_EQ(out_of_order.load(), 0);
}
