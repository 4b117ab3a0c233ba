// Helpers shared by the net layer's tests.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "../eventually.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"

namespace troupe::net::testing {

using troupe::test_support::eventually;

// The cookie the tests' nodes share (node_options wants 16 bytes or more).
inline constexpr const char* test_cookie = "a-cookie-for-the-net-tests";

// One node: a runtime, its reactor and the node.
struct site {
  explicit site(const std::string& name, troupe::net::node_options base = {},
                troupe::config cfg = troupe::config{.workers = 2, .warn_unhandled = false})
      : rt(std::move(cfg)), reactor(rt), node(rt, reactor, opts(name, base)) {}
  static troupe::net::node_options opts(const std::string& name, troupe::net::node_options o) {
    o.name = name;
    if (o.cookie.empty()) o.cookie = test_cookie;
    return o;
  }
  troupe::runtime rt;
  io::reactor reactor;
  troupe::net::node node;
};

// Joins a to b and b to c (a hears of c through b) and spawns on b an
// actor that answers any string with the pid of c's `sink_name` as b
// knows it: a pid of c that a gets without a connection of its own.
// Returns that actor's pid as a knows it; nullopt if the mesh did not form.
inline std::optional<pid> directory_via_b(site& a, site& b, site& c, const std::string& sink_name) {
  b.node.connect(c.node.address()).get();
  a.node.connect(b.node.address()).get();
  if (!eventually([&] { return a.node.connected_nodes().size() == 2; })) return std::nullopt;
  pid sink_at_b = b.node.whereis("troupe://" + c.node.name() + "/" + sink_name).get();
  b.rt.register_name("directory", b.rt.spawn([=](actor&) -> behavior {
    return {[=](const std::string&) { return sink_at_b; }};
  }));
  return a.node.whereis("troupe://" + b.node.name() + "/directory").get();
}

// An actor that monitors `target` (or links to it, trapping exits) and
// passes each down or exit_signal on to `reporter`. Its link or monitor is
// in place (sent) when this returns: it waits for the actor's setup, which
// runs in the actor's first turn.
inline pid spawn_watcher(runtime& rt, pid target, pid reporter, bool link) {
  auto placed = std::make_shared<std::promise<void>>();
  auto watcher = rt.spawn([=](actor& self) -> behavior {
    if (link) {
      self.trap_exit(true);
      self.link(target);
    } else {
      self.monitor(target);
    }
    placed->set_value();
    return {
        [=, &self](const down& d) { self.send(reporter, d); },
        [=, &self](const exit_signal& e) { self.send(reporter, e); },
    };
  });
  placed->get_future().wait();
  return watcher;
}

}  // namespace troupe::net::testing
