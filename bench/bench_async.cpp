// troupe::promise/future against std::promise/std::future, side by side.
//
//   *_set_get_same_thread   make a promise, take its future, set, read back
//   *_cross_thread          a producer thread sets, the benchmark thread reads
//                           (batches of 1024, handed over whole)
//   *_map_continuation      one continuation: troupe's map(); std has none,
//                           so its row is the closest hand-written equivalent
//   *_then_chain_10         ten map continuations attached before the value
//
// Every benchmark checks its own result and fails (SkipWithError) if wrong.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <thread>
#include <vector>

#include "troupe/async/future.hpp"

namespace {

// Values stay small so sums never overflow, whatever the iteration count.
constexpr int value_mask = 0xFFFF;

// ---- same thread ---------------------------------------------------------------

void BM_troupe_set_get_same_thread(benchmark::State& state) {
  long long sum = 0;
  long long expected = 0;
  int i = 0;
  for (auto _ : state) {
    troupe::promise<int> p;
    troupe::future<int> f = p.get_future();
    p.set_value(i);
    sum += f.get();
    expected += i;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != expected) state.SkipWithError("troupe: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_troupe_set_get_same_thread);

void BM_std_set_get_same_thread(benchmark::State& state) {
  long long sum = 0;
  long long expected = 0;
  int i = 0;
  for (auto _ : state) {
    std::promise<int> p;
    std::future<int> f = p.get_future();
    p.set_value(i);
    sum += f.get();
    expected += i;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != expected) state.SkipWithError("std: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_std_set_get_same_thread);

// ---- cross thread --------------------------------------------------------------

constexpr std::size_t batch_size = 1024;

// A producer thread that sets every promise of the batch it is handed,
// promise i to the value i, in order. The same handoff serves both promise
// types, so its cost (one release store and one spin per batch of 1024, on
// each side) is identical in the two rows and small per item.
template <class Promise>
class producer_thread {
 public:
  producer_thread() : thread_([this] { run(); }) {}
  ~producer_thread() {
    stop_.store(true, std::memory_order_release);
    thread_.join();
  }
  producer_thread(const producer_thread&) = delete;
  producer_thread& operator=(const producer_thread&) = delete;

  // Hands `batch` over; the caller may read its futures at once.
  void hand_over(std::vector<Promise>& batch) {
    batch_ = &batch;
    posted_.fetch_add(1, std::memory_order_release);
  }
  // Waits until the producer is done with the batch (it may still be
  // returning from the last set_value after the consumer read the value):
  // only then may the batch be destroyed.
  void wait_done() const {
    const std::uint64_t target = posted_.load(std::memory_order_relaxed);
    while (done_.load(std::memory_order_acquire) != target) std::this_thread::yield();
  }

 private:
  void run() {
    std::uint64_t seen = 0;
    for (;;) {
      const std::uint64_t now = posted_.load(std::memory_order_acquire);
      if (now == seen) {
        if (stop_.load(std::memory_order_acquire)) return;
        std::this_thread::yield();
        continue;
      }
      seen = now;
      std::vector<Promise>& batch = *batch_;
      for (std::size_t i = 0; i < batch.size(); ++i) batch[i].set_value(static_cast<int>(i));
      done_.store(seen, std::memory_order_release);
    }
  }

  std::vector<Promise>* batch_ = nullptr;  // written before posted_ (release)
  std::atomic<std::uint64_t> posted_{0};
  std::atomic<std::uint64_t> done_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the rest is initialized
};

constexpr long long batch_sum =
    static_cast<long long>(batch_size) * static_cast<long long>(batch_size - 1) / 2;

void BM_troupe_cross_thread(benchmark::State& state) {
  producer_thread<troupe::promise<int>> producer;
  long long sum = 0;
  long long batches = 0;
  for (auto _ : state) {
    std::vector<troupe::promise<int>> promises(batch_size);
    std::vector<troupe::future<int>> futures;
    futures.reserve(batch_size);
    for (auto& p : promises) futures.push_back(p.get_future());
    producer.hand_over(promises);
    for (const auto& f : futures) sum += f.get();
    producer.wait_done();
    ++batches;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != batches * batch_sum) state.SkipWithError("troupe: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(batches) *
                          static_cast<std::int64_t>(batch_size));
}
BENCHMARK(BM_troupe_cross_thread)->UseRealTime();

void BM_std_cross_thread(benchmark::State& state) {
  producer_thread<std::promise<int>> producer;
  long long sum = 0;
  long long batches = 0;
  for (auto _ : state) {
    std::vector<std::promise<int>> promises(batch_size);
    std::vector<std::future<int>> futures;
    futures.reserve(batch_size);
    for (auto& p : promises) futures.push_back(p.get_future());
    producer.hand_over(promises);
    for (auto& f : futures) sum += f.get();
    producer.wait_done();
    ++batches;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != batches * batch_sum) state.SkipWithError("std: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(batches) *
                          static_cast<std::int64_t>(batch_size));
}
BENCHMARK(BM_std_cross_thread)->UseRealTime();

// ---- one continuation ----------------------------------------------------------

void BM_troupe_map_continuation(benchmark::State& state) {
  long long sum = 0;
  long long expected = 0;
  bool missing = false;
  int i = 0;
  for (auto _ : state) {
    troupe::promise<int> p;
    troupe::future<int> f = p.get_future().map([](int x) { return x + 1; });
    p.set_value(i);
    // The continuation ran inline in set_value (no actor, no executor).
    const troupe::result<int>* r = f.poll();
    if (r && r->has_value())
      sum += **r;
    else
      missing = true;
    expected += i + 1;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (missing) state.SkipWithError("troupe: map result not ready after set_value");
  else if (sum != expected) state.SkipWithError("troupe: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_troupe_map_continuation);

// NOT a continuation: std::future has no then() (std::experimental's is not
// in libstdc++). The closest equivalent is done by hand: a second
// promise/future pair, the function called on the first future's value, its
// result set into the second promise, then read. Same allocations and the
// same number of shared states as troupe's map, but nothing is attached: the
// caller sequences it.
void BM_std_then_equivalent(benchmark::State& state) {
  auto fn = [](int x) { return x + 1; };
  long long sum = 0;
  long long expected = 0;
  int i = 0;
  for (auto _ : state) {
    std::promise<int> p;
    std::future<int> f = p.get_future();
    std::promise<int> mapped;
    std::future<int> g = mapped.get_future();
    p.set_value(i);
    mapped.set_value(fn(f.get()));
    sum += g.get();
    expected += i + 1;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != expected) state.SkipWithError("std: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_std_then_equivalent);

// ---- a chain of ten -------------------------------------------------------------

constexpr int chain_length = 10;

void BM_troupe_then_chain_10(benchmark::State& state) {
  long long sum = 0;
  long long expected = 0;
  bool missing = false;
  int i = 0;
  for (auto _ : state) {
    troupe::promise<int> p;
    troupe::future<int> f = p.get_future();
    for (int k = 0; k < chain_length; ++k) f = f.map([](int x) { return x + 1; });
    p.set_value(i);  // runs the ten continuations, oldest first
    const troupe::result<int>* r = f.poll();
    if (r && r->has_value())
      sum += **r;
    else
      missing = true;
    expected += i + chain_length;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (missing) state.SkipWithError("troupe: end of the chain not ready after set_value");
  else if (sum != expected) state.SkipWithError("troupe: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_troupe_then_chain_10);

// NOT continuations (see BM_std_then_equivalent): ten hand-sequenced
// promise/future hops, each setting the next from the previous value.
void BM_std_then_chain_10_equivalent(benchmark::State& state) {
  long long sum = 0;
  long long expected = 0;
  int i = 0;
  for (auto _ : state) {
    std::promise<int> first;
    std::future<int> f = first.get_future();
    first.set_value(i);
    for (int k = 0; k < chain_length; ++k) {
      std::promise<int> next;
      std::future<int> g = next.get_future();
      next.set_value(f.get() + 1);
      f = std::move(g);
    }
    sum += f.get();
    expected += i + chain_length;
    i = (i + 1) & value_mask;
  }
  benchmark::DoNotOptimize(sum);
  if (sum != expected) state.SkipWithError("std: wrong sum");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_std_then_chain_10_equivalent);

}  // namespace

BENCHMARK_MAIN();
