// A handler that computes for seconds on a one-worker node must not stop
// that node's heartbeats or its sockets: with lending on (the I/O thread
// runs the turn; a stand-in serves its sockets meanwhile) and off (the
// worker runs it; a spare worker runs the connection's actor meanwhile).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net_testing.hpp"
#include "troupe/net/wire_type.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::net::testing::eventually;

namespace {

struct crunch {
  std::int64_t ms = 0;
};
struct echo_me {
  std::int64_t n = 0;
};

struct register_types {
  register_types() {
    net::register_type<crunch>("stall_test.crunch");
    net::register_type<echo_me>("stall_test.echo_me");
  }
} const registered;

struct one_node {
  one_node(const std::string& name, unsigned workers, bool lend, net::node_options o)
      : rt(make_config(workers, lend)), reactor(rt), node(rt, reactor, named(name, o)) {}
  static config make_config(unsigned workers, bool lend) {
    config cfg{.workers = workers, .warn_unhandled = false};
    cfg.lend_io_threads = lend;
    cfg.log_level = log_level::off;
    return cfg;
  }
  static net::node_options named(const std::string& name, net::node_options o) {
    o.name = name;
    o.cookie = "a-cookie-for-the-net-tests";
    return o;
  }
  runtime rt;
  io::reactor reactor;
  net::node node;
};

void long_handler_keeps_the_link(bool lend) {
  net::node_options fast;
  fast.heartbeat = 100ms;
  fast.temp_fail_after = 1s;
  fast.perm_fail_after = 2s;  // the handler below runs longer than this
  // Before the nodes: their watchers still run while the nodes shut down.
  std::mutex m;
  std::vector<std::string> faults;
  one_node a("a@127.0.0.1", 1, lend, fast), b("b@127.0.0.1", 2, true, fast);
  auto record = [&](const char* side) {
    return [&, side](const net::node_event& e) {
      if (e.state == net::fault_state::ok) return;
      std::lock_guard lock(m);
      faults.push_back(std::string(side) + " saw " + e.node + " " + std::string(net::to_string(e.state)) +
                       " " + e.reason);
    };
  };
  a.node.watch(record("a"));
  b.node.watch(record("b"));

  std::atomic<bool> crunching{false};
  a.rt.register_name("cruncher", a.rt.spawn([&crunching](actor&) -> behavior {
    return {[&crunching](const crunch& c) {
      crunching = true;
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(c.ms);
      volatile std::uint64_t x = 0;
      while (std::chrono::steady_clock::now() < until) x = x + 1;
      crunching = false;
      return echo_me{c.ms};
    }};
  }));
  a.rt.register_name("echo", a.rt.spawn([](actor&) -> behavior {
    return {[](const echo_me& e) { return echo_me{e.n + 1}; }};
  }));
  b.node.connect(a.node.address()).get();
  pid cruncher = b.node.whereis("troupe://a@127.0.0.1/cruncher").get();
  pid echo = b.node.whereis("troupe://a@127.0.0.1/echo").get();
  ASSERT_TRUE(cruncher && echo);

  scoped_actor self(b.rt);
  // Let a's worker (and I/O thread) go idle, so that the request is lent to
  // the I/O thread when lending is on.
  std::this_thread::sleep_for(50ms);
  auto long_reply = std::make_shared<std::atomic<bool>>(false);
  auto asker = b.rt.spawn([cruncher, long_reply](actor& s) -> behavior {
    s.request<echo_me>(cruncher, crunch{3000}, 30s).then([long_reply](const echo_me& r) {
      if (r.n == 3000) *long_reply = true;
    });
    return {[](int) {}};
  });
  ASSERT_TRUE(eventually([&] { return crunching.load(); }));
  int answered_meanwhile = 0;
  for (int i = 0; i < 20 && crunching.load(); ++i) {
    auto r = self.request<echo_me>(echo, echo_me{i}, 10s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->n, i + 1);
    if (crunching.load()) ++answered_meanwhile;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(answered_meanwhile, 0) << "the other actor's replies waited for the long handler";
  ASSERT_TRUE(eventually([&] { return long_reply->load(); }, 30s));
  EXPECT_EQ(a.node.connected_nodes().size(), 1u);
  {
    std::lock_guard lock(m);
    EXPECT_TRUE(faults.empty()) << faults.front();
  }
  (void)asker;
}

TEST(NodeStall, ALongHandlerOnALentIoThreadKeepsTheLinkUp) { long_handler_keeps_the_link(true); }

TEST(NodeStall, ALongHandlerOnTheOnlyWorkerKeepsTheLinkUp) { long_handler_keeps_the_link(false); }

}  // namespace
