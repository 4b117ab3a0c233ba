// metrics: the program's own counters, gauges and histograms, with labels,
// exposed with the runtime's in the Prometheus text format (0.0.4).
//
//   troupe::observer::metrics m;
//   auto& orders = m.counter("shop_orders_total", "Orders taken.", {{"region", "eu"}});
//   auto& latency = m.histogram("shop_checkout_seconds", "Checkout time.",
//                               {0.001, 0.01, 0.1, 1});
//   orders.add();
//   latency.observe(0.004);
//   std::string text = troupe::observer::prometheus_text(rt, &m);  // what /metrics serves
//
// Naming follows the Prometheus conventions: a unit in the name (`_seconds`,
// `_bytes`), `_total` on counters; names and label names are checked when
// registered (std::invalid_argument otherwise), and `troupe_*` names are
// the runtime's. Registering the same name and labels (in any order) again
// returns the same metric; the same name as another type, or a label
// twice, is an error.
//
// Cost. counter::add is one relaxed fetch_add on a slot of its own thread's
// stripe (16 cache lines per counter), so threads counting at once do not
// share a line; reading sums the stripes. A gauge is one atomic. A
// histogram's observe is a search over its bounds and two fetch_adds.
// References returned stay valid as long as the registry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "troupe/core/fwd.hpp"

namespace troupe {
class stats;
namespace net {
class node;
}
}  // namespace troupe

namespace troupe::observer {

// A metric's labels, as name/value pairs ({"region", "eu"}).
using labels = std::vector<std::pair<std::string, std::string>>;

// A value that only goes up (resets when the process starts).
class counter {
 public:
  // Adds `n` (by default one). Any thread.
  void add(std::uint64_t n = 1) noexcept;
  // The sum over every thread's stripe. Any thread.
  std::uint64_t value() const noexcept;

 private:
  struct alignas(64) stripe {
    std::atomic<std::uint64_t> n{0};
  };
  static constexpr std::size_t stripes = 16;
  std::array<stripe, stripes> stripes_{};
};

// A value that goes up and down (a level, a size).
class gauge {
 public:
  // Sets the value. Any thread.
  void set(double v) noexcept { bits_.store(v, std::memory_order_relaxed); }
  // Adds `d` (negative to subtract). Any thread.
  void add(double d) noexcept;
  // The value now.
  double value() const noexcept { return bits_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> bits_{0};
};

// Counts of observations at or below each bound, their sum and count.
class histogram {
 public:
  // `bounds`: the buckets' upper bounds, increasing (the +Inf bucket is implied).
  explicit histogram(std::vector<double> bounds);
  // Records one observation. Any thread.
  void observe(double v) noexcept;
  // The upper bounds, as given.
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  // Observations at or below bounds()[i] (cumulative, as Prometheus wants);
  // i == bounds().size() is every observation.
  std::uint64_t cumulative(std::size_t i) const noexcept;
  // Observations made.
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  // Their sum.
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1, not cumulative
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// The program's metrics: register once, keep the reference, update it from
// any thread. Thread-safe.
class metrics {
 public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // A counter named `name` (with `_total` at its end, by convention).
  observer::counter& counter(const std::string& name, const std::string& help, const labels& with = {});
  // A gauge.
  observer::gauge& gauge(const std::string& name, const std::string& help, const labels& with = {});
  // A histogram with these bucket bounds (increasing); the same name must
  // keep the same bounds.
  observer::histogram& histogram(const std::string& name, const std::string& help,
                                 std::vector<double> bounds, const labels& with = {});
  // A service's counts (a stats_filter's sink), exposed as
  // `NAME_requests_total`, `NAME_failures_total{code}`, `NAME_in_flight` and
  // the summary `NAME_latency_seconds`. The registry keeps `s` alive.
  void service(const std::string& name, std::shared_ptr<const troupe::stats> s);

  // Appends every metric registered, in the text format.
  void write_prometheus(std::string& out) const;

 private:
  struct family;
  family& family_of(const std::string& name, const std::string& help, int type);
  mutable std::mutex mutex_;
  std::deque<std::unique_ptr<family>> families_;
};

// The text served at /metrics: the runtime's own metrics (runtime_stats.hpp
// and per worker), the node's (frames, refusals, each peer's fault state)
// if given, then `user`'s if given. Any thread.
std::string prometheus_text(runtime& rt, const metrics* user = nullptr, const net::node* node = nullptr);

// Whether `name` is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*).
bool valid_metric_name(const std::string& name) noexcept;
// Whether `name` is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__"-prefixed).
bool valid_label_name(const std::string& name) noexcept;

}  // namespace troupe::observer
