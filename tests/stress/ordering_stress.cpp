// FIFO per sender->receiver pair under concurrency: many senders (threads
// and actors) to many receivers; every receiver checks each sender's
// sequence numbers arrive strictly in order and without gaps.
#include <gtest/gtest.h>

#include <map>
#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct seq_msg {
  int sender;
  long seq;
};
struct verdict {
  long received;
  long out_of_order;
};
struct ask {};
}  // namespace

TEST(stress, fifo_per_sender_receiver_pair) {
  const long per_pair = stress::scaled(50'000, 200);
  constexpr int thread_senders = 3;
  constexpr int actor_senders = 3;
  constexpr int receivers = 4;
  runtime rt(config{.workers = 3});
  scoped_actor self(rt);
  std::vector<pid> sinks;
  for (int r = 0; r < receivers; ++r)
    sinks.push_back(rt.spawn([](actor&) -> behavior {
      auto next = std::make_shared<std::map<int, long>>();
      auto v = std::make_shared<verdict>(verdict{0, 0});
      return {[next, v](const seq_msg& m) {
                long& expected = (*next)[m.sender];
                if (m.seq != expected) ++v->out_of_order;
                expected = m.seq + 1;
                ++v->received;
              },
              [v](ask) { return *v; }};
    }));
  auto me = self.pid();
  for (int s = 0; s < actor_senders; ++s) {
    rt.spawn([sinks, me, per_pair, id = 100 + s](actor& a) -> behavior {
      a.send(a.pid(), 0L);
      return {[&a, sinks, me, per_pair, id](long from) {
        long to = std::min(from + 500, per_pair);
        for (long i = from; i < to; ++i)
          for (auto& sink : sinks) a.send(sink, seq_msg{id, i});
        if (to < per_pair)
          a.send(a.pid(), to);
        else
          a.send(me, std::string("done"));
      }};
    });
  }
  std::vector<std::thread> threads;
  for (int s = 0; s < thread_senders; ++s)
    threads.emplace_back([&, s] {
      scoped_actor sender(rt);  // a distinct sender identity per thread
      for (long i = 0; i < per_pair; ++i)
        for (auto& sink : sinks) sender.send(sink, seq_msg{s, i});
    });
  for (auto& t : threads) t.join();
  for (int s = 0; s < actor_senders; ++s) ASSERT_TRUE(self.receive<std::string>(120s));
  for (auto& sink : sinks) {
    auto v = self.request<verdict>(sink, ask{}, 60s);
    ASSERT_TRUE(v);
    EXPECT_EQ(v->received, (thread_senders + actor_senders) * per_pair);
    EXPECT_EQ(v->out_of_order, 0);
  }
}
