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

// Which seeds explore() runs, and how each run schedules.
struct explore_options {
  // How many seeds to run, one run each.
  std::size_t seeds = 100;
  // The first seed; the others follow it in order.
  std::uint64_t first_seed = 1;
  // How each run picks its next step.
  schedule_mode mode = schedule_mode::random;
  // PCT only: the bug depth aimed at (simulation_options::pct_depth).
  unsigned pct_depth = 3;
  // PCT only: how many steps the change points spread over.
  std::size_t pct_steps = 2000;
  // The simulated runtime's configuration; its worker count is ignored.
  config runtime_config{};
};

// What explore() found: a pass, or the first failing seed and how to replay it.
struct exploration {
  // True when every seed passed.
  bool passed = true;
  // Bodies run, including the failing one.
  std::size_t runs = 0;        // bodies run, including the failing one
  // The seed that failed (0 if none did).
  std::uint64_t failing_seed = 0;
  // What the failing body threw.
  std::string failure;         // what the body threw
  // The trace of the failing run, one event a line.
  std::vector<std::string> trace;  // the failing run
  // All of it, readable: seed, failure, trace and how to replay.
  std::string report;          // all of it, readable
};

// Runs `body` in a fresh simulation per seed until one fails; TROUPE_SEED pins one seed.
exploration explore(const explore_options& options, const std::function<void(simulation&)>& body);

// Runs the body once under `seed` (and the options' mode); returns what it
// threw, or an empty string when it passed.
std::string replay(std::uint64_t seed, const explore_options& options,
                   const std::function<void(simulation&)>& body,
                   std::vector<std::string>* trace = nullptr);

}  // namespace troupe::testing
