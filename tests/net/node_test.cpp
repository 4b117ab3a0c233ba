// Nodes over real loopback sockets, each with its own runtime and reactor
// in this process: remote send, request, pids in messages, links and
// monitors across nodes, connection loss, the handshake's refusals, the
// failure detector, names, the mesh.
#include "troupe/net/node.hpp"

#include <gtest/gtest.h>

#include "net_testing.hpp"
#include "../io/test_certs.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "troupe/core/scoped_actor.hpp"
#include "troupe/io/reactor.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
using troupe::pid;
namespace net = troupe::net;
namespace io = troupe::io;
using troupe::net::testing::eventually;
using troupe::net::testing::spawn_watcher;
using troupe::net::testing::site;
using troupe::net::testing::directory_via_b;

struct order {
  std::string item;
  int quantity = 0;
  std::vector<std::string> notes;
};
struct receipt {
  std::string item;
  int total = 0;
  pid clerk;
};
struct forward_to {
  pid target;
  std::string text;
};
struct register_types {
  register_types() {
    net::register_type<order>("test.order");
    net::register_type<receipt>("test.receipt");
    net::register_type<forward_to>("test.forward_to");
  }
} const registered;

pid spawn_clerk(troupe::runtime& rt) {
  return rt.spawn([](actor& self) -> behavior {
    return {[&self](const order& o) { return receipt{o.item, o.quantity * 10, self.pid()}; }};
  });
}

TEST(Node, ConnectsWhereisAndRequests) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  ASSERT_TRUE(b.rt.register_name("clerk", spawn_clerk(b.rt)));
  auto peer = a.node.connect(b.node.address()).get();
  EXPECT_EQ(peer, "b@127.0.0.1");
  EXPECT_TRUE(eventually([&] { return b.node.connected_nodes().size() == 1; }));

  pid clerk = a.node.whereis("troupe://b@127.0.0.1/clerk").get();
  ASSERT_TRUE(clerk);
  EXPECT_EQ(a.node.node_of(clerk), "b@127.0.0.1");
  EXPECT_FALSE(a.rt.register_name("alias", clerk));  // names are per node
  EXPECT_EQ(a.node.whereis("troupe://b@127.0.0.1/nobody").get(), pid());
  // The same remote actor is the same local pid each time it is seen.
  EXPECT_EQ(a.node.whereis("troupe://b@127.0.0.1/clerk").get(), clerk);

  troupe::scoped_actor me(a.rt);
  auto r = me.request<receipt>(clerk, order{"tea", 3, {"green", "no sugar"}}, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->item, "tea");
  EXPECT_EQ(r->total, 30);
  EXPECT_EQ(r->clerk, clerk);  // b's pid came back to a as the same proxy
}

TEST(Node, PidsTravelBothWaysAndKeepTheirIdentity) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  // b's relay sends `text` to whatever pid it is given.
  pid relay = b.rt.spawn([&](actor& self) -> behavior {
    return {[&self](const forward_to& f) { self.send(f.target, f.text); }};
  });
  ASSERT_TRUE(b.rt.register_name("relay", relay));
  a.node.connect(b.node.address()).get();
  pid remote_relay = a.node.whereis("troupe://b@127.0.0.1/relay").get();
  troupe::scoped_actor me(a.rt);
  for (int i = 0; i < 3; ++i) me.send(remote_relay, forward_to{me.pid(), "hello " + std::to_string(i)});
  for (int i = 0; i < 3; ++i) {
    auto got = me.receive<std::string>(5s);
    ASSERT_TRUE(got) << got.error().message();
    EXPECT_EQ(*got, "hello " + std::to_string(i));  // in order
  }
}

