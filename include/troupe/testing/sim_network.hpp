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

// How a link delays and damages frames; drawn from the simulation's seed.
struct link_faults {
  // The shortest delay of a frame, in virtual time.
  duration min_latency = std::chrono::milliseconds(1);
  // The longest delay of a frame; each is drawn uniformly in between.
  duration max_latency = std::chrono::milliseconds(1);
  // The probability a frame is dropped (0 to 1).
  double loss = 0.0;         // probability a frame is dropped
  // The probability a frame arrives twice (0 to 1).
  double duplication = 0.0;  // probability a frame arrives twice
  // Whether frames of one link may overtake each other (false: in order).
  bool reorder = false;      // false: frames of one link arrive in order
};

// A simulated network between named nodes, with seeded faults.
class sim_network final : public transport {
 public:
  // Over `sim`'s runtime and clock; `defaults` apply to every link not set.
  explicit sim_network(simulation& sim, link_faults defaults = {});

  // Frames addressed to `node` go to `endpoint` from now on.
  void attach(const std::string& node, const pid& endpoint) override;
  // Frames addressed to `node` are refused (send() returns false).
  void detach(const std::string& node) override;
  // Schedules the frame's arrival after the link's faults; false if `to` is not attached.
  bool send(const std::string& from, const std::string& to, std::string bytes) override;

  // Faults of the link between a and b, both directions.
  void set_faults(const std::string& a, const std::string& b, link_faults faults);
  // Until heal(): no frame crosses between a node of one side and one of
  // the other.
  void partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  // Ends every partition.
  void heal();

  // Frame counts since the network was made.
  struct counters {
    // Frames sent.
    std::uint64_t sent = 0;
    // Of those, the ones the network lost.
    std::uint64_t lost = 0;
    // The ones it delivered twice.
    std::uint64_t duplicated = 0;
    // The ones a partition cut.
    std::uint64_t cut_by_partition = 0;
  };
  // What has happened to frames so far.
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
