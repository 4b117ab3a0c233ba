#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>

#include "../eventually.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct ping {
  int n;
};
struct get {};
}  // namespace

TEST(runtime, rejects_zero_workers_with_a_clear_error) {
  config cfg;
  cfg.workers = 0;
  try {
    runtime rt(cfg);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("workers"), std::string::npos);
  }
}

TEST(runtime, rejects_nonsense_settings) {
  config a;
  a.max_messages_per_turn = 0;
  EXPECT_THROW(runtime{a}, std::invalid_argument);
  config b;
  b.default_request_timeout = -1s;
  EXPECT_THROW(runtime{b}, std::invalid_argument);
  config c;
  c.timer_tick = 0s;
  EXPECT_THROW(runtime{c}, std::invalid_argument);
}

TEST(runtime, spawns_a_lambda_actor_and_delivers_messages) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto echo = rt.spawn([](actor& me) -> behavior {
    return {[&me](const ping& p) { me.reply(ping{p.n + 1}); }};
  });
  self.send(echo, ping{41});
  auto got = self.receive<ping>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->n, 42);
}

TEST(runtime, spawn_passes_arguments_to_the_function) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto adder = rt.spawn(
      [](actor&, int base) -> behavior {
        return {[base](int x) { return base + x; }};
      },
      100);
  auto r = self.request<int>(adder, 5, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 105);
}

namespace {
class counter {
 public:
  explicit counter(int start) : value_(start) {}
  behavior make_behavior(actor&) {
    return {
        [this](int delta) { value_ += delta; },
        [this](get) { return value_; },
    };
  }

 private:
  int value_;
};
}  // namespace

TEST(runtime, spawns_a_class_actor_whose_object_holds_the_state) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto c = rt.spawn<counter>(10);
  self.send(c, 5);
  self.send(c, 7);
  auto r = self.request<int>(c, get{}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 22);
}

TEST(runtime, a_void_function_actor_runs_once_and_ends) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto p = rt.spawn([me](actor& a) { a.send(me, std::string("ran")); });
  auto got = self.receive<std::string>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "ran");
  EXPECT_EQ(rt.send(p, 1), send_status::dead_letter);
}

TEST(runtime, an_exception_ends_only_that_actor) {
  std::atomic<int> errors{0};
  config cfg{.workers = 2};
  cfg.log_sink = [&](const log_record& r) {
    const std::string_view text = r.text;
    if (r.level == log_level::error && text.find("boom") != std::string_view::npos) ++errors;
  };
  runtime rt(cfg);
  scoped_actor self(rt);
  auto fragile = rt.spawn([](actor&) -> behavior {
    return {[](int) -> int { throw std::runtime_error("boom"); }};
  });
  auto sturdy = rt.spawn([](actor&) -> behavior { return {[](int x) { return x * 2; }}; });
  auto r = self.request<int>(fragile, 1, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::handler_failed);
  EXPECT_NE(r.error().detail().find("boom"), std::string::npos);
  EXPECT_GE(errors.load(), 1);
  auto again = self.request<int>(fragile, 1, 5s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), errc::receiver_down);
  auto ok = self.request<int>(sturdy, 21, 5s);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 42);
}

TEST(runtime, messages_to_dead_or_unknown_pids_go_to_dead_letters) {
  runtime rt(config{.workers = 1});
  auto before = rt.dead_letter_count();
  EXPECT_EQ(rt.send(pid(), ping{1}), send_status::dead_letter);
  auto shortlived = rt.spawn([](actor& a) -> behavior {
    a.quit();
    return {[](int) {}};
  });
  // Sent before its setup ran (setup runs in the actor's first turn): queued,
  // then bounced when the setup ends the actor. Counted either way.
  auto early = rt.send(shortlived, ping{2});
  EXPECT_TRUE(early == send_status::ok || early == send_status::dead_letter);
  EXPECT_TRUE(troupe::test_support::eventually([&] { return rt.live_actors() == 0; }));
  EXPECT_EQ(rt.dead_letter_count(), before + 2);
  EXPECT_EQ(rt.send(shortlived, ping{3}), send_status::dead_letter);  // known dead: at once
  EXPECT_EQ(rt.dead_letter_count(), before + 3);
  auto recent = rt.recent_dead_letters();
  ASSERT_FALSE(recent.empty());
  EXPECT_NE(recent.back().type.find("ping"), std::string::npos);
  EXPECT_EQ(recent.back().receiver, shortlived);
}

TEST(runtime, several_runtimes_live_in_one_process) {
  runtime a(config{.workers = 1});
  runtime b(config{.workers = 1});
  scoped_actor sa(a);
  scoped_actor sb(b);
  auto in_a = a.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto in_b = b.spawn([](actor&) -> behavior { return {[](int x) { return x + 2; }}; });
  EXPECT_EQ(*sa.request<int>(in_a, 1, 5s), 2);
  EXPECT_EQ(*sb.request<int>(in_b, 1, 5s), 3);
  // A pid of one runtime can be used from the other.
  EXPECT_EQ(*sa.request<int>(in_b, 1, 5s), 3);
}

