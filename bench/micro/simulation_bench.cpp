// How fast the deterministic simulation runs: steps per second for a ring
// of actors, and whole explorations (fresh simulation per seed) per second.
#include <benchmark/benchmark.h>

#include "troupe/testing/explore.hpp"
#include "troupe/testing/simulation.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {
struct token {
  long hops;
};
}  // namespace

static void simulation_ring_steps(benchmark::State& state) {
  constexpr int size = 100;
  constexpr long hops = 10'000;
  std::size_t steps = 0;
  for (auto _ : state) {
    simulation sim({.seed = 1});
    auto& rt = sim.system();
    auto first = std::make_shared<pid>();
    pid next;
    auto done = std::make_shared<bool>(false);
    for (int i = size - 1; i >= 0; --i) {
      auto target = i == size - 1 ? first : std::make_shared<pid>(next);
      next = rt.spawn([target, done](actor& a) -> behavior {
        return {[&a, target, done](token t) {
          if (t.hops == 0)
            *done = true;
          else
            a.send(*target, token{t.hops - 1});
        }};
      });
    }
    *first = next;
    rt.send(next, token{hops});
    steps += sim.run_until_idle();
    if (!*done) state.SkipWithError("the token did not go round");
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));  // steps per second
}
BENCHMARK(simulation_ring_steps)->Unit(benchmark::kMillisecond);

static void explore_small_protocol(benchmark::State& state) {
  std::size_t runs = 0;
  for (auto _ : state) {
    auto outcome = explore({.seeds = 100}, [](simulation& sim) {
      auto& rt = sim.system();
      auto echo = rt.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
      scoped_actor self(rt);
      for (int i = 0; i < 5; ++i) {
        auto r = self.request<int>(echo, i);
        sim.require(r && *r == i + 1, "echo answered");
      }
    });
    if (!outcome.passed) state.SkipWithError("exploration failed");
    runs += outcome.runs;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(runs));  // simulated runs per second
}
BENCHMARK(explore_small_protocol)->Unit(benchmark::kMillisecond);
