// Logging: records carry level, component, time, source and node; the
// default line; thresholds per component, changed while running.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../eventually.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// What a sink received, copied out (a record's views live for the call).
struct kept_record {
  log_level level;
  log_component component;
  pid source;
  std::string node;
  std::string text;
};

struct recording_sink {
  std::mutex mu;
  std::vector<kept_record> records;
  log_sink sink() {
    return [this](const log_record& r) {
      std::lock_guard lock(mu);
      records.push_back({r.level, r.component, r.source, std::string(r.node), std::string(r.text)});
    };
  }
  std::vector<kept_record> matching(std::string_view text) {
    std::lock_guard lock(mu);
    std::vector<kept_record> out;
    for (auto& r : records)
      if (r.text.find(text) != std::string::npos) out.push_back(r);
    return out;
  }
};

TEST(Log, TheDefaultLineHasTimeLevelComponentSourceNodeAndText) {
  log_record r;
  r.level = log_level::warning;
  r.component = log_component::net;
  r.time = std::chrono::system_clock::time_point(std::chrono::seconds(1796640373) + std::chrono::microseconds(42));
  r.node = "a@127.0.0.1";
  r.text = "lost b@127.0.0.1: reset";
  EXPECT_EQ(format_log_line(r), "2026-12-07T10:46:13.000042Z warning net a@127.0.0.1: lost b@127.0.0.1: reset");
  r.node = {};
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  r.source = self.pid();
  EXPECT_EQ(format_log_line(r),
            "2026-12-07T10:46:13.000042Z warning net " + self.pid().to_string() + ": lost b@127.0.0.1: reset");
}

// A crash report is a structured record: error, from core, about the
// actor that crashed.
TEST(Log, ACrashReportNamesTheActorAsItsSource) {
  recording_sink logs;
  runtime rt(config{.workers = 2, .log_sink = logs.sink()});
  scoped_actor self(rt);
  auto doomed = rt.spawn([](actor&) -> behavior { return {[](int) { throw std::runtime_error("boom"); }}; });
  self.monitor(doomed);
  self.send(doomed, 1);
  ASSERT_TRUE(self.receive<down>(10s));
  auto reports = logs.matching("crash report");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].level, log_level::error);
  EXPECT_EQ(reports[0].component, log_component::core);
  EXPECT_EQ(reports[0].source, doomed);
  EXPECT_NE(reports[0].text.find("boom"), std::string::npos);
}

// runtime::log is the program's (user), from the actor that logs.
TEST(Log, AnActorsOwnLinesComeFromIt) {
  recording_sink logs;
  runtime rt(config{.workers = 2, .log_sink = logs.sink()});
  scoped_actor self(rt);
  auto speaker = rt.spawn([](actor& a) -> behavior {
    return {[&a](const std::string& line) {
      a.system().log(log_level::info, line);
      return 0;
    }};
  });
  ASSERT_TRUE(self.request<int>(speaker, std::string("hello from an actor"), 10s));
  rt.log(log_level::warning, "hello from main");
  auto inside = logs.matching("hello from an actor");
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside[0].component, log_component::user);
  EXPECT_EQ(inside[0].source, speaker);
  auto outside = logs.matching("hello from main");
  ASSERT_EQ(outside.size(), 1u);
  EXPECT_FALSE(outside[0].source);
}

// Thresholds are per component and change while running: crash reports
// (core) can be silenced while the program's own lines still come.
TEST(Log, AComponentsThresholdDropsItsRecordsOnly) {
  recording_sink logs;
  runtime rt(config{.workers = 2, .log_level = log_level::warning, .log_sink = logs.sink()});
  scoped_actor self(rt);
  rt.log(log_level::info, "under the threshold");
  EXPECT_TRUE(logs.matching("under the threshold").empty());
  EXPECT_FALSE(rt.logs(log_level::info));
  EXPECT_TRUE(rt.logs(log_level::warning));

  rt.set_log_level(log_component::core, log_level::off);
  EXPECT_FALSE(rt.logs(log_level::error, log_component::core));
  auto doomed = rt.spawn([](actor&) -> behavior { return {[](int) { throw std::runtime_error("boom"); }}; });
  self.monitor(doomed);
  self.send(doomed, 1);
  ASSERT_TRUE(self.receive<down>(10s));
  rt.log(log_level::error, "the program still speaks");
  EXPECT_TRUE(logs.matching("crash report").empty());
  EXPECT_EQ(logs.matching("the program still speaks").size(), 1u);

  rt.set_log_level(log_component::user, log_level::debug);
  rt.log(log_level::debug, "now debug too");
  EXPECT_EQ(logs.matching("now debug too").size(), 1u);
}

}  // namespace