TEST(runtime, shutdown_ends_live_actors_and_refuses_new_work) {
  auto rt = std::make_unique<runtime>(config{.workers = 2});
  std::atomic<int> destroyed{0};
  struct tracker {
    std::atomic<int>* count;
    ~tracker() { if (count) ++*count; }
    tracker(std::atomic<int>* c) : count(c) {}
    tracker(tracker&& o) noexcept : count(std::exchange(o.count, nullptr)) {}
  };
  pid survivor;
  for (int i = 0; i < 100; ++i) {
    survivor = rt->spawn([t = tracker(&destroyed)](actor&) -> behavior { return {[](int) {}}; });
  }
  EXPECT_EQ(rt->live_actors(), 100u);
  rt->shutdown();
  EXPECT_EQ(destroyed.load(), 100);
  EXPECT_EQ(rt->live_actors(), 0u);
  EXPECT_FALSE(rt->spawn([](actor&) -> behavior { return {[](int) {}}; }));
  EXPECT_EQ(rt->send(survivor, 1), send_status::dead_letter);
  rt.reset();
}

TEST(runtime, pids_print_compare_and_hash) {
  runtime rt(config{.workers = 1});
  auto a = rt.spawn([](actor&) -> behavior { return {[](int) {}}; });
  auto b = rt.spawn([](actor&) -> behavior { return {[](int) {}}; });
  EXPECT_NE(a, b);
  EXPECT_EQ(a, pid(a));
  EXPECT_EQ(std::hash<pid>{}(a), std::hash<pid>{}(pid(a)));
  EXPECT_EQ(a.to_string(), "<0." + std::to_string(a.id()) + ".0>");
  EXPECT_EQ(pid().to_string(), "<none>");
  EXPECT_TRUE(a < b || b < a);
}

TEST(runtime, detached_actor_runs_on_its_own_thread) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto blocker = rt.spawn(spawn_options{.detached = true}, [](actor&) -> behavior {
    return {[](int ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // a blocking call
      return ms;
    }};
  });
  auto quick = rt.spawn([](actor&) -> behavior { return {[](int x) { return x; }}; });
  self.send(blocker, 300);  // occupies the detached thread, not the one worker
  auto r = self.request<int>(quick, 7, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
}

#include <sys/resource.h>

namespace {
double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}
}  // namespace

// Parked workers sleep on a futex: an idle runtime with live actors and a
// pending far-away timer burns (next to) no CPU. Spinning workers would use
// workers x 400 ms here.
TEST(runtime, an_idle_runtime_parks_its_workers) {
  runtime rt(config{.workers = 4});
  std::vector<pid> idle;
  for (int i = 0; i < 1000; ++i)
    idle.push_back(rt.spawn([](actor&) -> behavior { return {[](int) {}}; }));
  auto far = rt.send_after(1h, idle[0], 1);
  std::this_thread::sleep_for(100ms);  // let start-up settle
  double before = process_cpu_seconds();
  std::this_thread::sleep_for(400ms);
  double used = process_cpu_seconds() - before;
  EXPECT_LT(used, 0.1) << "an idle runtime used " << used << " s of CPU in 0.4 s";
  far.cancel();
}

TEST(runtime, shutdown_from_inside_an_actor_is_a_clear_error) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto rogue = rt.spawn([&rt](actor&) -> behavior {
    return {[&rt](int) -> std::string {
      try {
        rt.shutdown();
        return "shut down?!";
      } catch (const std::logic_error& e) {
        return e.what();
      }
    }};
  });
  auto r = self.request<std::string>(rogue, 1, 5s);
  ASSERT_TRUE(r);
  EXPECT_NE(r->find("from one of its own actors"), std::string::npos) << *r;
}

// Each message holds a reference to its sender, counted ahead in batches by
// the sending actor: once the actor has ended and its messages are
// handled, only the pids the program holds are left (none leaked to the
// batch, none released twice).
TEST(runtime, a_sender_that_ended_holds_no_references_to_itself) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto me = self.pid();
  auto sink = rt.spawn([me](actor& a) -> behavior {
    return {[&a, me, count = 0](int) mutable {
      if (++count == 1000) a.send(me, count);
    }};
  });
  auto sender = rt.spawn([sink](actor& a) -> behavior {
    return {[&a, sink](int n) {
      for (int i = 0; i < n; ++i) a.send(sink, i);
      a.quit();
    }};
  });
  self.send(sender, 1000);
  ASSERT_TRUE(self.receive<int>(30s));
  // `sender` is the only holder left once the actor is gone from the
  // runtime's table and the sink has dropped the messages' references.
  EXPECT_TRUE(test_support::eventually([&] { return sender.cell()->use_count() == 1; }))
      << "references left: " << sender.cell()->use_count();
}
