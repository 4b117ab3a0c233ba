// Lending threads (detail::lent_thread, as the I/O threads use it) under
// load: several lending threads and the workers run the same actors. Every
// message arrives once, in order per sender and relay, and a shutdown that
// races with lent turns waits for them (ASan/TSan would see a turn running
// on an actor the shutdown already ended).
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "../eventually.hpp"
#include "core/executor.hpp"
#include "core/runtime_impl.hpp"
#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct item {
  int sender;
  int relay;
  long seq;
};

struct sink_state {
  std::atomic<long> count{0};
  std::atomic<long> sum{0};
  std::atomic<long> out_of_order{0};
};

}  // namespace

TEST(stress, lent_threads_and_workers_run_the_same_actors_without_loss) {
  const long per_sender = stress::scaled(60'000, 3'000);
  constexpr int lenders = 3;
  constexpr int relays = 8;
  runtime rt(config{.workers = 2});
  auto st = std::make_shared<sink_state>();
  pid sink = rt.spawn([st](actor&) -> behavior {
    auto last = std::make_shared<std::map<std::pair<int, int>, long>>();
    return {[st, last](const item& it) {
      auto [slot, fresh] = last->try_emplace({it.sender, it.relay}, it.seq);
      if (!fresh) {
        if (it.seq <= slot->second) ++st->out_of_order;
        slot->second = it.seq;
      }
      ++st->count;
      st->sum += it.seq;
    }};
  });
  std::vector<pid> relay;
  for (int r = 0; r < relays; ++r)
    relay.push_back(rt.spawn([sink](actor& self) -> behavior {
      return {[&self, sink](const item& it) { self.send(sink, it); }};
    }));
  std::vector<std::thread> threads;
  std::atomic<int> lender_ids{0};
  for (int s = 0; s < lenders; ++s)
    threads.emplace_back([&, s] {
      detail::lent_thread lent(*rt.impl().exec);
      for (long i = 0; i < per_sender; ++i) {
        const int r = static_cast<int>(i % relays);
        rt.send(relay[static_cast<std::size_t>(r)], item{s, r, i});
        lent.run_ready();
        // Pauses now and then, so the workers park and lending happens.
        if (i % 512 == 0) std::this_thread::sleep_for(50us);
      }
    });
  for (auto& t : threads) t.join();
  const long total = lenders * per_sender;
  ASSERT_TRUE(troupe::test_support::eventually([&] { return st->count.load() == total; }, 60s))
      << st->count.load() << " of " << total;
  EXPECT_EQ(st->sum.load(), lenders * (per_sender * (per_sender - 1) / 2));
  EXPECT_EQ(st->out_of_order.load(), 0);
}

TEST(stress, shutdown_waits_for_lent_turns_under_way) {
  const int rounds = static_cast<int>(stress::scaled(20, 6));
  for (int round = 0; round < rounds; ++round) {
    config cfg{.workers = 2};
    cfg.log_level = log_level::off;
    auto rt = std::make_unique<runtime>(cfg);
    // Few messages in flight: what is queued when the shutdown comes is
    // bounced, and an unbounded backlog would only make that slow.
    auto handled = std::make_shared<std::atomic<long>>(0);
    std::atomic<long> sent{0};
    std::vector<pid> players;
    for (int i = 0; i < 8; ++i)
      players.push_back(rt->spawn([handled](actor&) -> behavior {
        // A long turn over the actor's own state: a turn still running
        // after the shutdown ended its actor (and freed that state) is a
        // use after free for ASan and a race for TSan.
        return {[handled, seen = std::make_shared<std::vector<int>>()](int n) {
          for (int k = 0; k < 4000; ++k) seen->push_back(n + k);
          seen->clear();
          ++*handled;
        }};
      }));
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    // The lenders keep every worker idle: each runs what it sends itself.
    for (int s = 0; s < 2; ++s)
      threads.emplace_back([&, s] {
        detail::lent_thread lent(*rt->impl().exec);
        for (int i = 0; !stop.load(); ++i) {
          if (sent.load() - handled->load() >= 8) {
            std::this_thread::yield();
            continue;
          }
          ++sent;
          rt->send(players[static_cast<std::size_t>((2 * i + s) % 8)], i);
          lent.run_ready();
        }
      });
    std::this_thread::sleep_for(5ms);
    rt->shutdown();
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(rt->live_actors(), 0u);
  }
}
