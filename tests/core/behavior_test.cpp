#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct open_door {};
struct close_door {};
struct query {};
struct big {
  std::unique_ptr<int> value;
};
}  // namespace

namespace {
// One behavior per state, owned by the actor's object: handlers capture
// `this`, so no behavior holds another (no reference cycle).
struct door {
  behavior opened, closed;
  behavior make_behavior(actor& self) {
    opened = {
        [](query) { return std::string("open"); },
        [this, &self](close_door) { self.become(closed); },
    };
    closed = {
        [](query) { return std::string("closed"); },
        [this, &self](open_door) { self.become(opened); },
    };
    return closed;
  }
};
}  // namespace

TEST(behavior, become_switches_state_for_the_next_message) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto d = rt.spawn<door>();
  EXPECT_EQ(*self.request<std::string>(d, query{}, 5s), "closed");
  self.send(d, open_door{});
  EXPECT_EQ(*self.request<std::string>(d, query{}, 5s), "open");
  self.send(d, close_door{});
  EXPECT_EQ(*self.request<std::string>(d, query{}, 5s), "closed");
}

TEST(behavior, handlers_may_take_move_only_messages_by_value_or_reference) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto sink = rt.spawn([](actor&) -> behavior {
    return {[](big b) { return *b.value; }};
  });
  auto inplace = rt.spawn([](actor&) -> behavior {
    return {[](big& b) {
      *b.value += 1;
      return *b.value;
    }};
  });
  EXPECT_EQ(*self.request<int>(sink, big{std::make_unique<int>(7)}, 5s), 7);
  EXPECT_EQ(*self.request<int>(inplace, big{std::make_unique<int>(7)}, 5s), 8);
}

TEST(behavior, unhandled_message_goes_to_dead_letters_with_a_warning) {
  std::atomic<int> warnings{0};
  config cfg{.workers = 1};
  cfg.log_sink = [&](const log_record& r) {
    const std::string_view text = r.text;
    if (r.level == log_level::warning && text.find("no handler") != std::string_view::npos) ++warnings;
  };
  runtime rt(cfg);
  scoped_actor self(rt);
  auto only_ints = rt.spawn([](actor&) -> behavior { return {[](int x) { return x; }}; });
  auto before = rt.dead_letter_count();
  self.send(only_ints, std::string("hello"));
  EXPECT_EQ(*self.request<int>(only_ints, 3, 5s), 3);  // FIFO: the string was handled first
  EXPECT_EQ(rt.dead_letter_count(), before + 1);
  EXPECT_EQ(warnings.load(), 1);
  auto r = self.request<int>(only_ints, 2.5, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_handler);
}

TEST(behavior, after_fires_when_no_message_arrives_in_time) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto watchdog = rt.spawn([me](actor& a) -> behavior {
    return behavior{[](int) {}}.after(50ms, [&a, me] {
      a.send(me, std::string("idle"));
      a.quit();
    });
  });
  auto got = self.receive<std::string>(5s);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, "idle");
  (void)watchdog;
}

TEST(behavior, after_is_postponed_by_each_message) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto idle = std::make_shared<std::atomic<int>>(0);
  auto watched = rt.spawn([idle](actor&) -> behavior {
    return behavior{[](int) {}}.after(300ms, [idle] { ++*idle; });
  });
  for (int i = 0; i < 10; ++i) {
    self.send(watched, i);
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(idle->load(), 0);
  std::this_thread::sleep_for(600ms);
  EXPECT_GE(idle->load(), 1);
  (void)me;
}

TEST(behavior, quit_ends_the_actor_after_the_current_message) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto once = rt.spawn([](actor& a) -> behavior {
    return {[&a](int x) {
      a.quit();
      return x;
    }};
  });
  EXPECT_EQ(*self.request<int>(once, 5, 5s), 5);
  auto r = self.request<int>(once, 6, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::receiver_down);
}

TEST(behavior, or_else_falls_back_in_order_and_the_first_match_wins) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto a = rt.spawn([](actor&) -> behavior {
    behavior first{[](int x) { return x + 1; }};
    behavior second{[](int) { return -1; }, [](const std::string& s) { return s + "!"; }};
    behavior third{[](double) { return std::string("third"); }};
    return std::move(first).or_else(std::move(second)).or_else(std::move(third));
  });
  EXPECT_EQ(*self.request<int>(a, 41, 5s), 42);                              // first, not second
  EXPECT_EQ(*self.request<std::string>(a, std::string("hi"), 5s), "hi!");     // second
  EXPECT_EQ(*self.request<std::string>(a, 1.5, 5s), "third");                 // end of the chain
  auto missing = self.request<int>(a, query{}, 5s);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), errc::no_handler);
}
