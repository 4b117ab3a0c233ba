// troupe::trace: what is recorded, filters, the rate limit, full rings,
// the crash report's tail, user marks and spans, and the Chrome export.
#include "troupe/core/trace.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "settled_snapshot.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::test_support::eventually;
using troupe::test_support::settled_snapshot;

namespace {

struct work {
  int n;
};

std::size_t count_of(const std::vector<tracing::event>& events, tracing::event_kind kind) {
  return static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [kind](const tracing::event& e) { return e.kind == kind; }));
}

// An echo server and a client that sends it `n` works and waits for the
// replies.
void run_echo(runtime& rt, pid server, int n) {
  scoped_actor self(rt);
  for (int i = 0; i < n; ++i) {
    auto r = self.request<int>(server, work{i}, 10s);
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(*r, i);
  }
}

pid spawn_echo(runtime& rt) {
  return rt.spawn([](actor& a) -> behavior { return {[&a](work w) { a.reply(w.n); }}; });
}

}  // namespace

TEST(trace, records_spawns_sends_handlings_and_exits_with_flows_paired) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid server = spawn_echo(rt);
  run_echo(rt, server, 20);
  rt.send_exit(server, exit_reason::kill());
  ASSERT_TRUE(eventually([&] { return !rt.is_alive(server); }));
  auto events = tracing::snapshot(rt);

  EXPECT_GE(count_of(events, tracing::event_kind::spawn), 1u);
  bool saw_exit = false;
  for (auto& e : events)
    if (e.kind == tracing::event_kind::exit && e.actor == server.id()) saw_exit = true;
  EXPECT_TRUE(saw_exit);

  // Every work the server handled: a send to it, a begin, an end, in order,
  // with the send and the begin sharing a flow number.
  std::map<std::uint64_t, const tracing::event*> sends;
  int handled = 0;
  for (auto& e : events) {
    if (e.kind == tracing::event_kind::send) {
      EXPECT_NE(e.flow, 0u);
      EXPECT_FALSE(sends.contains(e.flow)) << "flow numbers are unique";
      sends[e.flow] = &e;
    }
    if (e.kind == tracing::event_kind::begin && e.actor == server.id()) {
      EXPECT_NE(e.what.find("work"), std::string::npos) << e.what;
      ASSERT_TRUE(sends.contains(e.flow)) << "a handling without its send";
      EXPECT_EQ(sends[e.flow]->other, server.id());
      EXPECT_LE(sends[e.flow]->time_ns, e.time_ns);
      ++handled;
    }
  }
  EXPECT_EQ(handled, 20);
  EXPECT_EQ(count_of(events, tracing::event_kind::begin), count_of(events, tracing::event_kind::end));
  // The replies are sends from the server.
  std::size_t replies = 0;
  for (auto& e : events)
    if (e.kind == tracing::event_kind::send && e.actor == server.id()) ++replies;
  EXPECT_EQ(replies, 20u);
  // Each reply is stamped inside the handling it was sent from (so the
  // export's flow starts inside its slice), though it leaves when the
  // handler returns.
  std::vector<std::pair<std::int64_t, std::int64_t>> handlings;
  std::int64_t began = -1;
  for (auto& e : events) {
    if (e.actor != server.id()) continue;
    if (e.kind == tracing::event_kind::begin) began = e.time_ns;
    if (e.kind == tracing::event_kind::end && began >= 0) handlings.emplace_back(began, e.time_ns);
  }
  for (auto& e : events) {
    if (e.kind != tracing::event_kind::send || e.actor != server.id()) continue;
    bool inside = false;
    for (auto& [b, en] : handlings) inside = inside || (b <= e.time_ns && e.time_ns <= en);
    EXPECT_TRUE(inside) << tracing::to_string(e);
  }
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_LE(events[i - 1].time_ns, events[i].time_ns);
}

TEST(trace, records_nothing_when_off_or_stopped) {
  runtime rt(config{.workers = 2});
  pid server = spawn_echo(rt);
  run_echo(rt, server, 5);
  EXPECT_TRUE(tracing::snapshot(rt).empty());
  tracing::start(rt);
  run_echo(rt, server, 5);
  tracing::stop(rt);
  EXPECT_FALSE(tracing::active(rt));
  const auto before = settled_snapshot(rt).size();
  EXPECT_GT(before, 0u);
  run_echo(rt, server, 5);
  EXPECT_EQ(tracing::snapshot(rt).size(), before) << "what was recorded stays, nothing is added";
}

