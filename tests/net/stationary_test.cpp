// Stationary objects: called by message where they live, locally and from
// another node; exceptions come back to the caller; the handle travels.
#include "troupe/net/stationary.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "troupe/core/scoped_actor.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"

namespace {

using namespace std::chrono_literals;
namespace net = troupe::net;
namespace io = troupe::io;

struct account {
  std::int64_t balance = 0;
  std::vector<std::string> log;
  std::int64_t deposit(std::int64_t x) {
    log.push_back("deposit " + std::to_string(x));
    return balance += x;
  }
  std::int64_t withdraw(std::int64_t x) {
    if (x > balance) throw std::runtime_error("insufficient funds");
    return balance -= x;
  }
  void note(std::string text) { log.push_back(std::move(text)); }
  std::vector<std::string> history() const { return log; }
};

struct handle_message {
  net::stationary<account> acct;
};

const bool registered = [] {
  net::register_stationary<account, &account::deposit, &account::withdraw, &account::note, &account::history>(
      "test.account");
  net::register_type<std::vector<std::string>>("test.strings");
  net::register_type<handle_message>("test.handle_message");
  return true;
}();

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const troupe::error_exception& e) {
    return e.what();
  }
  return "no error";
}

TEST(Stationary, CallsRunWhereTheObjectLives) {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  auto acct = net::make_stationary<&account::deposit, &account::withdraw, &account::note, &account::history>(
      rt, account{});
  EXPECT_EQ(acct.call<&account::deposit>(rt, 10), 10);
  EXPECT_EQ(acct.async<&account::withdraw>(rt, 3).get(), 7);
  acct.cast<&account::note>(rt, std::string("cast"));
  acct.call<&account::note>(rt, std::string("called"));  // void: returns when done
  EXPECT_EQ(acct.call<&account::history>(rt),
            (std::vector<std::string>{"deposit 10", "cast", "called"}));  // in order
  // The method's exception is raised here; the object lives on.
  EXPECT_NE(error_of([&] { acct.call<&account::withdraw>(rt, 100); }).find("insufficient funds"),
            std::string::npos);
  auto failed = acct.async<&account::withdraw>(rt, 100).outcome();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), troupe::errc::handler_failed);
  EXPECT_EQ(acct.call<&account::deposit>(rt, 1), 8);
}

TEST(Stationary, AHandleCallsItsObjectFromAnotherNode) {
  auto opts = [](const char* name) {
    return net::node_options{.name = name, .cookie = "a-cookie-for-stationary-tests"};
  };
  troupe::runtime rt_a{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor io_a{rt_a};
  net::node a{rt_a, io_a, opts("a@127.0.0.1")};
  troupe::runtime rt_b{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor io_b{rt_b};
  net::node b{rt_b, io_b, opts("b@127.0.0.1")};

  auto home = net::make_stationary<&account::deposit, &account::withdraw, &account::note, &account::history>(
      rt_b, account{});
  // b hands the object out inside a message.
  rt_b.register_name("bank", rt_b.spawn([home](troupe::actor&) -> troupe::behavior {
    return {[home](const std::string&) { return handle_message{home}; }};
  }));
  a.connect(b.address()).get();
  auto bank = a.whereis("troupe://b@127.0.0.1/bank").get();
  troupe::scoped_actor me(rt_a);
  auto got = me.request<handle_message>(bank, std::string("account please"), 5s);
  ASSERT_TRUE(got) << got.error().message();
  auto acct = got->acct;
  EXPECT_EQ(a.node_of(acct.home), "b@127.0.0.1");

  EXPECT_EQ(acct.call<&account::deposit>(rt_a, 50), 50);
  EXPECT_EQ(acct.async<&account::withdraw>(rt_a, 20).get(), 30);
  acct.call<&account::note>(rt_a, std::string("from a"));
  EXPECT_EQ(acct.call<&account::history>(rt_a), (std::vector<std::string>{"deposit 50", "from a"}));
  EXPECT_NE(error_of([&] { acct.call<&account::withdraw>(rt_a, 1000); }).find("insufficient funds"),
            std::string::npos);
  // The object stayed on b: b's own handle sees the same state.
  EXPECT_EQ(home.call<&account::deposit>(rt_b, 0), 30);
}

}  // namespace
