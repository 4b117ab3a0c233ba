// Mailbox micro benchmarks: push + take_all from one and from several
// producers, and an actor-to-actor send measured end to end.
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "core/mailbox.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace troupe::detail;

static void mailbox_push_take_single_producer(benchmark::State& state) {
  mailbox box;
  const int batch = static_cast<int>(state.range(0));
  long taken = 0;
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i) box.push(make_message(i));
    for (message* m = box.take_all(); m;) {
      message* next = m->next;
      delete m;
      ++taken;
      m = next;
    }
  }
  if (taken != static_cast<long>(state.iterations()) * batch) state.SkipWithError("lost messages");
  state.SetItemsProcessed(taken);
}
BENCHMARK(mailbox_push_take_single_producer)->Arg(1)->Arg(64);

// Producers push while the benchmark thread consumes; measures contended
// push throughput.
static void mailbox_contended_producers(benchmark::State& state) {
  const int producers = static_cast<int>(state.range(0));
  for (auto _ : state) {
    mailbox box;
    constexpr long per_producer = 100'000;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int p = 0; p < producers; ++p)
      threads.emplace_back([&] {
        while (!go.load()) {
        }
        for (long i = 0; i < per_producer; ++i) box.push(make_message(i));
      });
    go = true;
    long taken = 0;
    while (taken < producers * per_producer) {
      for (message* m = box.take_all(); m;) {
        message* next = m->next;
        delete m;
        ++taken;
        m = next;
      }
    }
    for (auto& t : threads) t.join();
    state.SetItemsProcessed(state.items_processed() + taken);
  }
}
BENCHMARK(mailbox_contended_producers)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond);

static void actor_send_receive(benchmark::State& state) {
  runtime rt(config{.workers = 1});
  auto counted = std::make_shared<std::atomic<long>>(0);
  auto sink = rt.spawn([counted](actor&) -> behavior {
    return {[counted](int) { counted->fetch_add(1, std::memory_order_relaxed); }};
  });
  long sent = 0;
  for (auto _ : state) {
    rt.send(sink, 1);
    ++sent;
  }
  while (counted->load() != sent) std::this_thread::yield();
  state.SetItemsProcessed(sent);
}
BENCHMARK(actor_send_receive);
