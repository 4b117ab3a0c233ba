// Temporal assertions: the compiled monitors against a brute-force
// evaluator of the same formulas over whole histories (random streams and
// random formulas), the bounded-response rule catching a slow handler and
// staying silent on a fast one, offline and online.
#include "troupe/core/trace_check.hpp"
#include "troupe/core/trace_spec.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// A formula as a plain tree, built into a tracing::formula and evaluated
// by definition over the whole history.
struct spec {
  enum kind { atom, neg, conj, disj, impl, prev, once_, hist, since_, once_w, hist_w } k = atom;
  int atom_index = 0;  // atom: which predicate
  std::int64_t bound = 0;
  std::shared_ptr<spec> a, b;
};

const char* const words[] = {"alpha", "beta", "gamma"};

bool atom_holds(int index, const tracing::event& e) {
  switch (index) {
    case 0: return e.kind == tracing::event_kind::send;
    case 1: return e.kind == tracing::event_kind::begin;
    case 2: return e.what.find("alpha") != std::string::npos;
    case 3: return e.what.find("beta") != std::string::npos;
    default: return e.actor == 1;
  }
}
constexpr int atom_count = 5;

tracing::formula build(const spec& s) {
  using namespace tracing;
  switch (s.k) {
    case spec::atom: {
      const int i = s.atom_index;
      return formula("p" + std::to_string(i), [i](const event& e) { return atom_holds(i, e); });
    }
    case spec::neg: return !build(*s.a);
    case spec::conj: return build(*s.a) && build(*s.b);
    case spec::disj: return build(*s.a) || build(*s.b);
    case spec::impl: return implies(build(*s.a), build(*s.b));
    case spec::prev: return previously(build(*s.a));
    case spec::once_: return once(build(*s.a));
    case spec::hist: return historically(build(*s.a));
    case spec::since_: return since(build(*s.a), build(*s.b));
    case spec::once_w: return once_within(std::chrono::nanoseconds(s.bound), build(*s.a));
    case spec::hist_w: return historically_within(std::chrono::nanoseconds(s.bound), build(*s.a));
  }
  return build(*s.a);
}

// The same formula in the text form (trace_spec.hpp), for parse_formula.
std::string text(const spec& s) {
  static const char* const atoms[] = {"send", "begin", "what(\"alpha\")", "what(\"beta\")", "actor == 1"};
  const std::string d = std::to_string(s.bound) + "ns";
  switch (s.k) {
    case spec::atom: return atoms[s.atom_index];
    case spec::neg: return "!(" + text(*s.a) + ")";
    case spec::conj: return "(" + text(*s.a) + " && " + text(*s.b) + ")";
    case spec::disj: return "(" + text(*s.a) + " || " + text(*s.b) + ")";
    case spec::impl: return "(" + text(*s.a) + " -> " + text(*s.b) + ")";
    case spec::prev: return "previously(" + text(*s.a) + ")";
    case spec::once_: return "once(" + text(*s.a) + ")";
    case spec::hist: return "historically(" + text(*s.a) + ")";
    case spec::since_: return "since(" + text(*s.a) + ", " + text(*s.b) + ")";
    case spec::once_w: return "once(" + text(*s.a) + ", " + d + ")";
    case spec::hist_w: return "historically(" + text(*s.a) + ", " + d + ")";
  }
  return "";
}

// truth[i] of `s` at every position of `es`, by the definitions.
std::vector<bool> reference(const spec& s, const std::vector<tracing::event>& es) {
  const std::size_t n = es.size();
  std::vector<bool> out(n), a, b;
  if (s.a) a = reference(*s.a, es);
  if (s.b) b = reference(*s.b, es);
  for (std::size_t i = 0; i < n; ++i) {
    bool v = false;
    switch (s.k) {
      case spec::atom: v = atom_holds(s.atom_index, es[i]); break;
      case spec::neg: v = !a[i]; break;
      case spec::conj: v = a[i] && b[i]; break;
      case spec::disj: v = a[i] || b[i]; break;
      case spec::impl: v = !a[i] || b[i]; break;
      case spec::prev: v = i > 0 && a[i - 1]; break;
      case spec::once_:
        for (std::size_t j = 0; j <= i && !v; ++j) v = a[j];
        break;
      case spec::hist:
        v = true;
        for (std::size_t j = 0; j <= i && v; ++j) v = a[j];
        break;
      case spec::since_:
        for (std::size_t j = 0; j <= i && !v; ++j) {
          if (!b[j]) continue;
          bool all = true;
          for (std::size_t k = j + 1; k <= i && all; ++k) all = a[k];
          v = all;
        }
        break;
      case spec::once_w:
        for (std::size_t j = 0; j <= i && !v; ++j) v = a[j] && es[i].time_ns - es[j].time_ns <= s.bound;
        break;
      case spec::hist_w:
        v = true;
        for (std::size_t j = 0; j <= i && v; ++j)
          if (es[i].time_ns - es[j].time_ns <= s.bound) v = a[j];
        break;
    }
    out[i] = v;
  }
  return out;
}

