// trace_cost: what tracing costs, side by side in one process.
//
//   troupe_compare trace_cost [scale]
//
// pingpong and fanin (troupe_compare.cpp) three ways, alternating for three
// rounds: tracing off, a flight recorder (everything, 1,024-event rings),
// and everything traced into large rings (65,536 events a thread). Prints
// each run's figure, the medians, and each traced median as a ratio of the
// untraced one (time per round trip: higher is slower; fanin's rate: lower
// is slower). Then event_ns: one recorded event (a tracing::mark in a
// handler, tracing on, the ring overwriting), averaged over ten million.
// Then check_events_per_sec: four rules (a metric, a since, a historically
// and a bounded response) checked offline over the marks' snapshot.
// Each run checks its own count before its figure is used.
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "report.hpp"
#include "workloads.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/core/trace_check.hpp"
#include "troupe/troupe.hpp"

namespace troupe_bench {

namespace {

struct marks {
  long n;
};

// Events per second that four rules are checked at (offline, over the
// marks event_ns recorded: a formula per event kind of operator).
double check_rate(troupe::runtime& rt) {
  using namespace troupe::tracing;
  auto events = snapshot(rt);
  if (events.size() < 1000) fail("trace_cost", "too few events to check");
  const std::vector<rule> rules = {
      rule("marks come in a stream", implies(kind_is(event_kind::mark), once_within(std::chrono::milliseconds(10), kind_is(event_kind::mark)))),
      rule("ticks since the start", since(what_is("tick"), kind_is(event_kind::begin)) || what_is("tick")),
      rule("never an exit", historically(!kind_is(event_kind::exit))),
      answered_within("each tick followed by a tick", what_is("tick"), what_is("tick"), [](const event&) { return 0u; },
                      std::chrono::seconds(1)),
  };
  const auto t0 = bench_clock::now();
  auto broken = check(events, rules);
  const double elapsed = seconds_since(t0);
  if (!broken.empty() && broken.size() > events.size()) fail("trace_cost", "impossible violation count");
  return static_cast<double>(events.size()) / elapsed;
}

double event_ns(double scale) {
  const long n = static_cast<long>(10'000'000 * scale);
  troupe::runtime rt(troupe::config{.workers = 1});
  troupe::tracing::start(rt, {.ring_events = 1u << 16});
  troupe::scoped_actor self(rt);
  auto me = self.pid();
  auto marker = rt.spawn([me](troupe::actor& a) -> troupe::behavior {
    return {[&a, me](marks m) {
      const auto t0 = bench_clock::now();
      for (long i = 0; i < m.n; ++i) troupe::tracing::mark("tick", i);
      a.send(me, seconds_since(t0));
    }};
  });
  self.send(marker, marks{n});
  auto elapsed = self.receive<double>(std::chrono::minutes(10));
  if (!elapsed) fail("trace_cost", "the marker did not answer");
  const auto recorded = troupe::tracing::counts(rt).recorded;
  // Every mark, plus the send and the handling of `marks`.
  if (recorded < static_cast<std::uint64_t>(n)) fail("trace_cost", "marks were not all recorded");
  const double ns = *elapsed * 1e9 / static_cast<double>(n);
  troupe::tracing::stop(rt);
  emit("trace_cost", "check_events_per_sec", check_rate(rt));
  return ns;
}

}  // namespace

int trace_cost(double scale) {
  const std::vector<mode> modes = {
      {"off", {}},
      {"flight_recorder",
       [](troupe::runtime& rt) {
         troupe::tracing::start(rt, {.ring_events = 1024});
         return std::shared_ptr<void>();
       }},
      {"traced",
       [](troupe::runtime& rt) {
         troupe::tracing::start(rt, {.ring_events = 1u << 16});
         return std::shared_ptr<void>();
       }},
  };
  compare_modes("trace_cost", modes, scale, 3);
  emit("trace_cost", "event_ns", event_ns(scale));
  return 0;
}

}  // namespace troupe_bench
