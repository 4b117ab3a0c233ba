// troupe::application: an orderly stop (stop(), SIGTERM, the destructor)
// stops the tree in reverse start order and run() returns 0; a tree that
// gives up restarting makes run() return 1; a second signal stops waiting.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

// The ids of the children that ended, in the order they ended.
struct endings {
  std::mutex mu;
  std::vector<std::string> ids;
  void add(const std::string& id) {
    std::lock_guard lock(mu);
    ids.push_back(id);
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return ids;
  }
};

// A child that records its end when its supervisor stops it.
behavior recording_child(actor& self, std::string id, std::shared_ptr<endings> log) {
  self.trap_exit(true);
  return {[&self, id, log](const exit_signal&) {
    log->add(id);
    self.quit(exit_reason::shutdown());
  }};
}

std::vector<child_spec> three_children(const std::shared_ptr<endings>& log) {
  return {child_spec::of("db", recording_child, std::string("db"), log),
          child_spec::of("cache", recording_child, std::string("cache"), log),
          child_spec::of("web", recording_child, std::string("web"), log)};
}

const std::vector<std::string> reverse_start_order = {"web", "cache", "db"};

TEST(Application, StopEndsTheTreeInReverseStartOrder) {
  runtime rt(config{.workers = 2});
  auto log = std::make_shared<endings>();
  application app(rt, "shop", {.strategy = strategy::one_for_one}, three_children(log));
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    app.stop();
  });
  EXPECT_EQ(app.wait(), 0);
  stopper.join();
  EXPECT_FALSE(app.running());
  EXPECT_FALSE(app.gave_up());
  EXPECT_EQ(log->get(), reverse_start_order);
}

TEST(Application, TheDestructorStopsTheTreeInOrder) {
  runtime rt(config{.workers = 2});
  auto log = std::make_shared<endings>();
  {
    application app(rt, "shop", {}, three_children(log));
  }
  EXPECT_EQ(log->get(), reverse_start_order);
}

// A tree that reaches its restart intensity has nothing running: run()
// returns 1 (the process exits non-zero) instead of waiting forever.
TEST(Application, ATreeThatGivesUpEndsRunWithOne) {
  runtime rt(config{.workers = 2, .warn_unhandled = false});
  auto crasher = [](actor&) -> behavior { throw std::runtime_error("cannot start"); };
  application app(rt, "doomed", {.strategy = strategy::one_for_one, .intensity = 2, .period = 10s},
                  {child_spec::of("crasher", crasher)});
  stop_signals outer;  // run() below handles signals; none comes
  EXPECT_EQ(app.run(), 1);
  EXPECT_TRUE(app.gave_up());
  EXPECT_FALSE(app.running());
}

TEST(Application, SigtermStopsTheTreeInOrderAndRunReturnsZero) {
  runtime rt(config{.workers = 2});
  auto log = std::make_shared<endings>();
  application app(rt, "shop", {}, three_children(log));
  stop_signals outer;  // counts the signal even before run() installs its own
  std::thread signaller([] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGTERM);
  });
  EXPECT_EQ(app.run(), 0);
  signaller.join();
  EXPECT_EQ(log->get(), reverse_start_order);
  EXPECT_GE(outer.received(), 1u);
}

// A child that does not stop (its shutdown time is long): a second signal
// ends the wait with 1.
TEST(Application, ASecondSignalStopsWaiting) {
  runtime rt(config{.workers = 2});
  auto stubborn = [](actor& self) -> behavior {
    self.trap_exit(true);
    return {[](const exit_signal&) {}};  // ignores shutdown
  };
  application app(rt, "stuck", {}, {child_spec::of("stubborn", stubborn).with_shutdown(60s)});
  stop_signals outer;
  std::thread signaller([&] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGTERM);
    std::this_thread::sleep_for(200ms);
    ::kill(::getpid(), SIGINT);
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(app.run(), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  signaller.join();
  EXPECT_TRUE(app.running());  // the child still runs: the runtime's destructor ends it
}  // and the application's destructor does not wait for it

TEST(StopSignals, WaitForStopSignalReturnsTheSignal) {
  stop_signals outer;
  std::thread signaller([] {
    std::this_thread::sleep_for(50ms);
    ::kill(::getpid(), SIGINT);
  });
  EXPECT_EQ(wait_for_stop_signal(), SIGINT);
  signaller.join();
}

}  // namespace
