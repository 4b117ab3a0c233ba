// runtime::stats, the process table, the metrics registry and the
// Prometheus text they make.
#include "troupe/observer/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "../eventually.hpp"
#include "troupe/async/stats.hpp"
#include "troupe/core/runtime_stats.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::test_support::eventually;

namespace {

config quiet(unsigned workers = 2) {
  config cfg{.workers = workers};
  cfg.log_level = log_level::off;
  return cfg;
}

// Checks the text format line by line: every sample belongs to a family
// announced by one # HELP and one # TYPE line before it, names and labels
// are well formed, and values parse. Returns the samples by their line's
// name and labels text.
std::map<std::string, double> parse_exposition(const std::string& text) {
  static const std::regex sample(
      R"re(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"(,[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*")*)\})? (\S+)$)re");
  static const std::regex help(R"re(^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$)re");
  static const std::regex type(R"re(^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$)re");
  std::map<std::string, double> samples;
  std::map<std::string, std::string> types;
  std::set<std::string> helped;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      EXPECT_TRUE(helped.insert(m[1]).second) << "two HELP lines for " << m[1];
    } else if (std::regex_match(line, m, type)) {
      EXPECT_TRUE(helped.count(m[1])) << "TYPE before HELP for " << m[1];
      EXPECT_TRUE(types.emplace(m[1], m[2]).second) << "two TYPE lines for " << m[1];
    } else if (std::regex_match(line, m, sample)) {
      std::string name = m[1];
      std::string family = name;
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (!types.count(family) && family.size() > std::strlen(suffix) &&
            family.compare(family.size() - std::strlen(suffix), std::strlen(suffix), suffix) == 0)
          family = family.substr(0, family.size() - std::strlen(suffix));
      EXPECT_TRUE(types.count(family)) << "sample without TYPE: " << line;
      const std::string value = m[7];
      double v = 0;
      if (value == "+Inf") v = INFINITY;
      else if (value == "-Inf") v = -INFINITY;
      else if (value == "NaN") v = NAN;
      else {
        std::size_t used = 0;
        v = std::stod(value, &used);
        EXPECT_EQ(used, value.size()) << line;
      }
      EXPECT_TRUE(samples.emplace(name + m[2].str(), v).second) << "sample twice: " << line;
    } else {
      ADD_FAILURE() << "not a line of the text format: '" << line << "'";
    }
  }
  return samples;
}

struct hold {};
struct work {};

}  // namespace

TEST(metrics, counters_gauges_histograms_print_in_the_text_format) {
  observer::metrics m;
  auto& orders = m.counter("shop_orders_total", "Orders taken.", {{"region", "eu"}});
  auto& orders_us = m.counter("shop_orders_total", "Orders taken.", {{"region", "us \"east\"\n"}});
  orders.add();
  orders.add(4);
  orders_us.add(2);
  EXPECT_EQ(&orders, &m.counter("shop_orders_total", "Orders taken.", {{"region", "eu"}}));
  auto& level = m.gauge("shop_queue_depth", "Orders waiting\\n.");
  level.set(7);
  level.add(-2.5);
  auto& latency = m.histogram("shop_checkout_seconds", "Checkout time.", {0.01, 0.1, 1});
  latency.observe(0.005);
  latency.observe(0.05);
  latency.observe(0.1);  // on a bound: counted in that bucket (le)
  latency.observe(5);
  std::string text;
  m.write_prometheus(text);
  EXPECT_NE(text.find("# HELP shop_orders_total Orders taken.\n# TYPE shop_orders_total counter\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("shop_orders_total{region=\"eu\"} 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_orders_total{region=\"us \\\"east\\\"\\n\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# HELP shop_queue_depth Orders waiting\\\\n.\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_queue_depth 4.5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_bucket{le=\"0.01\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_bucket{le=\"0.1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_bucket{le=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_bucket{le=\"+Inf\"} 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_count 4\n"), std::string::npos) << text;
  EXPECT_NE(text.find("shop_checkout_seconds_sum 5.155"), std::string::npos) << text;
  parse_exposition(text);
}

TEST(metrics, bad_names_types_and_bounds_are_refused) {
  observer::metrics m;
  EXPECT_THROW(m.counter("9lives_total", "x"), std::invalid_argument);
  EXPECT_THROW(m.counter("has space", "x"), std::invalid_argument);
  EXPECT_THROW(m.counter("ok_total", "x", {{"__reserved", "v"}}), std::invalid_argument);
  EXPECT_THROW(m.counter("ok_total", "x", {{"bad-label", "v"}}), std::invalid_argument);
  m.counter("ok_total", "x");
  EXPECT_THROW(m.gauge("ok_total", "x"), std::invalid_argument);
  EXPECT_THROW(m.histogram("h_seconds", "x", {1, 0.5}), std::invalid_argument);
  EXPECT_THROW(m.histogram("h_seconds", "x", {1, 1}), std::invalid_argument);
  m.histogram("h_seconds", "x", {1, 2});
  EXPECT_THROW(m.histogram("h_seconds", "x", {1, 3}, {{"a", "b"}}), std::invalid_argument);
  EXPECT_THROW(m.histogram("h2_seconds", "x", {1}, {{"le", "1"}}), std::invalid_argument);
  EXPECT_THROW(m.counter("troupe_mine_total", "x"), std::invalid_argument);
  EXPECT_THROW(m.counter("twice_total", "x", {{"a", "1"}, {"a", "2"}}), std::invalid_argument);
  // Labels in another order are the same series.
  EXPECT_EQ(&m.gauge("pair", "x", {{"a", "1"}, {"b", "2"}}), &m.gauge("pair", "x", {{"b", "2"}, {"a", "1"}}));
}

TEST(metrics, a_counter_counted_from_many_threads_sums_exactly) {
  observer::metrics m;
  auto& c = m.counter("hits_total", "Hits.");
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.add();
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 800000u);
}

