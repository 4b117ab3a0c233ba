// The workloads that the cost benchmarks (trace_benches.cpp,
// observer_benches.cpp) run with and without what they measure; defined in
// troupe_compare.cpp.
#pragma once

#include <functional>
#include <memory>

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

}  // namespace troupe_bench
