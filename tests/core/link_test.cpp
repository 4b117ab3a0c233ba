// Links, monitors and exit signals, case by case after Erlang/OTP's rules.
#include <gtest/gtest.h>

#include <future>
#include <memory>

#include <string>
#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct crash {
  std::string why;
};
struct link_to {
  pid other;
};
struct stop {};

config quiet() {
  config cfg{.workers = 2};
  cfg.log_level = log_level::off;
  return cfg;
}

// An actor that does what it is told: crash, link, stop; optionally traps
// exits and forwards every exit_signal to `report`.
pid spawn_puppet(runtime& rt, pid report, bool trapping) {
  return rt.spawn([report, trapping](actor& a) -> behavior {
    a.trap_exit(trapping);
    return {
        [](const crash& c) { throw std::runtime_error(c.why); },
        [&a](const link_to& l) { a.link(l.other); },
        [&a](stop) { a.quit(); },
        [&a, report](const exit_signal& s) { a.send(report, s); },
        [](int x) { return x; },
    };
  });
}

// Monitors `target` and forwards the down to `report`. The monitor is in
// place when this returns (the watcher's setup, which runs in its first
// turn, has run).
void watch(runtime& rt, const pid& target, const pid& report) {
  auto placed = std::make_shared<std::promise<void>>();
  rt.spawn([target, report, placed](actor& a) -> behavior {
    a.monitor(target);
    placed->set_value();
    return {[&a, report](const down& d) { a.send(report, d); }};
  });
  placed->get_future().wait();
}

bool alive(runtime& rt, const pid& p) {
  scoped_actor probe(rt);
  return probe.request<int>(p, 1, 5s).has_value();
}
}  // namespace

TEST(links, an_abnormal_exit_ends_the_linked_actor_with_the_same_reason) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto a = spawn_puppet(rt, self.pid(), false);
  auto b = spawn_puppet(rt, self.pid(), false);
  watch(rt, a, self.pid());
  self.send(a, link_to{b});
  ASSERT_TRUE(alive(rt, a));  // the link is in place once a handled link_to
  self.send(b, crash{"boom"});
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->who, a);
  EXPECT_EQ(d->reason, exit_reason::error("boom"));
}

TEST(links, a_trapping_actor_gets_an_exit_signal_message_instead) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto a = spawn_puppet(rt, self.pid(), true);
  auto b = spawn_puppet(rt, self.pid(), false);
  self.send(a, link_to{b});
  ASSERT_TRUE(alive(rt, a));
  self.send(b, crash{"boom"});
  auto s = self.receive<exit_signal>(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->from, b);
  EXPECT_EQ(s->reason, exit_reason::error("boom"));
  EXPECT_TRUE(alive(rt, a));
}

TEST(links, a_normal_exit_does_not_end_linked_actors) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto a = spawn_puppet(rt, self.pid(), false);
  auto trapping = spawn_puppet(rt, self.pid(), true);
  auto b = spawn_puppet(rt, self.pid(), false);
  self.send(a, link_to{b});
  self.send(trapping, link_to{b});
  ASSERT_TRUE(alive(rt, a));
  ASSERT_TRUE(alive(rt, trapping));
  self.send(b, stop{});
  auto s = self.receive<exit_signal>(5s);  // the trapping one sees it
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, exit_reason::normal());
  EXPECT_TRUE(alive(rt, a));
}

TEST(links, unlink_undoes_a_link) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto b = spawn_puppet(rt, self.pid(), false);
  auto a = rt.spawn([b](actor& x) -> behavior {
    x.link(b);
    x.unlink(b);
    return {[](int v) { return v; }};
  });
  ASSERT_TRUE(alive(rt, a));
  ASSERT_TRUE(alive(rt, b));  // b has handled link and unlink by now (FIFO)
  self.send(b, crash{"boom"});
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(alive(rt, a));
}

TEST(links, linking_to_a_dead_actor_gives_noproc) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto gone = spawn_puppet(rt, self.pid(), false);
  self.send(gone, stop{});
  while (alive(rt, gone)) std::this_thread::sleep_for(1ms);
  auto trapping = spawn_puppet(rt, self.pid(), true);
  self.send(trapping, link_to{gone});
  auto s = self.receive<exit_signal>(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, noproc());
  auto plain = spawn_puppet(rt, self.pid(), false);
  watch(rt, plain, self.pid());
  ASSERT_TRUE(alive(rt, plain));
  self.send(plain, link_to{gone});
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, noproc());
}

TEST(links, kill_cannot_be_trapped_and_reaches_links_as_killed) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto victim = spawn_puppet(rt, self.pid(), true);  // traps, yet dies
  auto partner = spawn_puppet(rt, self.pid(), true);
  watch(rt, victim, self.pid());
  self.send(partner, link_to{victim});
  ASSERT_TRUE(alive(rt, partner));
  ASSERT_TRUE(alive(rt, victim));
  rt.send_exit(victim, exit_reason::kill());
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, exit_reason::killed());
  auto s = self.receive<exit_signal>(5s);  // the trapping partner hears `killed`
  ASSERT_TRUE(s);
  EXPECT_EQ(s->from, victim);
  EXPECT_EQ(s->reason, exit_reason::killed());
  EXPECT_TRUE(alive(rt, partner));
}