TEST(trace, an_actor_filter_records_only_that_actors_events) {
  runtime rt(config{.workers = 2});
  std::vector<pid> servers;
  for (int i = 0; i < 50; ++i) servers.push_back(spawn_echo(rt));
  pid traced = servers[17];
  tracing::start(rt, {.filter = {.actors = {traced}}});
  for (auto& s : servers) run_echo(rt, s, 3);
  auto events = tracing::snapshot(rt);
  ASSERT_FALSE(events.empty());
  for (auto& e : events) EXPECT_TRUE(e.actor == traced.id() || e.other == traced.id()) << tracing::to_string(e);
  std::size_t begins = 0;
  for (auto& e : events)
    if (e.kind == tracing::event_kind::begin && e.actor == traced.id()) ++begins;
  EXPECT_EQ(begins, 3u);
}

TEST(trace, a_kind_filter_records_only_those_kinds) {
  runtime rt(config{.workers = 2});
  pid server = spawn_echo(rt);
  tracing::start(rt, {.filter = {.kinds = tracing::kind_bit(tracing::event_kind::begin) |
                                        tracing::kind_bit(tracing::event_kind::end)}});
  run_echo(rt, server, 10);
  auto events = settled_snapshot(rt);
  EXPECT_EQ(count_of(events, tracing::event_kind::begin), 10u);
  EXPECT_EQ(count_of(events, tracing::event_kind::end), 10u);
  EXPECT_EQ(count_of(events, tracing::event_kind::send), 0u);
}

TEST(trace, the_rate_limit_holds_and_counts_what_it_dropped) {
  runtime rt(config{.workers = 2});
  pid server = spawn_echo(rt);
  constexpr std::uint64_t limit = 50;
  tracing::start(rt, {.filter = {.max_events_per_second = limit}});
  const auto t0 = std::chrono::steady_clock::now();
  run_echo(rt, server, 500);  // 2,000 events and more
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto st = tracing::counts(rt);
  // At most `limit` per started second (the window may open twice at a
  // second's edge: a few more).
  const auto windows = static_cast<std::uint64_t>(seconds) + 2;
  EXPECT_LE(st.recorded, windows * limit + 8);
  EXPECT_GT(st.rate_limited, 0u);
}

TEST(trace, a_full_ring_keeps_the_newest_events_and_counts_the_overwritten) {
  runtime rt(config{.workers = 1});
  pid server = spawn_echo(rt);
  tracing::start(rt, {.ring_events = 64});
  run_echo(rt, server, 200);
  auto events = settled_snapshot(rt);
  auto st = tracing::counts(rt);
  EXPECT_GT(st.overwritten, 0u);
  EXPECT_EQ(st.recorded - st.overwritten, events.size());
  // Per thread, at most the ring's size.
  std::map<std::uint32_t, std::size_t> per_thread;
  for (auto& e : events) ++per_thread[e.thread];
  for (auto& [thread, n] : per_thread) EXPECT_LE(n, 64u);
  // The newest: the last work handled is in the window.
  bool saw_last = false;
  for (auto& e : events)
    if (e.kind == tracing::event_kind::begin && e.actor == server.id()) saw_last = true;
  EXPECT_TRUE(saw_last);
}

TEST(trace, a_crash_report_carries_the_crashed_actors_last_events) {
  std::mutex mu;
  std::vector<std::string> crash_reports;
  config cfg{.workers = 2};
  cfg.log_sink = [&](const log_record& r) {
    if (std::string(r.text).find("crash report") == std::string::npos) return;
    std::lock_guard lock(mu);
    crash_reports.emplace_back(r.text);
  };
  runtime rt(cfg);
  tracing::start(rt, {.ring_events = 1024});  // a flight recorder
  pid fragile = rt.spawn([](actor&) -> behavior {
    return {[](work w) {
      if (w.n == 3) throw std::runtime_error("three is too many");
    }};
  });
  for (int i = 0; i < 4; ++i) rt.send(fragile, work{i});
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return !crash_reports.empty();
  }));
  std::lock_guard lock(mu);
  const std::string& report = crash_reports.front();
  EXPECT_NE(report.find("three is too many"), std::string::npos) << report;
  EXPECT_NE(report.find("last traced events"), std::string::npos) << report;
  EXPECT_NE(report.find("begin"), std::string::npos) << report;
  EXPECT_EQ(report.find('\n'), std::string::npos) << "a log record is one line";
}

