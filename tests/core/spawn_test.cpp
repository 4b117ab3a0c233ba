// Spawning: a setup never recurses on the spawner's stack (a chain a
// million deep): a handler's spawn runs the child's setup at once, one
// level deep, and every other setup runs in the new actor's first turn; a
// tree spawned from setups is built depth-first, in bounded memory; spawn
// options reach spawn in every form.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "../stress/stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct ping {
  int n;
};

behavior echo(actor&) {
  return {[](const ping& p) { return p.n; }};
}

// Each actor's setup spawns the next: a million deep. The setups run in
// turns on the workers, never on the spawner's stack.
TEST(spawn, a_chain_of_a_million_spawns_from_setups_does_not_recurse) {
  struct done {};
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto me = self.pid();
  const int depth = static_cast<int>(troupe::stress::scaled(1'000'000));
  struct link_of_chain {
    static behavior make(actor& a, int left, pid report) {
      if (left == 0)
        a.send(report, done{});
      else
        a.spawn(make, left - 1, report);
      a.quit();
      return {};
    }
  };
  rt.spawn(link_of_chain::make, depth, me);
  EXPECT_TRUE(self.receive<done>(120s));
}

// actor::spawn takes the runtime's forms and options.
TEST(spawn, an_actor_spawns_with_options) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto parent = rt.spawn([](actor& a) -> behavior {
    return {[&a](const std::string& name) {
      spawn_options o;
      o.name = name;
      o.mailbox_limit = 4;
      return a.spawn(o, echo);
    }};
  });
  auto child = self.request<pid>(parent, std::string("kid"), 5s);
  ASSERT_TRUE(child);
  EXPECT_EQ(rt.whereis("kid"), *child);
  auto r = self.request<int>(*child, ping{3}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 3);
}

// A tree whose setups spawn their children (skynet's shape, fan-out 10) is
// built depth-first: a worker finishes a subtree before it starts the next
// (the spawn stack), so the actors alive at once stay near depth x fan-out
// per worker. Built breadth-first, the 10,000 nodes of the last inner level
// would all be alive at once, each waiting for its leaves.
TEST(spawn, a_tree_spawned_from_setups_is_built_depth_first) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  std::atomic<std::size_t> most_alive{0};
  struct tree_node {
    static behavior make(actor& a, long num, long size, pid parent, std::atomic<std::size_t>* most) {
      if (size == 1) {
        const std::size_t alive = a.system().live_actors();
        std::size_t seen = most->load();
        while (alive > seen && !most->compare_exchange_weak(seen, alive)) {
        }
        a.send(parent, num);
        a.quit();
        return {};
      }
      for (long i = 0; i < 10; ++i) a.spawn(make, num + i * (size / 10), size / 10, a.pid(), most);
      return {[&a, parent, sum = 0L, replies = 0](long part) mutable {
        sum += part;
        if (++replies == 10) {
          a.send(parent, sum);
          a.quit();
        }
      }};
    }
  };
  constexpr long leaves = 100'000;
  rt.spawn(tree_node::make, 0L, leaves, self.pid(), &most_alive);
  auto sum = self.receive<long>(300s);
  ASSERT_TRUE(sum);
  EXPECT_EQ(*sum, leaves * (leaves - 1) / 2);
  EXPECT_LT(most_alive.load(), 5'000u) << "the tree was not built depth-first";
}

// A spawned actor waits behind woken ones on its worker, but not for ever:
// a ping-pong pair that keeps the only worker's LIFO slot busy still lets
// it run (it used to wait until the pair stopped).
TEST(spawn, a_spawned_actor_runs_while_a_ping_pong_pair_keeps_its_worker_busy) {
  struct ball {
    long n;
  };
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto me = self.pid();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  pid q = rt.spawn([stop](actor& a) -> behavior {
    return {[&a, stop](ball b) {
      if (!stop->load()) a.reply(ball{b.n + 1});
    }};
  });
  pid p = rt.spawn([q, me, stop](actor& a) -> behavior {
    return {[&a, q, me, stop](ball b) {
      if (b.n == 0) a.spawn([me](actor& c) { c.send(me, std::string("started")); });
      if (!stop->load()) a.send(q, ball{b.n + 1});
    }};
  });
  self.send(p, ball{0});
  auto started = self.receive<std::string>(30s);
  stop->store(true);
  ASSERT_TRUE(started) << "the spawned actor never ran";
  EXPECT_EQ(*started, "started");
}


// Set on a worker's thread while the child's setup runs there: a grandchild
// setup that finds it set ran nested inside the child's setup, on the
// spawner's stack.
thread_local bool inside_child_setup = false;

