#include "troupe/testing/sim_network.hpp"

#include <algorithm>

namespace troupe::testing {

sim_network::sim_network(simulation& sim, link_faults defaults) : sim_(sim), defaults_(defaults) {}

void sim_network::attach(const std::string& node, const pid& endpoint) {
  endpoints_[node] = endpoint;
}

void sim_network::detach(const std::string& node) { endpoints_.erase(node); }

void sim_network::set_faults(const std::string& a, const std::string& b, link_faults faults) {
  faults_[{a, b}] = faults;
  faults_[{b, a}] = faults;
}

void sim_network::partition(const std::vector<std::string>& side_a,
                            const std::vector<std::string>& side_b) {
  for (auto& a : side_a)
    for (auto& b : side_b) {
      cut_.insert({a, b});
      cut_.insert({b, a});
    }
  sim_.note("partition");
}

void sim_network::heal() {
  cut_.clear();
  sim_.note("heal");
}

const link_faults& sim_network::faults_of(const std::string& from, const std::string& to) const {
  auto it = faults_.find({from, to});
  return it == faults_.end() ? defaults_ : it->second;
}

bool sim_network::chance(double probability) {
  if (probability <= 0) return false;
  constexpr double scale = 1.0 / 18446744073709551616.0;  // 2^-64
  return static_cast<double>(sim_.random()) * scale < probability;
}

duration sim_network::latency(const link_faults& faults) {
  auto low = faults.min_latency;
  auto high = std::max(faults.max_latency, low);
  auto span = static_cast<std::uint64_t>((high - low).count());
  return low + duration(static_cast<duration::rep>(span ? sim_.random() % (span + 1) : 0));
}

bool sim_network::send(const std::string& from, const std::string& to, std::string bytes) {
  auto endpoint = endpoints_.find(to);
  if (endpoint == endpoints_.end()) return false;
  ++stats_.sent;
  if (cut_.count({from, to})) {
    ++stats_.cut_by_partition;
    return true;
  }
  const link_faults& faults = faults_of(from, to);
  if (chance(faults.loss)) {
    ++stats_.lost;
    return true;
  }
  int copies = chance(faults.duplication) ? 2 : 1;
  if (copies == 2) ++stats_.duplicated;
  runtime& rt = sim_.system();
  for (int i = 0; i < copies; ++i) {
    time_point arrival = rt.now() + latency(faults);
    if (!faults.reorder) {
      // In order per link: never before the previous frame of the link.
      auto& last = last_arrival_[{from, to}];
      arrival = std::max(arrival, last);
      last = arrival;
    }
    rt.send_after(arrival - rt.now(), endpoint->second, frame{from, bytes});
  }
  return true;
}

}  // namespace troupe::testing
