// sim_cluster: whole clusters of troupe nodes inside one simulation. Each
// node has its own runtime (actors, timers, registry), its own reactor and
// its own net::node, as a process would; their connections run over a
// simulated network on the simulation's virtual clock, so the handshake,
// heartbeats, temp_fail/perm_fail, proxies, remote links and monitors are
// the production code, under the simulation's seed.
//
//   auto outcome = explore({.seeds = 100}, [](simulation& sim) {
//     sim_cluster cluster(sim);
//     cluster.start("a", [](sim_node& n) { n.system().register_name("echo", n.system().spawn(echo)); });
//     cluster.start("b");
//     cluster.connect_all();
//     pid echo = cluster.wait(cluster["b"].node().whereis("troupe://a/echo"));
//     cluster.partition({"a"}, {"b"});
//     sim.run_for(10s);  // heartbeats stop: temp_fail, then perm_fail
//     ...
//   });
//
// Faults: kill (the process dies; its kernel closes its sockets), restart
// (a new incarnation, set up again), pause and resume (SIGSTOP/SIGCONT),
// partition and heal, slow links. What the simulated connections model and
// what they do not: docs/design/testing.md, "Clusters".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "troupe/async/future.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"
#include "troupe/testing/simulation.hpp"

namespace troupe::testing {

namespace detail {
class stream_world;
class sim_host;
}  // namespace detail

// How a simulated cluster's network behaves, and how its nodes start.
struct cluster_options {
  // The shortest one-way delay of a packet between two nodes.
  duration min_latency = std::chrono::milliseconds(1);
  // The longest; each packet's is drawn from the seed in between.
  duration max_latency = std::chrono::milliseconds(5);
  // A connection attempt across a partition fails after this long.
  duration connect_timeout = std::chrono::seconds(3);
  // Every node's options; start() sets name and listen (NAME:4370), and
  // gives the cluster one cookie when this has none.
  net::node_options node{};
};

// One node of a sim_cluster: what a process's main() would have made.
class sim_node {
 public:
  // The node's name, as its peers and troupe:// addresses know it.
  const std::string& name() const noexcept { return name_; }
  // Its runtime: spawn, register and send through it as usual.
  runtime& system() noexcept { return *rt_; }
  // Its reactor, over the simulated network.
  io::reactor& reactor() noexcept { return *io_; }
  // Its net::node.
  net::node& node() noexcept { return *node_; }
  // Where it listens: {name, 4370}.
  io::endpoint address() const { return {name_, 4370}; }

 private:
  friend class sim_cluster;
  std::string name_;
  std::shared_ptr<detail::sim_host> host_;
  std::unique_ptr<runtime> rt_;
  std::unique_ptr<io::reactor> io_;
  std::unique_ptr<net::node> node_;
};

// The nodes of one simulation and the network between them (see above).
class sim_cluster {
 public:
  // Nodes join `sim`: its seed, schedule, clock, trace and explore() are
  // the cluster's. The simulation must outlive the cluster.
  explicit sim_cluster(simulation& sim, cluster_options options = {});
  ~sim_cluster();
  sim_cluster(const sim_cluster&) = delete;
  sim_cluster& operator=(const sim_cluster&) = delete;

  // Starts node `name` (its runtime, reactor and net::node, listening at
  // name:4370) and runs `setup` on it, as its main() would; restart() runs
  // `setup` again. Throws std::logic_error when `name` is running.
  sim_node& start(const std::string& name, std::function<void(sim_node&)> setup = {});
  // A running node; throws std::out_of_range when `name` is not running.
  sim_node& operator[](const std::string& name);
  // Whether `name` runs (started, not killed).
  bool running(const std::string& name) const;
  // The running nodes' names, in start order.
  std::vector<std::string> nodes() const;
  // Connects every running node to every other and waits until all are up.
  void connect_all();

  // Faults.
  // The node's process dies (kill -9): nothing of it runs again, and its
  // kernel closes its connections (its peers hear them end one latency
  // later, unless a partition holds the news).
  void kill(const std::string& name);
  // Starts a killed node again: a new incarnation (its old pids stay dead).
  sim_node& restart(const std::string& name);
  // As SIGSTOP: nothing runs on the node, and what arrives for it waits.
  void pause(const std::string& name);
  // As SIGCONT: what waited is handled, in order, and its timers fire late.
  void resume(const std::string& name);
  // Until heal(): nothing crosses between a node of one side and one of the
  // other (bytes already sent wait and arrive after the heal, as TCP
  // retransmits them).
  void partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  // Ends every partition.
  void heal();
  // The latency range of the link between a and b (both ways).
  void set_link(const std::string& a, const std::string& b, duration min_latency, duration max_latency);

  // Runs fn (a fault, say) when `delay` of virtual time has passed: a
  // fault scheduled in advance, while the body waits on something else.
  void at(duration delay, std::function<void()> fn);

  // Runs the simulation until `f` is ready, moving virtual time from timer
  // to timer, for at most `limit` of it; then returns its value or throws
  // its error. Throws sim_error if the cluster deadlocks or time runs out.
  template <class T>
  T wait(future<T> f, duration limit = std::chrono::minutes(10)) {
    run_until([&f] { return f.is_ready(); }, limit, "a future");
    return std::move(f).get();
  }
  // Runs until `done()` holds (as wait above).
  void run_until(const std::function<bool()>& done, duration limit, const std::string& what);

  // The simulation the cluster runs in.
  simulation& sim() noexcept { return sim_; }

 private:
  struct entry {
    std::unique_ptr<sim_node> node;
    std::function<void(sim_node&)> setup;
    bool running = false;
  };
  void tear_down(sim_node& n);

  simulation& sim_;
  cluster_options options_;
  std::unique_ptr<detail::stream_world> world_;
  std::map<std::string, entry> entries_;
  std::vector<std::string> order_;
};

}  // namespace troupe::testing
