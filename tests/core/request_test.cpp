#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct slow {};
struct forget {};
struct later {};
struct deliver_now {};
}  // namespace

TEST(request, actor_to_actor_request_with_then) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto doubler = rt.spawn([](actor&) -> behavior { return {[](int x) { return 2 * x; }}; });
  auto client = rt.spawn([doubler](actor& a) -> behavior {
    return {[&a, doubler](const std::string&) {
      auto back = a.make_response_promise();
      a.request<int>(doubler, 21, 5s).then(
          [p = std::make_shared<response_promise>(std::move(back))](int v) mutable {
            p->deliver(v + 0);
          },
          [](const error&) {});
    }};
  });
  auto r = self.request<int>(client, std::string("go"), 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42);
}

// delegate: the request goes on to another actor, whose answer (or error)
// reaches the requester straight; the delegating handler owes nothing.
TEST(request, a_delegated_request_is_answered_by_the_delegate) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto doubler = rt.spawn([](actor&) -> behavior { return {[](int x) { return 2 * x; }}; });
  auto deaf = rt.spawn([](actor&) -> behavior { return {[](double) {}}; });
  auto gone = rt.spawn([](actor& a) -> behavior {
    a.quit();
    return {[](int x) { return x; }};
  });
  auto front = rt.spawn([doubler, deaf, gone](actor& a) -> behavior {
    return {[&a, doubler, deaf, gone](const std::string& to) {
      a.delegate(to == "doubler" ? doubler : to == "deaf" ? deaf : gone, 21);
      return -1;  // dropped: the delegate answers
    }};
  });
  auto r = self.request<int>(front, std::string("doubler"), 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42);
  EXPECT_FALSE(self.receive<int>(50ms)) << "the delegating handler's own return value reached the requester";
  auto no_handler = self.request<int>(front, std::string("deaf"), 5s);
  ASSERT_FALSE(no_handler);
  EXPECT_EQ(no_handler.error(), errc::no_handler);
  auto down = self.request<int>(front, std::string("gone"), 5s);
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error(), errc::receiver_down);
}

// A response_promise is a value: moved into a message, another actor
// answers the request with it.
struct answer_this {
  response_promise promise;
  int question;
};
TEST(request, a_response_promise_handed_to_another_actor_answers_from_there) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto worker = rt.spawn([](actor&) -> behavior {
    return {[](answer_this& job) { job.promise.deliver(job.question + 1); }};
  });
  auto front = rt.spawn([worker](actor& a) -> behavior {
    return {[&a, worker](int question) { a.send(worker, answer_this{a.make_response_promise(), question}); }};
  });
  auto r = self.request<int>(front, 41, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42);
}

TEST(request, a_dropped_response_promise_answers_no_reply) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto sink = rt.spawn([](actor& a) -> behavior {
    return {[&a](slow) { (void)a.make_response_promise().pending(); }};
  });
  // The promise is dropped at once: that is a no_reply error, not a hang.
  auto r = self.request<int>(sink, slow{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_reply);
}

TEST(request, request_timeout_fires) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto holder = rt.spawn([](actor& a) -> behavior {
    auto kept = std::make_shared<std::vector<response_promise>>();
    return {[&a, kept](slow) { kept->push_back(a.make_response_promise()); }};
  });
  auto start = std::chrono::steady_clock::now();
  auto r = self.request<int>(holder, slow{}, 50ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 50ms);
}

TEST(request, request_to_a_dead_actor_errors) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto r1 = self.request<int>(pid(), 1, 5s);
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error(), errc::receiver_down);
  auto gone = rt.spawn([](actor& a) -> behavior {
    a.quit();
    return {[](int x) { return x; }};
  });
  auto r2 = self.request<int>(gone, 1, 5s);
  ASSERT_FALSE(r2);
  EXPECT_EQ(r2.error(), errc::receiver_down);
}

TEST(request, requests_queued_when_the_actor_dies_are_answered_with_errors) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto dying = rt.spawn([](actor& a) -> behavior {
    return {[&a](int ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      a.quit(exit_reason::user("done"));
      return ms;
    }};
  });
  self.send(dying, 100);  // keeps it busy while the next request queues up
  auto r = self.request<int>(dying, 1, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::receiver_down);
}

TEST(request, handler_without_reply_yields_no_reply) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto mute = rt.spawn([](actor&) -> behavior { return {[](forget) {}}; });
  auto r = self.request<int>(mute, forget{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::no_reply);
}

TEST(request, reply_of_another_type_is_an_error) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto stringy = rt.spawn([](actor&) -> behavior {
    return {[](int x) { return std::to_string(x); }};
  });
  auto r = self.request<int>(stringy, 1, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_reply_type);
}

TEST(request, response_promise_answers_from_a_later_message) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto deferred = rt.spawn([](actor& a) -> behavior {
    auto waiting = std::make_shared<response_promise>();
    return {
        [&a, waiting](later) { *waiting = a.make_response_promise(); },
        [waiting](deliver_now) { waiting->deliver(std::string("now")); },
    };
  });
  auto other = self.pid();
  std::thread poke([&] {
    std::this_thread::sleep_for(50ms);
    rt.send(deferred, deliver_now{});
  });
  auto r = self.request<std::string>(deferred, later{}, 5s);
  poke.join();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "now");
  (void)other;
}

TEST(request, then_without_error_handler_ends_the_requester_on_error) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto requester = rt.spawn([](actor& a) -> behavior {
    return {[&a](int) { a.request<int>(pid(), 1, 5s).then([](int) {}); }};
  });
  self.send(requester, 1);
  // Eventually the requester ends: requests to it then fail.
  for (int i = 0; i < 100; ++i) {
    if (rt.send(requester, 2) == send_status::dead_letter) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(rt.send(requester, 3), send_status::dead_letter);
}