TEST(runtime_stats, counts_spawns_messages_ends_and_dead_letters) {
  runtime rt(quiet());
  const auto before = rt.stats();
  std::atomic<int> handled{0};
  std::vector<pid> actors;
  for (int i = 0; i < 20; ++i)
    actors.push_back(rt.spawn([&handled](actor&) -> behavior { return {[&handled](work) { ++handled; }}; }));
  for (int round = 0; round < 50; ++round)
    for (auto& a : actors) rt.send(a, work{});
  ASSERT_TRUE(eventually([&] { return handled.load() == 1000; }));
  auto s = rt.stats();
  EXPECT_GE(s.actors_spawned, before.actors_spawned + 20);
  EXPECT_GE(s.actors_alive, 20u);
  EXPECT_GE(s.messages_received, before.messages_received + 1000);
  EXPECT_GE(s.messages_handled, before.messages_handled + 1000);
  // Ends, by class.
  auto crasher = rt.spawn([](actor&) -> behavior { return {[](work) { throw std::runtime_error("boom"); }}; });
  rt.send(crasher, work{});
  rt.send_exit(actors[0], exit_reason::kill());
  auto finisher = rt.spawn([](actor& self) -> behavior { return {[&self](work) { self.quit(); }}; });
  rt.send(finisher, work{});
  ASSERT_TRUE(eventually([&] { return !rt.is_alive(crasher) && !rt.is_alive(actors[0]) && !rt.is_alive(finisher); }));
  ASSERT_TRUE(eventually([&] {
    s = rt.stats();
    return s.ended_error >= 1 && s.ended_killed >= 1 && s.ended_normal >= 1;
  }));
  // A message for the dead: a dead letter, by cause.
  rt.send(crasher, work{});
  s = rt.stats();
  EXPECT_GE(s.dead_letters, 1u);
  bool found = false;
  for (const auto& [cause, n] : s.dead_letters_by_cause) found |= cause == "receiver dead" && n >= 1;
  EXPECT_TRUE(found);
  // Messages of actors that ended stay counted.
  EXPECT_GE(s.messages_handled, before.messages_handled + 1000);
}

TEST(runtime_stats, workers_count_turns_and_sleep) {
  runtime rt(quiet(2));
  std::atomic<int> handled{0};
  auto a = rt.spawn([&handled](actor&) -> behavior { return {[&handled](work) { ++handled; }}; });
  for (int i = 0; i < 100; ++i) rt.send(a, work{});
  ASSERT_TRUE(eventually([&] { return handled.load() == 100; }));
  // Idle now: the workers sleep, and a sleep under way counts.
  std::this_thread::sleep_for(50ms);
  auto s = rt.stats();
  ASSERT_GE(s.workers.size(), 2u);
  std::uint64_t turns = 0;
  for (const auto& w : s.workers) {
    turns += w.turns;
    EXPECT_LE(w.asleep.count(), s.uptime.count() + 1000000) << "worker " << w.index;
  }
  EXPECT_GE(turns, 1u);
  std::chrono::nanoseconds asleep{0};
  for (const auto& w : s.workers)
    if (!w.spare) asleep += w.asleep;
  EXPECT_GT(asleep.count(), 0);
  const auto later = rt.stats();
  std::chrono::nanoseconds asleep_later{0};
  for (const auto& w : later.workers)
    if (!w.spare) asleep_later += w.asleep;
  EXPECT_GE(asleep_later.count(), asleep.count());
}

