// How fast whole simulated clusters run (troupe/testing/sim_cluster.hpp):
// virtual time per real second for an idle 5-node mesh (heartbeats only),
// steps per second for 5 nodes under request load, and seeds explored per
// second for a small 3-node protocol. Each checks its outcome first.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>

#include "troupe/core/scoped_actor.hpp"
#include "troupe/net/wire_type.hpp"
#include "troupe/testing/explore.hpp"
#include "troupe/testing/sim_cluster.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::testing;

namespace {

struct bench_ask {
  std::int64_t n = 0;
};
struct registered {
  registered() { net::register_type<bench_ask>("sim_cluster_bench.ask"); }
} const registration;

const std::vector<std::string> five{"n1", "n2", "n3", "n4", "n5"};

void serve_echo(sim_node& n) {
  n.system().register_name("echo", n.system().spawn([](actor&) -> behavior {
    return {[](const bench_ask& a) { return a.n + 1; }};
  }));
}

}  // namespace

// 10 minutes of a 5-node mesh's virtual time: every connection's
// heartbeats (every 200 ms) and failure checks, nothing else.
static void sim_cluster_ten_idle_minutes(benchmark::State& state) {
  std::size_t steps = 0;
  for (auto _ : state) {
    simulation sim({.seed = 7});
    sim_cluster cluster(sim);
    for (auto& name : five) cluster.start(name);
    cluster.connect_all();
    const std::size_t before = sim.steps();
    sim.run_for(10min);
    steps += sim.steps() - before;
    for (auto& name : five)
      if (cluster[name].node().connected_nodes().size() != five.size() - 1) state.SkipWithError("the mesh broke");
  }
  state.counters["steps"] = benchmark::Counter(static_cast<double>(steps), benchmark::Counter::kAvgIterations);
}
BENCHMARK(sim_cluster_ten_idle_minutes)->Unit(benchmark::kMillisecond);

// 5 nodes, each asking the next node's echo 200 times over the network
// (requests with replies, proxies, heartbeats): simulated steps per second.
static void sim_cluster_steps_under_load(benchmark::State& state) {
  std::size_t steps = 0;
  for (auto _ : state) {
    simulation sim({.seed = 11});
    sim_cluster cluster(sim);
    for (auto& name : five) cluster.start(name, serve_echo);
    cluster.connect_all();
    const std::size_t before = sim.steps();
    auto answered = std::make_shared<std::int64_t>(0);
    for (std::size_t i = 0; i < five.size(); ++i) {
      auto& from = cluster[five[i]];
      pid echo = cluster.wait(from.node().whereis("troupe://" + five[(i + 1) % five.size()] + "/echo"));
      from.system().spawn([echo, answered](actor& self) -> behavior {
        auto left = std::make_shared<int>(200);
        auto ask = std::make_shared<std::function<void()>>();
        *ask = [&self, echo, answered, left, ask] {
          self.request<std::int64_t>(echo, bench_ask{*left}, 10s).then([answered, left, ask](std::int64_t v) {
            if (v == *left + 1) ++*answered;
            if (--*left > 0) (*ask)();
          });
        };
        (*ask)();
        return {[](int) {}};
      });
    }
    cluster.run_until([&] { return *answered == 1000; }, 10min, "1000 answers");
    steps += sim.steps() - before;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));  // steps per second
}
BENCHMARK(sim_cluster_steps_under_load)->Unit(benchmark::kMillisecond);

// A small 3-node protocol explored seed after seed: start, connect, find
// each other's echo, three remote requests.
static void sim_cluster_seeds_explored(benchmark::State& state) {
  std::size_t runs = 0;
  for (auto _ : state) {
    auto outcome = explore({.seeds = 20}, [](simulation& sim) {
      sim_cluster cluster(sim);
      for (std::string name : {"a", "b", "c"}) cluster.start(name, serve_echo);
      cluster.connect_all();
      scoped_actor me(cluster["a"].system());
      for (std::string other : {"b", "c", "b"}) {
        pid echo = cluster.wait(cluster["a"].node().whereis("troupe://" + other + "/echo"));
        auto r = me.request<std::int64_t>(echo, bench_ask{41}, 5s);
        sim.require(r && *r == 42, "the echo answered");
      }
    });
    if (!outcome.passed) state.SkipWithError("exploration failed");
    runs += outcome.runs;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(runs));  // seeds per second
}
BENCHMARK(sim_cluster_seeds_explored)->Unit(benchmark::kMillisecond);
