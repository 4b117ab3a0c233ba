// sim_cluster: nodes with their own runtimes in one simulation engine, over
// sim_streams' connections. See troupe/testing/sim_cluster.hpp.
//
// Killing a node: (1) the world marks its host dead: its connections end
// (FINs go to the peers), its listeners vanish, packets still on their way
// to it are dropped on arrival; (2) its net::node, reactor and runtime are
// destroyed as the process's memory would vanish: they can send nothing
// more over the network (every connection is done), and what their actors
// say to each other while ending is local; (3) the engine drops what is in
// flight from or to its actors. Nothing of the node runs after (1).
#include "troupe/testing/sim_cluster.hpp"

#include <stdexcept>

#include "sim_engine.hpp"
#include "sim_streams.hpp"

namespace troupe::testing {

sim_cluster::sim_cluster(simulation& sim, cluster_options options)
    : sim_(sim),
      options_(std::move(options)),
      world_(std::make_unique<detail::stream_world>(
          sim.engine(), detail::link_range{options_.min_latency, options_.max_latency}, options_.connect_timeout)) {
  if (options_.node.cookie.empty()) options_.node.cookie = "the simulated cluster's cookie";
}

sim_cluster::~sim_cluster() {
  // Newest first, each as a process exiting: its node closes its links.
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    auto& e = entries_.at(*it);
    if (e.running) tear_down(*e.node);
    e.running = false;
  }
}

void sim_cluster::tear_down(sim_node& n) {
  auto& rt_impl = n.rt_->impl();
  n.node_.reset();
  n.io_.reset();
  n.rt_.reset();
  sim_.engine().detach(rt_impl);
  // What waited for a paused host holds its connections, which hold the
  // host: dropping it all breaks that cycle.
  n.host_->died();
  n.host_.reset();
}

sim_node& sim_cluster::start(const std::string& name, std::function<void(sim_node&)> setup) {
  auto& e = entries_[name];
  if (e.running) throw std::logic_error("sim_cluster: node " + name + " is running");
  if (!e.node) order_.push_back(name);
  e.node = std::make_unique<sim_node>();
  if (setup) e.setup = std::move(setup);
  sim_node& n = *e.node;
  n.name_ = name;
  sim_.note("start node " + name);
  n.rt_ = std::make_unique<runtime>(sim_.engine().options.runtime_config, sim_.engine());
  sim_.engine().attach(n.rt_->impl(), name);
  n.host_ = world_->add_host(name, *n.rt_);
  n.io_ = std::make_unique<io::reactor>(*n.rt_, n.host_);
  net::node_options opts = options_.node;
  opts.name = name;
  opts.listen = n.address();
  n.node_ = std::make_unique<net::node>(*n.rt_, *n.io_, std::move(opts));
  e.running = true;
  if (e.setup) e.setup(n);
  return n;
}

sim_node& sim_cluster::operator[](const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end() || !it->second.running)
    throw std::out_of_range("sim_cluster: no node " + name + " is running");
  return *it->second.node;
}

bool sim_cluster::running(const std::string& name) const {
  auto it = entries_.find(name);
  return it != entries_.end() && it->second.running;
}

std::vector<std::string> sim_cluster::nodes() const {
  std::vector<std::string> out;
  for (auto& name : order_)
    if (running(name)) out.push_back(name);
  return out;
}

void sim_cluster::connect_all() {
  auto names = nodes();
  std::vector<future<std::string>> pending;
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j)
      pending.push_back((*this)[names[i]].node().connect((*this)[names[j]].address()));
  for (auto& f : pending) wait(std::move(f));
}

void sim_cluster::kill(const std::string& name) {
  sim_node& n = (*this)[name];
  sim_.note("kill node " + name);
  world_->kill(name);
  entries_.at(name).running = false;
  tear_down(n);
}

sim_node& sim_cluster::restart(const std::string& name) {
  auto it = entries_.find(name);
  if (it == entries_.end()) throw std::out_of_range("sim_cluster: no node " + name + " was started");
  sim_.note("restart node " + name);
  return start(name);
}

void sim_cluster::pause(const std::string& name) {
  sim_node& n = (*this)[name];
  sim_.note("pause node " + name);
  sim_.engine().set_paused(n.rt_->impl(), true);
  world_->set_paused(name, true);
}

void sim_cluster::resume(const std::string& name) {
  sim_node& n = (*this)[name];
  sim_.note("resume node " + name);
  sim_.engine().set_paused(n.rt_->impl(), false);
  world_->set_paused(name, false);
}

void sim_cluster::partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b) {
  std::string text = "partition";
  for (auto& a : side_a) text += " " + a;
  text += " |";
  for (auto& b : side_b) text += " " + b;
  sim_.note(text);
  world_->partition(side_a, side_b);
}

void sim_cluster::heal() {
  sim_.note("heal");
  world_->heal();
}

void sim_cluster::set_link(const std::string& a, const std::string& b, duration min_latency, duration max_latency) {
  world_->set_link(a, b, {min_latency, max_latency});
}

void sim_cluster::at(duration delay, std::function<void()> fn) {
  sim_.engine().at(sim_.engine().now() + delay, std::move(fn));
}

void sim_cluster::run_until(const std::function<bool()>& done, duration limit, const std::string& what) {
  auto& engine = sim_.engine();
  const time_point end = engine.now() + limit;
  while (!done()) {
    if (engine.step()) continue;
    if (engine.now() < end && engine.advance_to_next_timer() && engine.now() <= end) continue;
    if (done()) return;
    throw sim_error("sim_cluster: " + what + " was not ready " +
                    (engine.now() >= end ? "within the time limit" : "and nothing can run") + "; seed " +
                    std::to_string(sim_.seed()) + "\nlast events:\n" + sim_.trace_text(20));
  }
}

}  // namespace troupe::testing
