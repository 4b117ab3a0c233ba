// Spawn micro benchmark: spawn an actor that ends at once, and spawn one
// that stays (measures setup cost without and with the live set growing).
#include <benchmark/benchmark.h>

#include <vector>

#include "troupe/troupe.hpp"

using namespace troupe;

static void spawn_and_end(benchmark::State& state) {
  runtime rt(config{.workers = 1});
  for (auto _ : state) {
    auto p = rt.spawn([](actor&) {});
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(spawn_and_end);

static void spawn_idle_actor(benchmark::State& state) {
  runtime rt(config{.workers = 1});
  std::vector<pid> keep;
  keep.reserve(1 << 20);
  for (auto _ : state) keep.push_back(rt.spawn([](actor&) -> behavior { return {[](int) {}}; }));
  if (rt.live_actors() != keep.size()) state.SkipWithError("actor count mismatch");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(spawn_idle_actor);