TEST(links, send_exit_to_a_trapping_actor_is_a_message) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto trapping = spawn_puppet(rt, self.pid(), true);
  ASSERT_TRUE(alive(rt, trapping));
  rt.send_exit(trapping, exit_reason::shutdown());
  auto s = self.receive<exit_signal>(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, exit_reason::shutdown());
  EXPECT_TRUE(alive(rt, trapping));
  auto plain = spawn_puppet(rt, self.pid(), false);
  watch(rt, plain, self.pid());
  ASSERT_TRUE(alive(rt, plain));
  rt.send_exit(plain, exit_reason::shutdown());
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, exit_reason::shutdown());
}

TEST(monitors, down_comes_exactly_once_with_the_reason) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto target = spawn_puppet(rt, self.pid(), false);
  watch(rt, target, self.pid());
  ASSERT_TRUE(alive(rt, target));
  self.send(target, crash{"bad"});
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->who, target);
  EXPECT_EQ(d->reason, exit_reason::error("bad"));
  EXPECT_FALSE(self.receive<down>(100ms));
}

TEST(monitors, monitoring_a_dead_actor_gives_down_noproc) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto gone = spawn_puppet(rt, self.pid(), false);
  self.send(gone, stop{});
  while (alive(rt, gone)) std::this_thread::sleep_for(1ms);
  watch(rt, gone, self.pid());
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, noproc());
}

TEST(monitors, demonitor_stops_a_down_on_its_way) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto me = self.pid();
  auto target = spawn_puppet(rt, self.pid(), false);
  ASSERT_TRUE(alive(rt, target));
  auto watcher = rt.spawn([target, me](actor& a) -> behavior {
    auto ref = a.monitor(target);
    return {
        [&a, target, ref](int) {
          a.send(target, crash{"while busy"});
          std::this_thread::sleep_for(100ms);  // the down reaches the mailbox
          a.demonitor(ref);                    // ... and must not be handled
          a.send(a.pid(), std::string("check"));
        },
        [&a, me](const down&) { a.send(me, std::string("down leaked")); },
        [&a, me](const std::string&) { a.send(me, std::string("clean")); },
    };
  });
  self.send(watcher, 1);
  auto r = self.receive<std::string>(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "clean");
}

TEST(monitors, demonitor_with_flush_drops_a_down_already_queued) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto me = self.pid();
  auto target = spawn_puppet(rt, self.pid(), false);
  ASSERT_TRUE(alive(rt, target));
  auto ref_box = std::make_shared<monitor_ref>();
  auto watcher = rt.spawn([target, me, ref_box](actor& a) -> behavior {
    *ref_box = a.monitor(target);
    return {
        [&a, target, ref_box](int step) {
          if (step == 1) {
            a.send(target, crash{"now"});
            std::this_thread::sleep_for(100ms);  // the down arrives meanwhile
            a.send(a.pid(), 2);  // drained with the down, which is admitted first
          } else {
            a.demonitor(*ref_box, true);  // the down is queued: flush drops it
            a.send(a.pid(), std::string("check"));
          }
        },
        [&a, me](const down&) { a.send(me, std::string("down leaked")); },
        [&a, me](const std::string&) { a.send(me, std::string("clean")); },
    };
  });
  self.send(watcher, 1);
  auto r = self.receive<std::string>(5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "clean");
}

TEST(monitors, spawn_link_and_spawn_monitor_see_a_child_that_dies_in_setup) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto me = self.pid();
  rt.spawn([me](actor& a) -> behavior {
    a.trap_exit(true);
    a.spawn_link([](actor&) -> behavior { throw std::runtime_error("setup failed"); });
    auto [child, ref] = a.spawn_monitor([](actor&) -> behavior { throw std::runtime_error("too"); });
    (void)child;
    (void)ref;
    return {
        [&a, me](const exit_signal& s) { a.send(me, s); },
        [&a, me](const down& d) { a.send(me, d); },
    };
  });
  auto s = self.receive<exit_signal>(5s);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->reason, exit_reason::error("setup failed"));
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, exit_reason::error("too"));
}

TEST(monitors, a_down_passes_a_full_bounded_mailbox) {
  runtime rt(quiet());
  scoped_actor self(rt);
  auto me = self.pid();
  auto target = spawn_puppet(rt, self.pid(), false);
  auto watcher = rt.spawn(spawn_options{.mailbox_limit = 1}, [target, me](actor& a) -> behavior {
    a.monitor(target);
    return {
        [](int) { std::this_thread::sleep_for(100ms); },
        [&a, me](const down& d) { a.send(me, d); },
    };
  });
  self.send(watcher, 1);                 // keeps it busy
  std::this_thread::sleep_for(10ms);
  self.send(watcher, 2);                 // fills the mailbox
  EXPECT_EQ(self.send(watcher, 3), send_status::mailbox_full);
  self.send(target, crash{"x"});
  auto d = self.receive<down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->who, target);
}
