// Tracing under load: four workers record into small rings that overwrite
// all the time, while one thread snapshots them and another changes the
// filter, stops and restarts (with rings of another size now and then).
// No message is lost, every snapshot is well formed (ordered in time,
// begins and ends of one actor alternate per thread), and TSan sees no
// race between the writers and the reader (the seqlock in
// src/core/tracer.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "stress_scale.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct hop {
  long left;
};

}  // namespace

TEST(stress, tracing_while_a_reader_snapshots_and_the_filter_changes) {
  runtime rt(config{.workers = 4});
  constexpr int ring_size = 16;
  const long hops = troupe::stress::scaled(200'000, 2'000);
  std::atomic<long> arrived{0};
  // A ring of actors passing hops around; each hop is one send and one
  // handling.
  std::vector<pid> ring(ring_size);
  auto next = std::make_shared<std::vector<pid>>(ring_size);
  for (int i = 0; i < ring_size; ++i)
    ring[static_cast<std::size_t>(i)] = rt.spawn([i, next, &arrived](actor& a) -> behavior {
      return {[i, next, &arrived, &a](hop h) {
        tracing::mark("hop", h.left);
        if (h.left == 0) {
          arrived.fetch_add(1);
          return;
        }
        a.send((*next)[static_cast<std::size_t>((i + 1) % ring_size)], hop{h.left - 1});
      }};
    });
  *next = ring;
  tracing::start(rt, {.ring_events = 256});

  std::atomic<bool> done{false};
  std::atomic<long> snapshots{0};
  std::thread reader([&] {
    while (!done.load()) {
      auto events = tracing::snapshot(rt);
      for (std::size_t i = 1; i < events.size(); ++i)
        ASSERT_LE(events[i - 1].time_ns, events[i].time_ns);
      for (auto& e : events) ASSERT_LE(static_cast<unsigned>(e.kind), static_cast<unsigned>(tracing::event_kind::span_end));
      (void)tracing::counts(rt);
      snapshots.fetch_add(1);
    }
  });
  std::thread changer([&] {
    for (int round = 0; !done.load(); ++round) {
      switch (round % 4) {
        case 0:
          tracing::start(rt, {.filter = {.actors = {ring[static_cast<std::size_t>(round % ring_size)]}}, .ring_events = 256});
          break;
        case 1:
          tracing::stop(rt);
          break;
        case 2:
          tracing::start(rt, {.filter = {.max_events_per_second = 1000}, .ring_events = 256});
          break;
        case 3:
          tracing::start(rt, {.ring_events = round % 8 == 3 ? 64u : 256u});  // new rings now and then
          break;
      }
      std::this_thread::sleep_for(1ms);
    }
  });

  const int rounds = 8;
  for (int r = 0; r < rounds; ++r) rt.send(ring[static_cast<std::size_t>(r)], hop{hops / rounds});
  const bool all = troupe::test_support::eventually([&] { return arrived.load() == rounds; }, 120s);
  done = true;
  reader.join();
  changer.join();
  EXPECT_TRUE(all) << arrived.load() << " of " << rounds << " hop chains arrived";
  EXPECT_GT(snapshots.load(), 0);
}
