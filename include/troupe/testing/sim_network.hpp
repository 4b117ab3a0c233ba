// sim_network: the transport (troupe/core/transport.hpp) of a simulation.
// Frames between named nodes arrive after a latency drawn from the link's
// range, on the simulation's virtual clock, and may be lost, duplicated,
// reordered or cut off by a partition, all decided by the simulation's
// seeded generator, so a seed replays the same faults.
//
//   sim_network net(sim, {.min_latency = 1ms, .max_latency = 20ms});
//   net.attach("a", node_a_endpoint);
//   net.attach("b", node_b_endpoint);
//   net.set_faults("a", "b", {.loss = 0.1, .duplication = 0.05});
//   net.partition({"a"}, {"b"});   ...   net.heal();
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "troupe/core/transport.hpp"
#include "troupe/testing/simulation.hpp"

namespace troupe::testing {

struct link_faults {
  duration min_latency = std::chrono::milliseconds(1);
  duration max_latency = std::chrono::milliseconds(1);
  double loss = 0.0;         // probability a frame is dropped
  double duplication = 0.0;  // probability a frame arrives twice
  bool reorder = false;      // false: frames of one link arrive in order
};

class sim_network final : public transport {
 public:
  explicit sim_network(simulation& sim, link_faults defaults = {});

  void attach(const std::string& node, const pid& endpoint) override;
  void detach(const std::string& node) override;
  bool send(const std::string& from, const std::string& to, std::string bytes) override;

  // Faults of the link between a and b, both directions.
  void set_faults(const std::string& a, const std::string& b, link_faults faults);
  // Until heal(): no frame crosses between a node of one side and one of
  // the other.
  void partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  void heal();

  struct counters {
    std::uint64_t sent = 0, lost = 0, duplicated = 0, cut_by_partition = 0;
  };
  const counters& stats() const noexcept { return stats_; }

 private:
  using link = std::pair<std::string, std::string>;
  const link_faults& faults_of(const std::string& from, const std::string& to) const;
  bool chance(double probability);
  duration latency(const link_faults& faults);

  simulation& sim_;
  link_faults defaults_;
  std::map<std::string, pid> endpoints_;
  std::map<link, link_faults> faults_;
  std::set<link> cut_;
  std::map<link, time_point> last_arrival_;
  counters stats_;
};

}  // namespace troupe::testing