TEST(Node, MessagesFromOneSenderArriveInOrder) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  constexpr int n = 20000;
  std::atomic<int> next{0}, out_of_order{0};
  pid sink = b.rt.spawn([&](actor&) -> behavior {
    return {[&](std::int64_t i) {
      if (i != next.load()) out_of_order.fetch_add(1);
      next.store(static_cast<int>(i) + 1);
    }};
  });
  b.rt.register_name("sink", sink);
  a.node.connect(b.node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/sink").get();
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(a.rt.send(remote, i), troupe::send_status::ok);
  EXPECT_TRUE(eventually([&] { return next.load() == n; })) << next.load();
  EXPECT_EQ(out_of_order.load(), 0);
}

TEST(Node, RemoteMonitorAndLinkCarryTheReason) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  pid victim = b.rt.spawn([](actor& self) -> behavior {
    return {[&self](const std::string& why) { self.quit(troupe::exit_reason::error(why)); }};
  });
  b.rt.register_name("victim", victim);
  a.node.connect(b.node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/victim").get();

  troupe::scoped_actor watcher(a.rt), partner(a.rt);
  spawn_watcher(a.rt, remote, watcher.pid(), false);
  spawn_watcher(a.rt, remote, partner.pid(), true);
  std::this_thread::sleep_for(100ms);  // the monitor and link reach b first
  watcher.send(remote, std::string("boom"));

  auto d = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->who, remote);
  EXPECT_EQ(d->reason, troupe::exit_reason::error("boom"));
  auto e = partner.receive<troupe::exit_signal>(5s);
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e->from, remote);
  EXPECT_EQ(e->reason, troupe::exit_reason::error("boom"));
}

TEST(Node, ALocalCrashReachesALinkedRemoteActor) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  std::atomic<bool> got_exit{false};
  troupe::exit_reason seen = troupe::exit_reason::normal();
  std::mutex mu;
  pid keeper = b.rt.spawn([&](actor& self) -> behavior {
    self.trap_exit(true);
    return {
        [&self](const pid& who) {
          self.link(who);
          return true;  // the link frame leaves before this reply, on the same connection
        },
        [&](const troupe::exit_signal& s) {
          std::lock_guard lock(mu);
          seen = s.reason;
          got_exit = true;
        },
    };
  });
  b.rt.register_name("keeper", keeper);
  a.node.connect(b.node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/keeper").get();
  pid doomed = a.rt.spawn([](actor& self) -> behavior {
    return {[&self](int) { self.quit(troupe::exit_reason::error("doomed")); }};
  });
  troupe::scoped_actor me(a.rt);
  auto linked = me.request<bool>(remote, doomed, 5s);  // b's keeper links to a's actor
  ASSERT_TRUE(linked) << linked.error().message();
  a.rt.send(doomed, 1);
  ASSERT_TRUE(eventually([&] { return got_exit.load(); }));
  std::lock_guard lock(mu);
  EXPECT_EQ(seen, troupe::exit_reason::error("doomed"));
}

TEST(Node, LosingANodeFiresNoconnectionEverywhere) {
  site a("a@127.0.0.1");
  auto b = std::make_unique<site>("b@127.0.0.1");
  pid silent = b->rt.spawn([](actor& self) -> behavior {
    auto held = std::make_shared<std::vector<troupe::response_promise>>();
    return {[&self, held](const order&) { held->push_back(self.make_response_promise()); }};  // never answered
  });
  b->rt.register_name("silent", silent);
  a.node.connect(b->node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/silent").get();

  troupe::scoped_actor watcher(a.rt), partner(a.rt), node_watcher(a.rt);
  a.node.monitor_node(node_watcher.pid(), "b@127.0.0.1");
  spawn_watcher(a.rt, remote, watcher.pid(), false);
  spawn_watcher(a.rt, remote, partner.pid(), true);
  std::atomic<bool> request_failed{false};
  std::thread caller([&] {
    troupe::scoped_actor me(a.rt);
    auto r = me.request<receipt>(remote, order{"x", 1, {}}, 30s);
    request_failed = !r && r.error().code() == troupe::errc::noconnection;
    if (!request_failed) ADD_FAILURE() << (r ? "a reply" : r.error().message());
  });
  std::this_thread::sleep_for(200ms);
  b.reset();  // the whole node goes away

  auto d = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->who, remote);
  EXPECT_EQ(d->reason, net::noconnection());
  auto e = partner.receive<troupe::exit_signal>(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, net::noconnection());
  auto down = node_watcher.receive<net::node_down>(5s);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->node, "b@127.0.0.1");
  caller.join();
  EXPECT_TRUE(request_failed.load());
  EXPECT_EQ(a.node.state_of("b@127.0.0.1"), net::fault_state::perm_fail);
  // Sends to the lost node's actors are dead letters now.
  auto before = a.rt.dead_letter_count();
  EXPECT_EQ(a.rt.send(remote, order{}), troupe::send_status::dead_letter);
  EXPECT_EQ(a.rt.dead_letter_count(), before + 1);
}