TEST(trace, marks_and_spans_are_recorded_in_their_actor) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid worker = rt.spawn([](actor& a) -> behavior {
    return {[&a](work w) {
      tracing::span s("compute");
      tracing::mark("progress", w.n);
      a.reply(w.n);
    }};
  });
  run_echo(rt, worker, 3);
  tracing::mark("outside");  // outside any actor: in the runtime that started tracing last
  auto events = settled_snapshot(rt);
  std::vector<std::string> seen;
  for (auto& e : events)
    if (e.actor == worker.id() &&
        (e.kind == tracing::event_kind::mark || e.kind == tracing::event_kind::span_begin ||
         e.kind == tracing::event_kind::span_end))
      seen.push_back(std::string(tracing::to_string(e.kind)) + ":" + e.what + ":" + std::to_string(e.value));
  ASSERT_EQ(seen.size(), 9u);
  EXPECT_EQ(seen[0], "span_begin:compute:0");
  EXPECT_EQ(seen[1], "mark:progress:0");
  EXPECT_EQ(seen[2], "span_end:compute:0");
  EXPECT_EQ(seen[7], "mark:progress:2");
  int outside = 0;
  for (auto& e : events)
    if (e.what == "outside") {
      ++outside;
      EXPECT_EQ(e.actor, 0u);
    }
  EXPECT_EQ(outside, 1);
}

TEST(trace, the_chrome_export_has_slices_flows_and_metadata) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid server = spawn_echo(rt);
  run_echo(rt, server, 5);
  std::ostringstream out;
  tracing::write_chrome_json(settled_snapshot(rt), out, 7);
  const std::string json = out.str();
  EXPECT_EQ(json.rfind("{\"displayTimeUnit\"", 0), 0u);
  EXPECT_NE(json.find("\"lost_events\":7"), std::string::npos);
  auto count = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto at = json.find(needle); at != std::string::npos; at = json.find(needle, at + 1)) ++n;
    return n;
  };
  // Each handling of a work: a slice on its thread's and its actor's track.
  EXPECT_GE(count("\"ph\":\"X\""), 10u);
  // Each handling by the server ends a flow that a send started.
  EXPECT_GE(count("\"ph\":\"f\""), 5u);
  EXPECT_GE(count("\"ph\":\"s\""), count("\"ph\":\"f\""));
  EXPECT_NE(json.find("\"thread_name\""), std::string::npos);
}

TEST(trace, last_events_of_gives_an_actors_newest_events_oldest_first) {
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  pid server = spawn_echo(rt);
  pid other = spawn_echo(rt);
  run_echo(rt, server, 30);
  run_echo(rt, other, 5);
  (void)settled_snapshot(rt);
  auto last = tracing::last_events_of(rt, server, 10);
  ASSERT_EQ(last.size(), 10u);
  for (auto& e : last) EXPECT_TRUE(e.actor == server.id() || e.other == server.id()) << tracing::to_string(e);
  for (std::size_t i = 1; i < last.size(); ++i) EXPECT_LE(last[i - 1].time_ns, last[i].time_ns);
  // The newest: the server's last handling, or the reply it sent (a
  // handler's sends leave when it returns).
  EXPECT_TRUE(last.back().kind == tracing::event_kind::end || last.back().kind == tracing::event_kind::send)
      << tracing::to_string(last.back());
  EXPECT_TRUE(tracing::last_events_of(rt, pid(), 10).empty());
}

TEST(trace, the_chrome_export_keeps_utf8_and_escapes_other_bytes) {
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  pid marker = rt.spawn([](actor&) -> behavior {
    return {[](work) {
      tracing::mark("caf\xc3\xa9");      // UTF-8: kept
      tracing::mark("bad\xff \"q\"\n");  // not UTF-8, a quote, a control byte: escaped
    }};
  });
  rt.send(marker, work{1});
  std::ostringstream out;
  std::vector<tracing::event> events;
  for (int i = 0; i < 200 && events.size() < 2; ++i) {
    std::this_thread::sleep_for(5ms);
    events.clear();
    for (auto& e : tracing::snapshot(rt))
      if (e.kind == tracing::event_kind::mark) events.push_back(e);
  }
  ASSERT_EQ(events.size(), 2u);
  tracing::write_chrome_json(events, out);
  const std::string json = out.str();
  EXPECT_NE(json.find("\"caf\xc3\xa9\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"bad\\u00ff \\\"q\\\"\\u000a\""), std::string::npos) << json;
}

