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

using troupe::stress::scaled;

struct site {
  explicit site(const std::string& name)
      : rt(troupe::config{.workers = 2, .warn_unhandled = false}),
        reactor(rt),
        node(rt, reactor, {.name = name, .cookie = "stress"}) {}
  troupe::runtime rt;
  io::reactor reactor;
  net::node node;
};

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
