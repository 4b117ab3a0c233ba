// No loss: 4 threads x 1,000,000 sends to one actor; each message is counted
// exactly once (count and sum), checked again through a per-sender bitmap.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct tagged {
  int sender;
  long index;
};
struct totals {
  long count;
  long sum;
  long duplicates;
};
struct finish {};
}  // namespace

TEST(stress, four_threads_million_sends_each_counted_exactly_once) {
  const long per_thread = stress::scaled(1'000'000, 1000);
  constexpr int threads = 4;
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto counter = rt.spawn([per_thread, threads = threads](actor&) -> behavior {
    auto seen = std::make_shared<std::vector<std::vector<bool>>>(
        threads, std::vector<bool>(static_cast<std::size_t>(per_thread), false));
    auto t = std::make_shared<totals>(totals{0, 0, 0});
    return {
        [seen, t](const tagged& m) {
          auto bit = (*seen)[m.sender][static_cast<std::size_t>(m.index)];
          if (bit) ++t->duplicates;
          bit = true;
          ++t->count;
          t->sum += m.index;
        },
        [t](finish) { return *t; },
    };
  });
  std::vector<std::thread> senders;
  for (int s = 0; s < threads; ++s)
    senders.emplace_back([&, s] {
      for (long i = 0; i < per_thread; ++i) ASSERT_EQ(rt.send(counter, tagged{s, i}), send_status::ok);
    });
  for (auto& t : senders) t.join();
  auto r = self.request<totals>(counter, finish{}, 120s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->count, threads * per_thread);
  EXPECT_EQ(r->sum, threads * (per_thread * (per_thread - 1) / 2));
  EXPECT_EQ(r->duplicates, 0);
}

TEST(stress, actors_sending_concurrently_lose_nothing) {
  const long per_sender = stress::scaled(200'000, 500);
  constexpr int senders = 8;
  runtime rt(config{.workers = 4});
  scoped_actor self(rt);
  auto counter = rt.spawn([](actor&) -> behavior {
    auto t = std::make_shared<totals>(totals{0, 0, 0});
    return {[t](long v) {
              ++t->count;
              t->sum += v;
            },
            [t](finish) { return *t; }};
  });
  auto me = self.pid();
  for (int s = 0; s < senders; ++s) {
    rt.spawn([counter, me, per_sender](actor& a) -> behavior {
      // Sends in batches, yielding between them so the counter runs too.
      a.send(a.pid(), 0L);
      return {[&a, counter, me, per_sender](long from) {
        long to = std::min(from + 1000, per_sender);
        for (long i = from; i < to; ++i) a.send(counter, i);
        if (to < per_sender)
          a.send(a.pid(), to);
        else
          a.send(me, std::string("done"));
      }};
    });
  }
  for (int s = 0; s < senders; ++s) ASSERT_TRUE(self.receive<std::string>(120s));
  auto r = self.request<totals>(counter, finish{}, 120s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, senders * per_sender);
  EXPECT_EQ(r->sum, senders * (per_sender * (per_sender - 1) / 2));
}