namespace {
struct chatter {
  int n;
};
struct make_child {};
}  // namespace

TEST(trace, a_message_type_filter_keeps_only_that_types_sends_and_handlings) {
  runtime rt(config{.workers = 2});
  pid server = rt.spawn([](actor& a) -> behavior {
    return {[&a](work w) { a.reply(w.n); }, [](chatter) {}};
  });
  tracing::options how;
  how.filter.message_types = {"work"};
  tracing::start(rt, how);
  scoped_actor self(rt);
  for (int i = 0; i < 5; ++i) self.send(server, chatter{i});
  run_echo(rt, server, 3);
  auto events = settled_snapshot(rt);
  std::size_t works = 0;
  for (auto& e : events) {
    if (e.kind != tracing::event_kind::send && e.kind != tracing::event_kind::begin &&
        e.kind != tracing::event_kind::end)
      continue;
    EXPECT_NE(e.what.find("work"), std::string::npos) << tracing::to_string(e);
    ++works;
  }
  EXPECT_EQ(works, 9u);  // three works: a send, a begin and an end each (replies are ints)
}

TEST(trace, with_spawned_the_filtered_actors_children_are_traced_too) {
  runtime rt(config{.workers = 2});
  auto child_pid = std::make_shared<std::atomic<std::uint64_t>>(0);
  pid parent = rt.spawn([child_pid](actor& a) -> behavior {
    return {[](chatter) {}, [&a, child_pid](make_child) {
      pid parent_pid = a.pid();
      pid child = a.spawn([parent_pid](actor& c) -> behavior {
        c.send(parent_pid, chatter{0});  // in its setup, which may run at once, right here
        return {[&c](work w) { c.reply(w.n); }};
      });
      child_pid->store(child.id());
      return child;
    }};
  });
  pid stranger = spawn_echo(rt);
  tracing::options how;
  how.filter.actors = {parent};
  how.filter.with_spawned = true;
  tracing::start(rt, how);
  scoped_actor self(rt);
  auto child = self.request<pid>(parent, make_child{}, 10s);
  ASSERT_TRUE(child);
  run_echo(rt, *child, 2);
  run_echo(rt, stranger, 2);
  auto events = settled_snapshot(rt);
  std::size_t of_child = 0, setup_sends = 0;
  for (auto& e : events) {
    EXPECT_NE(e.actor, stranger.id()) << tracing::to_string(e);
    if (e.actor == child->id() && e.kind == tracing::event_kind::begin) ++of_child;
    if (e.actor == child->id() && e.kind == tracing::event_kind::send && e.what.find("chatter") != std::string::npos)
      ++setup_sends;
  }
  EXPECT_EQ(of_child, 2u) << "the child's handlings are traced";
  EXPECT_EQ(setup_sends, 1u) << "from its first event: the send in its setup";
}

TEST(trace, a_type_filter_is_not_mistaken_for_an_earlier_runtimes) {
  // One thread, runtimes one after another: a new filter may be allocated
  // where the last one was; its verdicts on types must be its own.
  for (const char* wanted : {"work", "chatter"}) {
    runtime rt(config{.workers = 1});
    pid server = rt.spawn([](actor& a) -> behavior { return {[&a](work w) { a.reply(w.n); }, [](chatter) {}}; });
    tracing::options how;
    how.filter.message_types = {wanted};
    tracing::start(rt, how);
    scoped_actor self(rt);
    self.send(server, chatter{1});
    run_echo(rt, server, 1);
    std::size_t matching = 0, other = 0;
    for (auto& e : settled_snapshot(rt))
      if (e.kind == tracing::event_kind::send || e.kind == tracing::event_kind::begin)
        (e.what.find(wanted) != std::string::npos ? matching : other)++;
    EXPECT_EQ(other, 0u) << wanted;
    EXPECT_EQ(matching, 2u) << wanted;
  }
}