std::shared_ptr<spec> random_spec(std::mt19937_64& rng, int depth) {
  auto s = std::make_shared<spec>();
  if (depth == 0 || rng() % 4 == 0) {
    s->k = spec::atom;
    s->atom_index = static_cast<int>(rng() % atom_count);
    return s;
  }
  s->k = static_cast<spec::kind>(1 + rng() % 10);
  s->a = random_spec(rng, depth - 1);
  if (s->k == spec::conj || s->k == spec::disj || s->k == spec::impl || s->k == spec::since_)
    s->b = random_spec(rng, depth - 1);
  s->bound = static_cast<std::int64_t>(rng() % 50);
  return s;
}

std::vector<tracing::event> random_stream(std::mt19937_64& rng, std::size_t n) {
  std::vector<tracing::event> es(n);
  std::int64_t t = 1;
  for (auto& e : es) {
    t += static_cast<std::int64_t>(rng() % 8);  // equal times happen too
    e.time_ns = t;
    e.kind = static_cast<tracing::event_kind>(rng() % 4);
    e.what = words[rng() % 3];
    e.actor = rng() % 3;
  }
  return es;
}

}  // namespace

TEST(trace_check, compiled_monitors_agree_with_the_definitions_on_random_streams) {
  std::mt19937_64 rng(20261207);
  std::size_t events = 0;
  for (int round = 0; round < 120; ++round) {
    auto s = random_spec(rng, 4);
    auto es = random_stream(rng, 1000);
    auto expected = reference(*s, es);
    tracing::rule r("random", build(*s));
    // The text form, parsed, must mean the same.
    tracing::rule parsed("parsed", tracing::parse_formula(text(*s)));
    for (std::size_t i = 0; i < es.size(); ++i) {
      std::vector<tracing::violation> v;
      const bool holds = r.step(es[i], v);
      ASSERT_EQ(v.size(), holds ? 0u : 1u);
      ASSERT_EQ(holds, static_cast<bool>(expected[i]))
          << "round " << round << ", event " << i << ": " << build(*s).to_string();
      ASSERT_EQ(parsed.step(es[i], v), holds) << "round " << round << ", event " << i << ": " << text(*s);
    }
    events += es.size();
  }
  EXPECT_GE(events, 100'000u);
}

TEST(trace_check, a_rule_copy_starts_afresh) {
  tracing::rule r("no beta yet", !tracing::once(tracing::what_is("beta")));
  tracing::event alpha{.time_ns = 1, .kind = tracing::event_kind::mark, .what = "alpha"};
  tracing::event beta{.time_ns = 2, .kind = tracing::event_kind::mark, .what = "beta"};
  std::vector<tracing::violation> v;
  EXPECT_TRUE(r.step(alpha, v));
  EXPECT_FALSE(r.step(beta, v));
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].rule, "no beta yet");
  tracing::rule fresh = r;
  EXPECT_TRUE(fresh.step(alpha, v));
}

