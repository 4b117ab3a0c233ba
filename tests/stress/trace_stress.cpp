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
#include "troupe/core/trace_file.hpp"
#include "troupe/core/trace_spec.hpp"
#include "troupe/sync/channel.hpp"
#include "troupe/troupe.hpp"

#include <cstdio>
#include <fstream>
#include <unistd.h>

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
      for (auto& e : events) ASSERT_LT(static_cast<unsigned>(e.kind), tracing::event_kind_count);
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

// Every kind of event at once (timers set, fired and cancelled, links,
// monitors and downs, channel steps on plain threads, the scheduler's
// steps) while a file sink and an online checker drain the rings and the
// filter switches between the default kinds and all of them. The file reads
// back, the checker checked, and TSan sees no race among the recorders,
// the drains, the timer thread and the filter changes.
TEST(stress, every_kind_recorded_while_a_sink_and_a_checker_drain) {
  const std::string path = "/tmp/troupe_trace_stress_" + std::to_string(::getpid()) + ".jsonl";
  runtime rt(config{.workers = 4});
  tracing::start(rt, {.ring_events = 1024});
  const int rounds = static_cast<int>(troupe::stress::scaled(20'000, 500));
  std::atomic<int> handled{0};
  struct poke {
    int n;
  };
  pid sink_actor = rt.spawn([](actor&) -> behavior { return {[](poke) {}}; });
  pid busy = rt.spawn([&handled, sink_actor](actor& a) -> behavior {
    return {[&handled, &a, sink_actor](poke p) {
      a.send_after(1ms, sink_actor, poke{p.n});
      a.send_after(1h, sink_actor, poke{p.n}).cancel();
      a.link(sink_actor);
      a.unlink(sink_actor);
      a.demonitor(a.monitor(sink_actor));
      if (p.n % 100 == 0) {
        pid short_lived = a.spawn([](actor& b) -> behavior { b.quit(); return {[](int) {}}; });
        a.monitor(short_lived);
      }
      handled.fetch_add(1);
    },
            [](const down&) {}};
  });
  std::atomic<bool> done{false};
  channel<int> ch(8);
  std::thread producer([&] {
    for (int i = 0; !done.load(); ++i) (void)ch.try_send(i);
  });
  std::thread consumer([&] {
    while (!done.load()) (void)ch.try_recv();
  });
  std::thread changer([&] {
    for (int round = 0; !done.load(); ++round) {
      tracing::start(rt, {.filter = {.kinds = round % 2 ? tracing::all_kinds : tracing::default_kinds},
                          .ring_events = 1024});
      std::this_thread::sleep_for(2ms);
    }
  });
  std::uint64_t written = 0, checked = 0;
  {
    tracing::file_sink sink(rt, path, 5ms);
    tracing::checker online(rt, tracing::parse_rules(R"(
      # rules that lost events cannot break (the rings overwrite here)
      "mailboxes": bounded(begin && value > 100000, begin && value <= 100000, 60s, actor);
      "restarts": at_most(1000000, restart, 1s, actor);
      "known kinds": !(value < -1 && what("no such thing"));
    )"), [](const tracing::violation& v) { ADD_FAILURE() << tracing::to_string(v); }, 5ms);
    for (int i = 0; i < rounds; ++i) {
      rt.send(busy, poke{i});
      if (i % 64 == 0) std::this_thread::sleep_for(100us);
    }
    EXPECT_TRUE(troupe::test_support::eventually([&] { return handled.load() == rounds; }, 120s));
    done = true;
    producer.join();
    consumer.join();
    changer.join();
    online.poll();
    checked = online.checked();
    sink.flush();
  }
  std::ifstream in(path);
  auto events = tracing::read_jsonl(in);
  written = events.size();
  std::remove(path.c_str());
  EXPECT_GT(written, 0u);
  EXPECT_GT(checked, 0u);
}
