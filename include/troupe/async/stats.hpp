// stats: counts and a latency histogram for the calls through a stats
// filter. Thread-safe and lock-free to record.
//
//   auto s = std::make_shared<stats>();
//   auto client = stats_filter(s) | backend;
//   ... s->percentile(0.99), s->summary()
//
// The histogram is log-linear (8 sub-buckets per power of two, so a
// percentile is within 12.5% of the true value), from 1 ns to ~18 minutes.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "troupe/async/service.hpp"
#include "troupe/async/timer_source.hpp"

namespace troupe {

// Counts and latency histogram of calls; shared by the filters that feed it.
class stats {
 public:
  // Histogram buckets: 16 of one ns each, then 8 per power of two.
  static constexpr std::size_t bucket_count = 16 + 37 * 8;
  // Failure counters kept: one per errc.
  static constexpr std::size_t error_codes = errc_count;  // every errc has its count

  // Records one finished call: its latency and its failure (null if it succeeded).
  void record(duration latency, const error* failure) noexcept;
  // Counts a call as started (in flight until leave()).
  void enter() noexcept { in_flight_.fetch_add(1, std::memory_order_relaxed); }
  // Counts a call as no longer in flight.
  void leave() noexcept { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  // Calls recorded: successes plus failures.
  std::uint64_t requests() const noexcept;
  // Calls recorded that succeeded.
  std::uint64_t successes() const noexcept;
  // Calls recorded that failed.
  std::uint64_t failures() const noexcept;
  // Calls recorded that failed with `code`.
  std::uint64_t failures(errc code) const noexcept;
  // Calls started and not yet finished.
  std::int64_t in_flight() const noexcept { return in_flight_.load(std::memory_order_relaxed); }
  // The latencies of the calls recorded, added up (a Prometheus summary's _sum).
  duration total_latency() const noexcept {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(latency_sum_ns_.load(std::memory_order_relaxed)));
  }
  // The latency at quantile q (0..1) of the calls recorded; zero if none.
  duration percentile(double q) const noexcept;
  // "requests=100 ok=97 failed=3 (timeout=2 circuit_open=1) p50=12us p99=2.1ms"
  std::string summary() const;

 private:
  std::atomic<std::uint64_t> successes_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::array<std::atomic<std::uint64_t>, error_codes> by_code_{};
  std::array<std::atomic<std::uint64_t>, bucket_count> buckets_{};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> latency_sum_ns_{0};
};

// Feeds a stats object from the calls through it; copies share the sink.
class stats_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // `clock`: where latency is read (null: the steady clock).
  explicit stats_filter(std::shared_ptr<stats> sink, timer_source* clock = nullptr)
      : sink_(std::move(sink)), clock_(clock) {}

  // `next`, with each call counted and timed into the sink.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>(
        [sink = sink_, clock = clock_, next = std::move(next)](Req request) -> future<Rep> {
          const time_point start = clock ? clock->now() : std::chrono::steady_clock::now();
          sink->enter();
          future<Rep> reply = next(std::move(request));
          detail::on_complete(reply, [sink, clock, start](const result<Rep>& r) {
            const time_point end = clock ? clock->now() : std::chrono::steady_clock::now();
            sink->leave();
            sink->record(end - start, r ? nullptr : &r.error());
          });
          return reply;
        });
  }

 private:
  std::shared_ptr<stats> sink_;
  timer_source* clock_;
};

}  // namespace troupe