TEST(Node, AWrongCookieIsRefusedOnBothSides) {
  site a("a@127.0.0.1");
  net::node_options other;
  other.cookie = "not the cookie the others share";
  site b("b@127.0.0.1", other);
  auto r = a.node.connect(b.node.address()).outcome();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), troupe::errc::io_error);
  EXPECT_TRUE(a.node.connected_nodes().empty());
  EXPECT_TRUE(b.node.connected_nodes().empty());
  EXPECT_TRUE(eventually([&] { return a.node.stats().refused_handshakes + b.node.stats().refused_handshakes >= 1; }));
}

// A node's records say which node wrote them, and a connection closed in
// order (the other side's disconnect) is news (info), not a warning.
TEST(Node, ItsRecordsNameItAndAnOrderlyDisconnectIsInfo) {
  std::mutex mu;
  std::vector<std::tuple<troupe::log_level, troupe::log_component, std::string, std::string>> records;
  troupe::config cfg{.workers = 2, .warn_unhandled = false};
  cfg.log_sink = [&](const troupe::log_record& r) {
    std::lock_guard lock(mu);
    records.emplace_back(r.level, r.component, std::string(r.node), std::string(r.text));
  };
  site a("a@127.0.0.1", {}, cfg), b("b@127.0.0.1");
  ASSERT_EQ(a.node.connect(b.node.address()).get(), "b@127.0.0.1");
  ASSERT_TRUE(eventually([&] { return b.node.connected_nodes().size() == 1; }));
  b.node.disconnect("a@127.0.0.1");
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    for (auto& [level, component, node, text] : records)
      if (text.starts_with("lost b@127.0.0.1")) return true;
    return false;
  }));
  std::lock_guard lock(mu);
  for (auto& [level, component, node, text] : records) {
    EXPECT_EQ(node, "a@127.0.0.1") << text;
    if (text.starts_with("lost b@127.0.0.1")) {
      EXPECT_EQ(level, troupe::log_level::info) << text;
      EXPECT_EQ(component, troupe::log_component::net);
    }
  }
}

// Any node answers a ping itself, whatever actors it runs (b registers
// none); a node that cannot be reached fails with noconnection.
TEST(Node, PingIsAnsweredByTheNodeItself) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  ASSERT_EQ(a.node.connect(b.node.address()).get(), "b@127.0.0.1");
  auto rtt = a.node.ping("b@127.0.0.1");
  ASSERT_TRUE(rtt.wait_for(5s));
  ASSERT_TRUE(rtt.outcome()) << rtt.outcome().error().message();
  EXPECT_GT(rtt.get().count(), 0);
  auto self = a.node.ping("a@127.0.0.1");
  ASSERT_TRUE(self.wait_for(5s));
  EXPECT_TRUE(self.outcome());
  auto nobody = a.node.ping("nobody@127.0.0.1");
  ASSERT_TRUE(nobody.wait_for(5s));
  ASSERT_FALSE(nobody.outcome());
  EXPECT_EQ(nobody.outcome().error().code(), troupe::errc::noconnection);
}

