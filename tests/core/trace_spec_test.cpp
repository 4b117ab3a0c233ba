// Temporal assertions as text (trace_spec.hpp), the two keyed rules
// (held_at_most, at_most_within) event by event, traces as JSON lines
// (trace_file.hpp) and the streaming file sink on a live runtime.
#include "troupe/core/trace_spec.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "../eventually.hpp"
#include "troupe/core/trace_file.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using tracing::event;
using tracing::event_kind;

namespace {

event at(std::int64_t t, event_kind kind, std::uint64_t actor, std::int64_t value = 0, const char* what = "") {
  return event{.time_ns = t, .kind = kind, .actor = actor, .what = what, .value = value};
}

std::size_t broken_count(tracing::rule r, const std::vector<event>& events, std::int64_t end) {
  std::vector<tracing::violation> v;
  for (auto& e : events) r.step(e, v);
  r.finish(end, v);
  return v.size();
}

// Where parse_rules(text) failed, and its message.
std::string error_of(const std::string& text, std::size_t* column = nullptr) {
  try {
    tracing::parse_rules(text);
  } catch (const tracing::spec_error& e) {
    if (column) *column = e.column();
    return e.what();
  }
  return "";
}

}  // namespace

TEST(trace_spec, parses_every_rule_form_and_names_them) {
  auto rules = tracing::parse_rules(R"(
    # the shipped examples
    "queries answered": respond(begin("query"), end("query"), 10ms, actor);
    "short mailboxes": bounded(begin && value > 100, begin && value <= 100, 50ms, actor);
    "restarts bounded": at_most(3, restart, 5s, actor);
    "jobs are fresh": begin("job") -> once(send("job"), 50ms);
    "nested": !(since(historically(true), previously(false)) || once(what("x"))) && other != 3;
  )");
  ASSERT_EQ(rules.size(), 5u);
  EXPECT_EQ(rules[0].name(), "queries answered");
  EXPECT_EQ(rules[4].name(), "nested");
}

