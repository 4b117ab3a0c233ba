#include "troupe/testing/explore.hpp"

#include <cstdlib>
#include <exception>

namespace troupe::testing {
namespace {
simulation_options options_for(std::uint64_t seed, const explore_options& o) {
  simulation_options s;
  s.seed = seed;
  s.mode = o.mode;
  s.pct_depth = o.pct_depth;
  s.pct_steps = o.pct_steps;
  s.runtime_config = o.runtime_config;
  return s;
}
}  // namespace

std::string replay(std::uint64_t seed, const explore_options& options,
                   const std::function<void(simulation&)>& body, std::vector<std::string>* trace) {
  std::string failure;
  {
    simulation sim(options_for(seed, options));
    try {
      body(sim);
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "an exception with no message";
    } catch (...) {
      failure = "an unknown exception";
    }
    if (trace) *trace = sim.trace();
  }
  return failure;
}

exploration explore(const explore_options& options, const std::function<void(simulation&)>& body) {
  exploration result;
  std::uint64_t first = options.first_seed;
  std::size_t count = options.seeds;
  if (const char* pinned = std::getenv("TROUPE_SEED")) {
    first = std::strtoull(pinned, nullptr, 10);
    count = 1;
  }
  for (std::size_t i = 0; i < count; ++i) {
    std::uint64_t seed = first + i;
    ++result.runs;
    std::vector<std::string> trace;
    std::string failure = replay(seed, options, body, &trace);
    if (failure.empty()) continue;
    result.passed = false;
    result.failing_seed = seed;
    result.failure = failure;
    result.trace = std::move(trace);
    const char* mode = options.mode == schedule_mode::pct ? "pct" : "random";
    result.report = "troupe exploration: seed " + std::to_string(seed) + " (" + mode +
                    " schedule) failed after " + std::to_string(result.runs) + " run(s):\n  " +
                    failure + "\ntrace of the failing run (" +
                    std::to_string(result.trace.size()) + " events):\n";
    for (auto& event : result.trace) result.report += "  " + event + "\n";
    result.report += "replay: TROUPE_SEED=" + std::to_string(seed) +
                     " <test binary>, or troupe::testing::replay(" + std::to_string(seed) +
                     ", options, body)\n";
    return result;
  }
  result.report = "troupe exploration: " + std::to_string(result.runs) + " seed(s) passed";
  return result;
}

}  // namespace troupe::testing