TEST(Node, NodesMeetThroughACommonPeer) {
  site a("a@127.0.0.1"), b("b@127.0.0.1"), c("c@127.0.0.1");
  a.node.connect(b.node.address()).get();
  c.node.connect(b.node.address()).get();
  // b tells a about c; a (the smaller name) dials c.
  EXPECT_TRUE(eventually([&] { return a.node.connected_nodes().size() == 2 && c.node.connected_nodes().size() == 2; }));
  // A pid of c's, learned from b, works from a.
  ASSERT_TRUE(c.rt.register_name("clerk", spawn_clerk(c.rt)));
  pid clerk_via_b = b.node.whereis("troupe://c@127.0.0.1/clerk").get();
  pid relay = b.rt.spawn([clerk_via_b](actor&) -> behavior {
    return {[clerk_via_b](const std::string&) { return clerk_via_b; }};
  });
  b.rt.register_name("directory", relay);
  troupe::scoped_actor me(a.rt);
  auto directory = a.node.whereis("troupe://b@127.0.0.1/directory").get();
  auto clerk = me.request<pid>(directory, std::string("clerk?"), 5s);
  ASSERT_TRUE(clerk) << clerk.error().message();
  EXPECT_EQ(a.node.node_of(*clerk), "c@127.0.0.1");
  // pid::node(): 0 here, and one number per remote node, the same for
  // every pid of that node.
  EXPECT_EQ(me.pid().node(), 0u);
  EXPECT_FALSE(me.pid().is_remote());
  EXPECT_TRUE(clerk->is_remote());
  EXPECT_TRUE(directory.is_remote());
  EXPECT_NE(clerk->node(), directory.node());
  EXPECT_EQ(a.node.whereis("troupe://b@127.0.0.1/directory").get().node(), directory.node());
  EXPECT_TRUE(clerk->to_string().starts_with("<" + std::to_string(clerk->node()) + ".")) << clerk->to_string();
  auto r = me.request<receipt>(*clerk, order{"cake", 2, {}}, 5s);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->total, 20);
}

TEST(Node, UnregisteredTypesStayHome) {
  struct not_a_wire_type {
    int x = 0;
  };
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  b.rt.register_name("clerk", spawn_clerk(b.rt));
  a.node.connect(b.node.address()).get();
  pid clerk = a.node.whereis("troupe://b@127.0.0.1/clerk").get();
  auto before = a.rt.dead_letter_count();
  EXPECT_EQ(a.rt.send(clerk, not_a_wire_type{1}), troupe::send_status::dead_letter);
  EXPECT_EQ(a.rt.dead_letter_count(), before + 1);
}

TEST(Node, LinkingToAnEndedRemoteActorGivesNoproc) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  pid brief = b.rt.spawn([](actor& self) -> behavior { return {[&self](int) { self.quit(); }}; });
  b.rt.register_name("brief", brief);
  a.node.connect(b.node.address()).get();
  pid remote = a.node.whereis("troupe://b@127.0.0.1/brief").get();  // exported to a
  a.rt.send(remote, 1);
  ASSERT_TRUE(eventually([&] { return !b.rt.whereis("brief"); }));  // it ended
  std::this_thread::sleep_for(50ms);  // and b forgot its export
  troupe::scoped_actor reports(a.rt);
  spawn_watcher(a.rt, remote, reports.pid(), false);
  spawn_watcher(a.rt, remote, reports.pid(), true);
  auto d = reports.receive<troupe::down>(5s);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->who, remote);
  EXPECT_EQ(d->reason, troupe::noproc());
  auto e = reports.receive<troupe::exit_signal>(5s);
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e->from, remote);
  EXPECT_EQ(e->reason, troupe::noproc());
}

}  // namespace

