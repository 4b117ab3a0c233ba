// Where threads meet: stats, process walks and scrapes of the admin server
// while actors are spawned, message each other, crash and are killed on
// every worker. Run under ThreadSanitizer by scripts/test.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "../io/raw_socket.hpp"
#include "troupe/core/runtime_stats.hpp"
#include "troupe/io.hpp"
#include "troupe/observer/admin.hpp"
#include "troupe/observer/metrics.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::test_support::eventually;

namespace {
struct hop {
  int left;
};
struct boom {};
}  // namespace

TEST(observer_stress, reading_while_actors_come_and_go) {
  config cfg{.workers = 2};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  io::reactor io(rt);
  observer::admin_options opts;
  opts.token = "t";
  auto server = observer::serve(rt, io, opts);
  const auto port = server.address().port;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> hops{0};
  std::atomic<std::uint64_t> rounds{0};

  // Churn: short-lived actors that pass a message along a chain, crash
  // or get killed.
  std::thread churn([&] {
    std::uint64_t round = 0;
    while (!stop) {
      std::vector<pid> chain;
      for (int i = 0; i < 20; ++i)
        chain.push_back(rt.spawn([&hops, i](actor& self) -> behavior {
          return {[&hops, &self, i](hop h) {
                    ++hops;
                    if (h.left == 0 || i % 5 == 0) self.quit();
                  },
                  [](boom) { throw std::runtime_error("boom"); }};
        }));
      for (auto& a : chain) rt.send(a, hop{round % 3 == 0 ? 0 : 1});
      rt.send(chain[1], boom{});
      rt.send_exit(chain[2], exit_reason::kill());
      ++round;
      rounds = round;
      std::this_thread::sleep_for(1ms);
    }
  });
  std::thread reader([&] {
    process_info p;
    runtime_stats last;
    while (!stop) {
      auto s = rt.stats();
      // Counters never go back, however actors come and go meanwhile, and
      // no more end than were spawned.
      EXPECT_GE(s.messages_handled, last.messages_handled);
      EXPECT_GE(s.messages_received, last.messages_received);
      EXPECT_GE(s.actors_spawned, last.actors_spawned);
      EXPECT_GE(s.ended_killed + s.ended_error, last.ended_killed + last.ended_error);
      EXPECT_LE(s.ended_normal + s.ended_killed + s.ended_error + s.ended_shutdown, s.actors_spawned);
      for (std::size_t w = 0; w < std::min(s.workers.size(), last.workers.size()); ++w)
        if (s.workers[w].index == last.workers[w].index) EXPECT_GE(s.workers[w].asleep, last.workers[w].asleep);
      last = s;
      rt.for_each_process([&](const process_info& q) {
        EXPECT_LE(q.mailbox, q.received);
        rt.process(q.pid.id(), p);
      });
      (void)observer::prometheus_text(rt);
    }
  });
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  int scrapes = 0;
  while (std::chrono::steady_clock::now() < until) {
    for (const char* target : {"/metrics", "/api/processes?sort=mailbox&limit=20", "/api/overview"}) {
      io::testing::raw_socket s(port);
      s.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
             "\r\nConnection: close\r\n\r\n");
      std::string out;
      s.read_to_end(out);
      EXPECT_EQ(out.rfind("HTTP/1.1 200", 0), 0u) << target << ": " << out.substr(0, 200);
      ++scrapes;
    }
  }
  stop = true;
  churn.join();
  reader.join();
  EXPECT_GT(scrapes, 0);
  EXPECT_GT(hops.load(), 0u);
  // Each round killed one actor and crashed one (or ended it first,
  // normally, if its hop came before).
  ASSERT_TRUE(eventually([&] {
    auto s = rt.stats();
    return s.ended_killed + s.ended_error + s.ended_normal >= 2 * rounds.load() && s.ended_killed >= 1 &&
           s.ended_error >= 1;
  }));
  server.close();
  io.stop();
}
