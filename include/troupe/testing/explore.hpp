// Schedule exploration: run one test body under many seeds.
//
//   auto outcome = explore({.seeds = 500}, [](simulation& sim) {
//     ... spawn, send, run_until_idle, sim.require(invariant, "...") ...
//   });
//   EXPECT_TRUE(outcome.passed) << outcome.report;
//
// The body fails by throwing (sim.require, a broken expectation, a
// deadlock, or any exception). On the first failure exploration stops and
// `report` holds the seed, the failure, the trace of the failing run and
// how to replay it. Replaying a seed runs the same steps and fails the same
// way; setting TROUPE_SEED=<seed> in the environment makes explore() run
// only that seed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "troupe/testing/simulation.hpp"

namespace troupe::testing {

struct explore_options {
  std::size_t seeds = 100;
  std::uint64_t first_seed = 1;
  schedule_mode mode = schedule_mode::random;
  unsigned pct_depth = 3;
  std::size_t pct_steps = 2000;
  config runtime_config{};
};

struct exploration {
  bool passed = true;
  std::size_t runs = 0;        // bodies run, including the failing one
  std::uint64_t failing_seed = 0;
  std::string failure;         // what the body threw
  std::vector<std::string> trace;  // the failing run
  std::string report;          // all of it, readable
};

exploration explore(const explore_options& options, const std::function<void(simulation&)>& body);

// Runs the body once under `seed` (and the options' mode); returns what it
// threw, or an empty string when it passed.
std::string replay(std::uint64_t seed, const explore_options& options,
                   const std::function<void(simulation&)>& body,
                   std::vector<std::string>* trace = nullptr);

}  // namespace troupe::testing