// TLS: the io layer's tests cover the handshake's refusals; these show a
// node uses it, and that a node without the cluster's certificate, or
// without TLS, never gets to the cookie.
struct tls_cluster {
  troupe::io::testing::test_ca ca{"cluster CA"};
  net::node_options member(const std::string& name) const { return with(ca.issue(name), ca.certificate()); }
  static net::node_options with(const troupe::io::testing::pem_pair& cert, const std::string& trusted) {
    net::node_options o;
    o.tls = io::tls_context::make(
        {.certificate = cert.certificate, .private_key = cert.private_key, .trusted = trusted});
    return o;
  }
};

TEST(Node, TlsNodesConnectAndRequest) {
  tls_cluster cluster;
  site a("a@127.0.0.1", cluster.member("a")), b("b@127.0.0.1", cluster.member("b"));
  ASSERT_TRUE(b.rt.register_name("clerk", spawn_clerk(b.rt)));
  ASSERT_EQ(a.node.connect(b.node.address()).get(), "b@127.0.0.1");
  pid clerk = a.node.whereis("troupe://b@127.0.0.1/clerk").get();
  ASSERT_TRUE(clerk);
  troupe::scoped_actor me(a.rt);
  for (int i = 0; i < 100; ++i) {
    auto r = me.request<receipt>(clerk, order{"tea", i, {}}, 5s);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->total, i * 10);
  }
}

TEST(Node, ANodeWithAnotherCasCertificateIsRefused) {
  tls_cluster cluster;
  troupe::io::testing::test_ca rogue("rogue CA");
  // The intruder trusts the cluster's CA and knows the cookie: only its
  // certificate is wrong.
  site a("a@127.0.0.1", cluster.member("a"));
  site intruder("x@127.0.0.1", tls_cluster::with(rogue.issue("x"), cluster.ca.certificate()));
  auto r = intruder.node.connect(a.node.address()).outcome();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), troupe::errc::io_error);
  EXPECT_NE(r.error().message().find("tls: "), std::string::npos) << r.error().message();
  EXPECT_TRUE(eventually([&] { return a.node.stats().refused_handshakes >= 1; }));
  EXPECT_TRUE(a.node.connected_nodes().empty());
  EXPECT_TRUE(intruder.node.connected_nodes().empty());
}

TEST(Node, APlainNodeAndATlsNodeDoNotConnect) {
  tls_cluster cluster;
  site secure("a@127.0.0.1", cluster.member("a")), plain("p@127.0.0.1");
  EXPECT_FALSE(plain.node.connect(secure.node.address()).outcome());
  EXPECT_FALSE(secure.node.connect(plain.node.address()).outcome());
  EXPECT_TRUE(eventually([&] { return secure.node.stats().refused_handshakes >= 1; }));
  EXPECT_TRUE(secure.node.connected_nodes().empty());
  EXPECT_TRUE(plain.node.connected_nodes().empty());
}

// Connections on first use.

TEST(Node, WhereisWithAPortConnectsOnFirstUse) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  ASSERT_TRUE(b.rt.register_name("clerk", spawn_clerk(b.rt)));
  auto uri = "troupe://b@127.0.0.1:" + std::to_string(b.node.address().port) + "/clerk";
  pid clerk = a.node.whereis(uri).get();  // not connected before
  ASSERT_TRUE(clerk);
  EXPECT_EQ(a.node.connected_nodes(), std::vector<std::string>{"b@127.0.0.1"});
  EXPECT_EQ(a.node.node_of(clerk), "b@127.0.0.1");
  EXPECT_EQ(a.node.whereis(uri).get(), clerk);  // connected now: the same pid
  troupe::scoped_actor me(a.rt);
  auto r = me.request<receipt>(clerk, order{"tea", 1, {}}, 5s);
  ASSERT_TRUE(r) << r.error().message();
}