// A bounded response, event by event: a response after a trigger's
// deadline reports that trigger and answers the next one of its key, and
// two overdue triggers at one event are both reported.
TEST(trace_check, a_late_response_answers_the_next_trigger_and_every_overdue_one_is_reported) {
  using tracing::event;
  auto at = [](std::int64_t t, const char* what, std::uint64_t actor = 1) {
    return event{.time_ns = t, .kind = tracing::event_kind::mark, .actor = actor, .what = what};
  };
  tracing::rule r = tracing::answered_within("in 10", tracing::what_is("ask"), tracing::what_is("answer"),
                                             tracing::same_actor, std::chrono::nanoseconds(10));
  std::vector<tracing::violation> v;
  EXPECT_TRUE(r.step(at(0, "ask"), v));
  EXPECT_TRUE(r.step(at(8, "ask"), v));
  EXPECT_FALSE(r.step(at(12, "answer"), v));  // too late for the first ask, in time for the second
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].trigger.time_ns, 0);
  EXPECT_TRUE(r.step(at(30, "other"), v));  // the second ask was answered: nothing overdue
  EXPECT_EQ(v.size(), 1u);
  // Two asks of two actors, both overdue at one later event.
  EXPECT_TRUE(r.step(at(40, "ask", 1), v));
  EXPECT_TRUE(r.step(at(41, "ask", 2), v));
  EXPECT_FALSE(r.step(at(60, "other"), v));
  EXPECT_EQ(v.size(), 3u);
  EXPECT_TRUE(r.finish(100, v));
}

namespace {

struct query {
  int n;
};

// An actor that answers queries; query 7 takes `slow` to handle.
pid spawn_db(runtime& rt, std::chrono::milliseconds slow) {
  return rt.spawn([slow](actor& a) -> behavior {
    return {[&a, slow](query q) {
      if (q.n == 7) std::this_thread::sleep_for(slow);
      a.reply(q.n);
    }};
  });
}

void ask_all(runtime& rt, pid db) {
  scoped_actor self(rt);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(self.request<int>(db, query{i}, 10s));
}

tracing::rule answered_rule() {
  // Generous bounds: a loaded machine must not make a fast handler late.
  return tracing::answered_within("db answers in 1 s", tracing::begin_of("query"), tracing::end_of("query"),
                                  tracing::same_actor, 1s);
}

}  // namespace

TEST(trace_check, a_bounded_response_rule_catches_a_slow_handler_offline) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid db = spawn_db(rt, 2500ms);
  ask_all(rt, db);
  std::this_thread::sleep_for(20ms);  // the last end is recorded after its reply left
  auto broken = tracing::check(tracing::snapshot(rt), {answered_rule()});
  ASSERT_EQ(broken.size(), 1u);
  EXPECT_EQ(broken[0].rule, "db answers in 1 s");
  EXPECT_EQ(broken[0].trigger.kind, tracing::event_kind::begin);
  EXPECT_EQ(broken[0].trigger.actor, db.id());
  EXPECT_NE(tracing::to_string(broken[0]).find("unanswered"), std::string::npos);
}

TEST(trace_check, a_bounded_response_rule_is_silent_on_a_fast_handler) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid db = spawn_db(rt, 0ms);
  ask_all(rt, db);
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(tracing::check(tracing::snapshot(rt), {answered_rule()}).empty());
}

TEST(trace_check, the_online_checker_reports_while_the_runtime_runs) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  std::mutex mu;
  std::vector<tracing::violation> seen;
  tracing::checker watch(rt, {answered_rule()}, [&](const tracing::violation& v) {
    std::lock_guard lock(mu);
    seen.push_back(v);
  });
  pid db = spawn_db(rt, 2500ms);
  ask_all(rt, db);
  std::this_thread::sleep_for(20ms);
  watch.poll();
  watch.poll();
  std::lock_guard lock(mu);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].trigger.actor, db.id());
  // The flight recorder's window: the events checked just before it.
  EXPECT_FALSE(seen[0].window.empty());
  EXPECT_GT(watch.checked(), 0u);
  EXPECT_EQ(watch.violations(), 1u);
}

// A handler that never ends in time is reported while it still runs: the
// checker checks the deadlines up to its bound without a later event.
TEST(trace_check, the_online_checker_reports_a_handler_that_is_still_running) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  std::atomic<int> seen{0};
  tracing::checker watch(rt, {answered_rule()}, [&](const tracing::violation&) { ++seen; });
  pid db = spawn_db(rt, 4000ms);
  rt.send(db, query{7});
  bool reported = false;
  for (int i = 0; i < 70 && !reported; ++i) {  // the handler runs 4 s, the deadline is 1 s
    std::this_thread::sleep_for(50ms);
    watch.poll();
    reported = seen.load() == 1;
  }
  EXPECT_TRUE(reported) << "no report while the handler ran";
}