// From a handler, spawn returns after the child's setup has run; a spawn
// inside that setup defers the grandchild's setup to its first turn (so the
// spawner's stack grows by one setup at most). From outside any actor the
// setup is deferred too. The grandchild may well run before spawn returns, on
// the other worker (it is ready as soon as it is spawned), so what is checked
// is where it ran, not when.
TEST(spawn, a_handler_runs_its_childs_setup_once_and_defers_the_next_level) {
  struct report {
    bool child_ran_before_spawn_returned;
  };
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto me = self.pid();
  auto child_ran = std::make_shared<std::atomic<bool>>(false);
  auto grandchild_nested = std::make_shared<std::atomic<bool>>(false);
  auto parent = rt.spawn([=](actor& a) -> behavior {
    return {[=, &a](const ping&) {
      a.spawn([=](actor& child) -> behavior {
        child_ran->store(true);
        inside_child_setup = true;
        child.spawn([=](actor& grandchild) -> behavior {
          grandchild_nested->store(inside_child_setup);
          grandchild.send(me, std::string("grandchild ran"));
          grandchild.quit();
          return {};
        });
        inside_child_setup = false;
        child.quit();
        return {};
      });
      a.send(me, report{child_ran->load()});
    }};
  });
  self.send(parent, ping{1});
  auto got = self.receive<report>(30s);
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->child_ran_before_spawn_returned);
  auto ran = self.receive<std::string>(30s);
  ASSERT_TRUE(ran) << "the grandchild never ran";
  EXPECT_FALSE(grandchild_nested->load());
}

// Children whose setups (run inside the spawner's handler) each send to the
// spawner flood a mailbox that cannot drain until the handler ends: those
// sends are never paced (with an hour's stall threshold, a paced send would
// wait for a day).
TEST(spawn, setups_run_in_a_handler_are_not_paced_by_their_spawner) {
  const long n = troupe::stress::scaled(100'000);
  config cfg{.workers = 1};
  cfg.stall_threshold = std::chrono::hours(1);
  runtime rt(cfg);
  scoped_actor self(rt);
  auto me = self.pid();
  rt.spawn([me, n](actor& root) -> behavior {
    for (long i = 0; i < n; ++i) {
      auto parent = root.pid();
      root.spawn([parent, i](actor& child) -> behavior {
        child.send(parent, i);
        child.quit();
        return {};
      });
    }
    return {[&root, me, n, count = 0L, sum = 0LL](long i) mutable {
      sum += i;
      if (++count == n) {
        root.send(me, sum);
        root.quit();
      }
    }};
  });
  auto got = self.receive<long long>(120s);
  ASSERT_TRUE(got) << "the children's sends to their spawner were paced";
  EXPECT_EQ(*got, static_cast<long long>(n) * (n - 1) / 2);
}
}  // namespace

namespace {
// spawn<C>(options, args...) takes the options as options whether they are
// a temporary, an lvalue or a const lvalue (a temporary used to be passed
// to C's constructor).
struct named_counter {
  explicit named_counter(int start) : n(start) {}
  int n;
  behavior make_behavior(actor&) {
    return {[this](const ping& p) { return n + p.n; }};
  }
};

TEST(spawn, options_go_to_spawn_in_every_value_category) {
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  spawn_options lvalue;
  lvalue.name = "lvalue";
  const spawn_options const_lvalue{.name = "const"};
  pid a = rt.spawn<named_counter>(spawn_options{.name = "temporary"}, 1);
  pid b = rt.spawn<named_counter>(lvalue, 2);
  pid c = rt.spawn<named_counter>(const_lvalue, 3);
  EXPECT_EQ(rt.whereis("temporary"), a);
  EXPECT_EQ(rt.whereis("lvalue"), b);
  EXPECT_EQ(rt.whereis("const"), c);
  EXPECT_EQ(*self.request<int>(a, ping{10}, 5s), 11);
  EXPECT_EQ(*self.request<int>(c, ping{10}, 5s), 13);
  // The same from inside an actor.
  auto parent = rt.spawn([](actor& s) -> behavior {
    return {[&s](int start) { return s.spawn<named_counter>(spawn_options{.name = "inner"}, start); }};
  });
  auto inner = self.request<pid>(parent, 5, 5s);
  ASSERT_TRUE(inner);
  EXPECT_EQ(rt.whereis("inner"), *inner);
  EXPECT_EQ(*self.request<int>(*inner, ping{1}, 5s), 6);
}
}  // namespace