TEST(Node, AnUnreachableNodeFailsWhatWaitsForIt) {
  site a("a@127.0.0.1");
  std::uint16_t port;
  {
    site b("b@127.0.0.1");
    a.node.connect(b.node.address()).get();
    port = b.node.address().port;
  }
  ASSERT_TRUE(eventually([&] { return a.node.connected_nodes().empty(); }));
  // a knows where b listened, and tries there; nobody does now.
  auto r = a.node.whereis("troupe://b@127.0.0.1/clerk").outcome();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), troupe::errc::noconnection);
  auto wrong = a.node.whereis("troupe://b@127.0.0.1:" + std::to_string(port) + "/clerk").outcome();
  EXPECT_FALSE(wrong);
  // A node never heard of: at once.
  auto unknown = a.node.whereis("troupe://z@127.0.0.1/clerk").outcome();
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), troupe::errc::noconnection);
}

TEST(Node, MessagesForANodeNotConnectedWaitForItInOrder) {
  site a("a@127.0.0.1"), b("b@127.0.0.1"), c("c@127.0.0.1");
  constexpr int n = 5000;
  std::atomic<int> next{0}, out_of_order{0};
  c.rt.register_name("sink", c.rt.spawn([&](actor&) -> behavior {
    return {[&](std::int64_t i) {
      if (i != next.load()) out_of_order.fetch_add(1);
      next.store(static_cast<int>(i) + 1);
    }};
  }));
  ASSERT_TRUE(c.rt.register_name("clerk", spawn_clerk(c.rt)));
  b.node.connect(c.node.address()).get();
  a.node.connect(b.node.address()).get();
  ASSERT_TRUE(eventually([&] { return a.node.connected_nodes().size() == 2; }));
  // b hands out c's pids; a and c part, so what a gets next is a pid of a
  // node it is not connected to.
  pid sink_at_b = b.node.whereis("troupe://c@127.0.0.1/sink").get();
  pid clerk_at_b = b.node.whereis("troupe://c@127.0.0.1/clerk").get();
  b.rt.register_name("directory", b.rt.spawn([=](actor&) -> behavior {
    return {[=](const std::string& what) { return what == "sink" ? sink_at_b : clerk_at_b; }};
  }));
  a.node.disconnect("c@127.0.0.1");
  ASSERT_TRUE(eventually([&] { return a.node.connected_nodes().size() == 1 && c.node.connected_nodes().size() == 1; }));
  troupe::scoped_actor me(a.rt);
  auto directory = a.node.whereis("troupe://b@127.0.0.1/directory").get();
  auto sink = me.request<pid>(directory, std::string("sink"), 5s);
  auto clerk = me.request<pid>(directory, std::string("clerk"), 5s);
  ASSERT_TRUE(sink && clerk);
  ASSERT_EQ(a.node.state_of("c@127.0.0.1"), net::fault_state::perm_fail);  // not connected
  for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(me.send(*sink, i), troupe::send_status::ok);
  auto r = me.request<receipt>(*clerk, order{"jam", 4, {}}, 5s);  // a request waits too
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->total, 40);
  EXPECT_TRUE(eventually([&] { return next.load() == n; })) << next.load();
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(a.node.state_of("c@127.0.0.1"), net::fault_state::ok);
}

TEST(Node, AFirstUseBySomeoneWhoLeavesAtOnceStillEndsItsDial) {
  net::node_options quick;
  quick.handshake_timeout = 1s;
  site a("a@127.0.0.1", quick), b("b@127.0.0.1"), c("c@127.0.0.1");
  std::atomic<int> got{0};
  c.rt.register_name("sink", c.rt.spawn([&](actor&) -> behavior { return {[&](std::int64_t) { ++got; }}; }));
  auto found = directory_via_b(a, b, c, "sink");
  ASSERT_TRUE(found);
  pid directory = *found;
  for (int round = 1; round <= 2; ++round) {
    a.node.disconnect("c@127.0.0.1");
    ASSERT_TRUE(eventually([&] { return a.node.connected_nodes().size() == 1; }));
    troupe::scoped_actor me(a.rt);
    auto sink = me.request<pid>(directory, std::string("sink"), 5s);
    ASSERT_TRUE(sink);
    // The first use comes from an actor that ends right after it.
    a.rt.spawn([target = *sink](actor& self) { self.send(target, std::int64_t{1}); });
    ASSERT_TRUE(eventually([&] { return got.load() == round; })) << "round " << round;
  }
}