TEST(trace_spec, a_malformed_spec_says_what_was_expected_and_where) {
  std::size_t column = 0;
  EXPECT_NE(error_of(R"("r": begin("q") &&)", &column).find("expected a formula"), std::string::npos);
  EXPECT_EQ(column, 19u);  // after the &&
  EXPECT_NE(error_of(R"("r": bgin)", &column).find("an event kind"), std::string::npos);
  EXPECT_EQ(column, 6u);
  EXPECT_NE(error_of(R"("r": respond(begin, end, 10 ms))").find("unit"), std::string::npos);
  EXPECT_NE(error_of(R"("r": respond(begin, end, 10ms, color))").find("a key"), std::string::npos);
  EXPECT_NE(error_of(R"(r: begin)").find("a rule's name in quotes"), std::string::npos);
  EXPECT_NE(error_of(R"x("r": once(begin)"r2": end)x").find("';' between rules"), std::string::npos);
  EXPECT_NE(error_of(R"("r": what("open)").find("closing '\"'"), std::string::npos);
  EXPECT_NE(error_of(R"("r": value > x)").find("a whole number"), std::string::npos);
  EXPECT_NE(error_of(R"("r": at_most(x, begin, 1s))").find("a count"), std::string::npos);
  EXPECT_NE(error_of("").find("a rule"), std::string::npos);
  EXPECT_NE(error_of("\"a\": begin;\n\"b\": (end").find("2:"), std::string::npos);  // line 2
  EXPECT_NE(error_of(R"("r": begin $)").find("found '$'"), std::string::npos);
  EXPECT_NE(error_of(R"("r": value > 99999999999999999999)").find("fits 64 bits"), std::string::npos);
  EXPECT_NE(error_of(std::string("\"deep\": ") + std::string(1000, '(') + "begin" + std::string(1000, ')'))
                .find("nested at most"),
            std::string::npos);
  EXPECT_EQ(error_of(R"("neg": value > -1)"), "");  // negative numbers parse
  std::string chain = "\"long\": begin";
  for (int i = 0; i < 20'000; ++i) chain += " && end";
  EXPECT_NE(error_of(chain).find("tokens"), std::string::npos);
  EXPECT_THROW(tracing::parse_formula("begin end"), tracing::spec_error);
}

// The held condition: reported once per start, at the first event past
// its bound (or at the end), and not at all when it ends in time.
TEST(trace_spec, held_at_most_reports_a_condition_that_lasts_too_long) {
  auto r = tracing::parse_rules(R"("short": bounded(begin && value > 5, begin && value <= 5, 100ns, actor))")[0];
  std::vector<event> in_time = {at(0, event_kind::begin, 1, 9), at(50, event_kind::begin, 1, 8),
                                at(90, event_kind::begin, 1, 2), at(500, event_kind::mark, 2)};
  EXPECT_EQ(broken_count(r, in_time, 1000), 0u);
  std::vector<event> too_long = {at(0, event_kind::begin, 1, 9), at(50, event_kind::begin, 1, 8),
                                 at(60, event_kind::begin, 2, 9), at(120, event_kind::begin, 2, 1),
                                 at(150, event_kind::end, 1, 0), at(300, event_kind::begin, 1, 3)};
  std::vector<tracing::violation> v;
  for (auto& e : too_long) r.step(e, v);
  ASSERT_EQ(v.size(), 1u);  // actor 1, found at t=120 (past 0+100); actor 2 ended in time
  EXPECT_EQ(v[0].trigger.actor, 1u);
  EXPECT_EQ(v[0].at.time_ns, 120);
  // Still open at the end of the stream: finish reports it.
  std::vector<event> open = {at(0, event_kind::begin, 3, 7)};
  EXPECT_EQ(broken_count(r, open, 50), 0u);
  EXPECT_EQ(broken_count(r, open, 101), 1u);
}

TEST(trace_spec, at_most_within_counts_per_key_in_a_sliding_window) {
  auto r = tracing::parse_rules(R"("few": at_most(2, restart, 100ns, actor))")[0];
  std::vector<event> spread = {at(0, event_kind::restart, 1), at(60, event_kind::restart, 1),
                               at(120, event_kind::restart, 1), at(180, event_kind::restart, 1),
                               at(130, event_kind::restart, 2), at(140, event_kind::restart, 2)};
  EXPECT_EQ(broken_count(r, spread, 1000), 0u);
  std::vector<event> burst = {at(0, event_kind::restart, 1), at(10, event_kind::restart, 2),
                              at(20, event_kind::restart, 1), at(30, event_kind::restart, 1),
                              at(40, event_kind::mark, 1), at(300, event_kind::restart, 1)};
  EXPECT_EQ(broken_count(r, burst, 1000), 1u);
  // n = 0: every burst (events closer than the window) is reported once.
  auto none = tracing::parse_rules(R"("none": at_most(0, restart, 100ns, actor))")[0];
  std::vector<event> two_bursts = {at(0, event_kind::restart, 1), at(10, event_kind::restart, 1),
                                   at(500, event_kind::restart, 1)};
  EXPECT_EQ(broken_count(none, two_bursts, 1000), 2u);
}

// The text form builds the same monitors as the C++ form.
TEST(trace_spec, text_and_cpp_rules_agree_on_a_random_stream) {
  std::mt19937_64 rng(7);
  std::vector<event> es;
  std::int64_t t = 0;
  for (int i = 0; i < 20'000; ++i) {
    t += static_cast<std::int64_t>(rng() % 20);
    const auto kind = static_cast<event_kind>(rng() % 5);
    es.push_back(at(t, kind, rng() % 4, static_cast<std::int64_t>(rng() % 10), rng() % 2 ? "query" : "job"));
  }
  using namespace tracing;
  std::vector<std::pair<std::string, rule>> pairs = {
      {R"("a": respond(begin("query"), end("query"), 40ns, actor))",
       answered_within("a", begin_of("query"), end_of("query"), same_actor, 40ns)},
      {R"("b": bounded(begin && value > 6, begin && value <= 6, 60ns, actor))",
       held_at_most("b", begin_queued_above(6), kind_is(event_kind::begin) && !begin_queued_above(6), same_actor,
                    60ns)},
      {R"("c": at_most(3, exit, 50ns, actor))", at_most_within("c", 3, kind_is(event_kind::exit), same_actor, 50ns)},
      {R"("d": send("job") -> once(begin("job"), 30ns) || previously(spawn))",
       rule("d", implies(send_of("job"), once_within(30ns, begin_of("job")) || previously(kind_is(event_kind::spawn))))},
  };
  for (auto& [text, cpp] : pairs) {
    auto parsed = parse_rules(text);
    ASSERT_EQ(parsed.size(), 1u);
    const std::size_t expected = broken_count(cpp, es, t + 1000);
    EXPECT_EQ(broken_count(parsed[0], es, t + 1000), expected) << text;
    EXPECT_GT(expected, 0u) << text << " (the stream should break each rule somewhere)";
  }
}

TEST(trace_file, events_round_trip_through_json_lines) {
  std::vector<event> es;
  for (int i = 0; i < 50; ++i) {
    event e = at(1'000'000'000'000 + i, static_cast<event_kind>(i % tracing::event_kind_count), std::uint64_t{1} << (i % 40), -i,
                 i % 3 ? "a \"quoted\"\\ name\n\t" : "int");
    e.thread = static_cast<std::uint32_t>(i);
    e.other = ~std::uint64_t{0} - static_cast<std::uint64_t>(i);
    e.flow = static_cast<std::uint64_t>(i) * 3;
    e.trace_id = 0xDEADBEEFCAFEull + static_cast<std::uint64_t>(i);
    e.span_id = 5;
    e.parent_span_id = 6;
    es.push_back(e);
  }
  std::stringstream file;
  tracing::write_jsonl(es, file);
  auto back = tracing::read_jsonl(file);
  ASSERT_EQ(back.size(), es.size());
  for (std::size_t i = 0; i < es.size(); ++i) {
    EXPECT_EQ(tracing::to_json(back[i]), tracing::to_json(es[i]));
    EXPECT_EQ(back[i].what, es[i].what);
    EXPECT_EQ(back[i].other, es[i].other);
  }
}

// Bytes that are not UTF-8 (an exit reason may carry any) still make a file
// that reads back.
TEST(trace_file, text_that_is_not_utf8_is_written_so_that_it_reads_back) {
  std::vector<event> es = {at(1, event_kind::exit, 1, 0, "bad \xff\xfe byte, good \xc3\xa9")};
  std::stringstream file;
  tracing::write_jsonl(es, file);
  auto back = tracing::read_jsonl(file);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].what, "bad \xef\xbf\xbd\xef\xbf\xbd byte, good \xc3\xa9");
}