TEST(runtime_stats, the_longest_mailboxes_and_the_process_table) {
  runtime rt(quiet());
  // Shared with the handler, which may outlive this body if it fails.
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto holding = std::make_shared<std::atomic<bool>>(false);
  auto stuck = rt.spawn(spawn_options{.name = "stats.stuck"}, [release, holding](actor&) -> behavior {
    return {[release, holding](hold) {
              *holding = true;
              while (!*release) std::this_thread::sleep_for(1ms);
            },
            [](work) {}};
  });
  std::shared_ptr<void> let_go(nullptr, [release](void*) { *release = true; });
  rt.send(stuck, hold{});
  ASSERT_TRUE(eventually([&] { return holding->load(); }));
  for (int i = 0; i < 150; ++i) rt.send(stuck, work{});
  auto s = rt.stats();
  ASSERT_FALSE(s.largest_mailboxes.empty());
  EXPECT_EQ(s.largest_mailboxes[0].first, stuck);
  EXPECT_EQ(s.largest_mailboxes[0].second, 150u);
  // Cumulative by bound: the stuck one is past 100 and within 1000.
  EXPECT_EQ(s.mailbox_lengths.back(), s.actors_alive);
  EXPECT_LT(s.mailbox_lengths[3], s.mailbox_lengths[4]);  // <= 100 vs <= 1000
  process_info p;
  ASSERT_TRUE(rt.process(stuck.id(), p));
  EXPECT_EQ(p.name, "stats.stuck");
  EXPECT_EQ(p.mailbox, 150u);
  EXPECT_EQ(p.kind, "actor");
  EXPECT_EQ(p.status, "runnable");
  EXPECT_GE(p.memory_bytes, 150u * 64);
  bool seen = false;
  std::size_t visited = 0;
  rt.for_each_process([&](const process_info& q) {
    ++visited;
    if (q.pid == stuck) seen = q.name == "stats.stuck" && q.mailbox == 150;
  });
  EXPECT_TRUE(seen);
  EXPECT_GE(visited, 1u);
  EXPECT_FALSE(rt.process(999999999, p));
  *release = true;
  ASSERT_TRUE(eventually([&] { return rt.mailbox_size(stuck) == 0; }));
  ASSERT_TRUE(eventually([&] { return rt.process(stuck.id(), p) && p.status == "waiting"; }));
}

TEST(prometheus, the_runtime_text_is_well_formed_and_carries_its_counters) {
  runtime rt(quiet());
  observer::metrics user;
  user.counter("app_things_total", "Things.").add(3);
  auto svc_stats = std::make_shared<troupe::stats>();
  svc_stats->record(std::chrono::milliseconds(2), nullptr);
  error failed(errc::timeout, "slow");
  svc_stats->record(std::chrono::milliseconds(20), &failed);
  user.service("app_backend", svc_stats);
  auto a = rt.spawn([](actor&) -> behavior { return {[](work) {}}; });
  rt.send(a, work{});
  const std::string text = observer::prometheus_text(rt, &user);
  const auto samples = parse_exposition(text);
  EXPECT_TRUE(samples.count("troupe_actors_alive"));
  EXPECT_TRUE(samples.count("troupe_actors_ended_total{reason=\"error\"}"));
  EXPECT_TRUE(samples.count("troupe_worker_turns_total{worker=\"0\",spare=\"false\"}"));
  EXPECT_TRUE(samples.count("troupe_worker_asleep_seconds_total{worker=\"1\",spare=\"false\"}"));
  EXPECT_TRUE(samples.count("troupe_actors_by_mailbox_length{le=\"+Inf\"}"));
  EXPECT_EQ(samples.at("app_things_total"), 3);
  EXPECT_EQ(samples.at("app_backend_requests_total"), 2);
  EXPECT_EQ(samples.at("app_backend_failures_total{code=\"timeout\"}"), 1);
  EXPECT_EQ(samples.at("app_backend_latency_seconds_count"), 2);
  EXPECT_NEAR(samples.at("app_backend_latency_seconds_sum"), 0.022, 1e-9);
  EXPECT_GE(samples.at("troupe_actors_alive"), 1);
}