// Two nodes that dial each other at the same moment keep one connection
// (the dial of the node with the smaller name wins, as in Erlang), both
// connect() calls succeed, and neither side loses the other.
TEST(Node, NodesDialingEachOtherAtOnceKeepOneConnection) {
  int dropped_rounds = 0;
  for (int round = 0; round < 15; ++round) {
    site a("a@127.0.0.1"), b("b@127.0.0.1");
    std::atomic<int> downs{0};
    auto count_downs = [&](const net::node_event& e) {
      if (e.state == net::fault_state::perm_fail) ++downs;
    };
    a.node.watch(count_downs);
    b.node.watch(count_downs);
    auto from_a = a.node.connect(b.node.address());
    auto from_b = b.node.connect(a.node.address());
    auto ra = from_a.outcome();
    auto rb = from_b.outcome();
    ASSERT_TRUE(ra) << ra.error().message();
    ASSERT_TRUE(rb) << rb.error().message();
    EXPECT_EQ(*ra, "b@127.0.0.1");
    EXPECT_EQ(*rb, "a@127.0.0.1");
    ASSERT_TRUE(b.rt.register_name("clerk", spawn_clerk(b.rt)));
    // Still connected, both ways, once both handshakes are over.
    std::this_thread::sleep_for(50ms);
    pid clerk = a.node.whereis("troupe://b@127.0.0.1/clerk").get();
    ASSERT_TRUE(clerk);
    troupe::scoped_actor me(a.rt);
    auto r = me.request<receipt>(clerk, order{"tea", 1, {}}, 5s);
    ASSERT_TRUE(r) << "round " << round << ": " << r.error().message();
    EXPECT_EQ(a.node.connected_nodes().size(), 1u);
    EXPECT_EQ(b.node.connected_nodes().size(), 1u);
    if (downs.load() != 0) ++dropped_rounds;
  }
  EXPECT_EQ(dropped_rounds, 0);
}