TEST(trace_file, a_file_that_is_not_a_trace_gets_a_clear_error) {
  auto error = [](const std::string& text) -> std::string {
    std::istringstream in(text);
    try {
      tracing::read_jsonl(in);
    } catch (const tracing::trace_file_error& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(error("{\"traceEvents\":[]}\n").find("Chrome trace-event"), std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":\"send\"}\nnot json\n").find("line 2: not JSON"), std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":\"sned\"}\n").find("unknown event kind \"sned\""), std::string::npos);
  EXPECT_NE(error("{\"t\":\"soon\",\"kind\":\"send\"}\n").find("\"t\" must be a whole number"), std::string::npos);
  EXPECT_NE(error("[1,2]\n").find("Chrome"), std::string::npos);
  EXPECT_NE(error("{\"x\":1}\n").find("not an event"), std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":\"send\",\"actor\":-3}\n").find("\"actor\" must be"), std::string::npos);
  EXPECT_NE(error("{\"t\":1.5,\"kind\":\"send\"}\n").find("\"t\" must be"), std::string::npos);
  EXPECT_NE(error("{\"t\":18446744073709551615,\"kind\":\"send\"}\n").find("\"t\" must be"), std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":\"send\",\"thread\":4294967296}\n").find("\"thread\" must be"),
            std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":7}\n").find("\"kind\" must be"), std::string::npos);
  EXPECT_NE(error("{\"t\":1e400,\"kind\":\"send\"}\n").find("line 1"), std::string::npos);
  EXPECT_NE(error("{\"t\":-5,\"kind\":\"send\"}\n").find("\"t\" must be"), std::string::npos);
  EXPECT_NE(error("{\"t\":1,\"kind\":\"send\\u0000junk\"}\n").find("unknown event kind"), std::string::npos);
  std::istringstream many("{\"t\":1,\"kind\":\"send\"}\n{\"t\":2,\"kind\":\"send\"}\n");
  EXPECT_THROW(tracing::read_jsonl(many, 1), tracing::trace_file_error);
}

// The sink streams a live runtime's events to a file; a saved trace is
// then checked offline as `troupe trace check` does.
TEST(trace_file, a_file_sink_streams_a_running_runtime_and_the_file_checks) {
  const std::string path = "/tmp/troupe_sink_test_" + std::to_string(::getpid()) + ".jsonl";
  runtime rt(config{.workers = 2});
  tracing::start(rt);
  std::uint64_t written = 0;
  pid echo = rt.spawn([](actor& a) -> behavior { return {[&a](int n) { a.reply(n); }}; });
  {
    tracing::file_sink sink(rt, path, 10ms);
    scoped_actor self(rt);
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(self.request<int>(echo, i, 10s));
    ASSERT_TRUE(test_support::eventually([&] {
      sink.flush();
      return sink.written() >= 600;
    }));
    written = sink.written();
  }  // writes the rest
  tracing::stop(rt);
  std::ifstream in(path);
  auto events = tracing::read_jsonl(in);
  std::remove(path.c_str());
  EXPECT_GE(events.size(), written);
  std::size_t begins = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (events[i].kind == event_kind::begin && events[i].actor == echo.id()) ++begins;
  }
  EXPECT_EQ(begins, 200u);
  auto rules = tracing::parse_rules(R"("echo answers": respond(begin("int"), end("int"), 10s, actor))");
  EXPECT_TRUE(tracing::check(events, rules).empty());
  tracing::rule never("echo never handles", !(tracing::begin_of("int") && tracing::actor_is(echo.id())));
  EXPECT_EQ(tracing::check(events, {never}).size(), 200u);
}
