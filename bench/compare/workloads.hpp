// The workloads that the cost benchmarks (trace_benches.cpp,
// observer_benches.cpp) run with and without what they measure; defined in
// troupe_compare.cpp.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "troupe/core/fwd.hpp"

namespace troupe_bench {

// Runs on the runtime before the workload; what it returns is kept until
// the workload's actors are gone, before the runtime goes (a server, a
// scraping thread).
using prepare_fn = std::function<std::shared_ptr<void>(troupe::runtime&)>;

// The ping-pong round trip, in ns.
double pingpong_ns(double scale, const prepare_fn& prepare);
// Messages per second into one counter from four producers.
double fanin_rate(double scale, const prepare_fn& prepare);

// One way to run the workloads (its name in the metrics, and what it sets up).
struct mode {
  const char* name;
  prepare_fn prepare;
};

// Runs pingpong and fanin under each mode, alternating, for `rounds`;
// prints each run as BENCH's pingpong_ns@MODE and fanin_msgs_per_sec@MODE,
// then each mode's medians as ratios to the first mode's
// (pingpong_time_ratio@MODE, fanin_time_ratio@MODE: higher is slower).
// Returns the medians, ping[m] in ns and fan[m] in messages per second.
struct mode_medians {
  std::vector<double> ping, fan;
};
mode_medians compare_modes(const char* bench, const std::vector<mode>& modes, double scale, int rounds);

}  // namespace troupe_bench