namespace {

// A peer that sends many distinct pids does not grow the node's proxy
// table without bound: proxies nothing here refers to any more are freed
// (200,000 pids used to keep 143 MB until the connection closed), and the
// connection closing frees the rest.
TEST(Node, ProxiesOfPidsNoLongerReferredToAreFreed) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  pid sink = b.rt.spawn([](actor&) -> behavior {
    return {[count = 0](const forward_to&) mutable { ++count; },  // drops the pid it carries
            [](const std::string&) { return 1; }};
  });
  ASSERT_TRUE(b.rt.register_name("sink", sink));
  a.node.connect(b.node.address()).get();
  pid remote_sink = a.node.whereis("troupe://b@127.0.0.1/sink").get();
  troupe::scoped_actor me(a.rt);
  constexpr int batches = 20, per_batch = 1000;
  std::size_t most = 0;
  for (int batch = 0; batch < batches; ++batch) {
    std::vector<pid> actors;  // each batch's pids are distinct actors of a's
    for (int i = 0; i < per_batch; ++i)
      actors.push_back(a.rt.spawn([](actor&) -> behavior { return {[](int) {}}; }));
    for (auto& p : actors) me.send(remote_sink, forward_to{p, ""});
    ASSERT_TRUE(me.request<int>(remote_sink, std::string("batch done"), 10s));  // handled them all
    most = std::max<std::size_t>(most, b.node.stats().proxies);
    for (auto& p : actors) a.rt.send_exit(p, troupe::exit_reason::kill());
  }
  EXPECT_LT(most, 5'000u) << "proxies of pids no longer used were kept";
  a.node.disconnect("b@127.0.0.1");
  EXPECT_TRUE(eventually([&] { return b.node.stats().proxies == 0; })) << b.node.stats().proxies;
}

// A peer's actors cannot hold more than max_peer_watches links and
// monitors on this node's actors: the frame past it closes the connection
// (logged), and what the peer held here is forgotten.
TEST(Node, APeerPastMaxPeerWatchesIsDisconnectedAndItsMonitorsForgotten) {
  site a("a@127.0.0.1");
  troupe::net::node_options limited;
  limited.max_peer_watches = 100;
  site b("b@127.0.0.1", limited);
  pid sink = b.rt.spawn([](actor&) -> behavior { return {[](int) {}}; });
  ASSERT_TRUE(b.rt.register_name("sink", sink));
  a.node.connect(b.node.address()).get();
  pid remote_sink = a.node.whereis("troupe://b@127.0.0.1/sink").get();
  ASSERT_TRUE(remote_sink);
  // 60 monitors, then 60 of them taken back: under the limit throughout.
  pid watcher = a.rt.spawn([remote_sink](actor& self) -> behavior {
    std::vector<troupe::monitor_ref> refs;
    for (int i = 0; i < 60; ++i) refs.push_back(self.monitor(remote_sink));
    for (auto& r : refs) self.demonitor(r);
    return {[&self, remote_sink](int n) {
      for (int i = 0; i < n; ++i) self.monitor(remote_sink);
    }};
  });
  a.rt.send(watcher, 90);
  ASSERT_TRUE(eventually([&] { return b.node.stats().peer_watches == 90; })) << b.node.stats().peer_watches;
  EXPECT_EQ(b.node.connected_nodes().size(), 1u);
  a.rt.send(watcher, 20);  // 110: past 100
  EXPECT_TRUE(eventually([&] { return b.node.connected_nodes().empty(); })) << "still connected";
  EXPECT_TRUE(eventually([&] { return b.node.stats().peer_watches == 0; })) << b.node.stats().peer_watches;
}

// monitor_node registrations of actors that ended without demonitoring are
// swept: 20,000 short-lived watchers leave a table of about twice the live
// ones, not 20,000 entries.
TEST(Node, MonitorNodeRegistrationsOfEndedActorsAreSwept) {
  site a("a@127.0.0.1");
  const std::size_t before = a.rt.live_actors();
  for (int i = 0; i < 20'000; ++i) {
    pid watcher = a.rt.spawn([](actor& self) -> behavior { return {[&self](int) { self.quit(); }}; });
    a.node.monitor_node(watcher, "nowhere@127.0.0.1");
    a.rt.send(watcher, 1);
    if (i % 1000 == 999) ASSERT_TRUE(eventually([&] { return a.rt.live_actors() == before; }));
  }
  EXPECT_LT(a.node.stats().node_monitors, 5'000u);
}

}  // namespace

namespace {

// A short cookie falls to online guessing: the library refuses it, with a
// message that says what to use, unless the caller insists.
TEST(Node, ACookieShorterThan16BytesIsRefusedUnlessAllowed) {
  troupe::runtime rt(troupe::config{.workers = 1, .warn_unhandled = false});
  io::reactor reactor(rt);
  try {
    net::node weak(rt, reactor, {.name = "w@127.0.0.1", .cookie = "secret"});
    FAIL() << "a 6-byte cookie was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("16"), std::string::npos) << e.what();
  }
  net::node forced(rt, reactor, {.name = "w@127.0.0.1", .cookie = "secret", .allow_weak_cookie = true});
  EXPECT_EQ(forced.name(), "w@127.0.0.1");
}

}  // namespace
