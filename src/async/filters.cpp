// The state behind the built-in filters: circuit breaker, retry budget and
// backoff, balancer choice, stats histogram.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <random>

#include "troupe/async/circuit_breaker.hpp"
#include "troupe/async/load_balancer.hpp"
#include "troupe/async/retry.hpp"
#include "troupe/async/stats.hpp"
#include "troupe/core/context.hpp"

namespace troupe {

// ---- circuit breaker ---------------------------------------------------------

breaker_core::breaker_core(timer_source& timers, breaker_options options)
    : timers_(timers), options_(std::move(options)), current_open_for_(options_.open_for) {}

std::optional<breaker_ticket> breaker_core::admit() {
  const time_point now = timers_.now();
  std::lock_guard lock(mutex_);
  switch (state_) {
    case breaker_state::closed:
      return breaker_ticket{generation_, false};
    case breaker_state::open:
      if (now < reopen_at_) break;
      move_to_locked(breaker_state::half_open);
      probe_in_flight_ = true;
      probe_started_ = now;
      return breaker_ticket{generation_, true};
    case breaker_state::half_open:
      // A probe that has been out for a whole open period is taken as lost.
      if (probe_in_flight_ && now < probe_started_ + current_open_for_) break;
      probe_in_flight_ = true;
      probe_started_ = now;
      return breaker_ticket{generation_, true};
  }
  ++rejected_;
  return std::nullopt;
}

void breaker_core::on_success(const breaker_ticket& ticket) {
  std::lock_guard lock(mutex_);
  if (ticket.generation != generation_) return;  // admitted in another state
  if (state_ == breaker_state::closed) {
    consecutive_failures_ = 0;
  } else if (state_ == breaker_state::half_open && ticket.probe) {
    current_open_for_ = options_.open_for;
    move_to_locked(breaker_state::closed);
  }
}

void breaker_core::on_failure(const breaker_ticket& ticket, const error& e) {
  const bool counts = options_.counts_as_failure ? options_.counts_as_failure(e)
                                                 : e.code() != errc::interrupted;
  const time_point now = timers_.now();
  std::lock_guard lock(mutex_);
  if (ticket.generation != generation_) return;
  if (state_ == breaker_state::half_open && ticket.probe) {
    if (!counts) {
      probe_in_flight_ = false;  // the caller gave up: let another probe go
      return;
    }
    // The probe failed: open again, for longer.
    current_open_for_ = std::min(current_open_for_ * 2, options_.max_open_for);
    open_locked(now);
    return;
  }
  if (counts && state_ == breaker_state::closed &&
      ++consecutive_failures_ >= options_.failures_to_open)
    open_locked(now);
}

void breaker_core::move_to_locked(breaker_state next) {
  state_ = next;
  ++generation_;
  probe_in_flight_ = false;
  consecutive_failures_ = 0;
}

void breaker_core::open_locked(time_point now) {
  move_to_locked(breaker_state::open);
  reopen_at_ = now + current_open_for_;
  ++opened_;
}

breaker_state breaker_core::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}
std::uint64_t breaker_core::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}
std::uint64_t breaker_core::times_opened() const {
  std::lock_guard lock(mutex_);
  return opened_;
}
error breaker_core::rejection() const {
  return error(errc::circuit_open, "circuit breaker open").mark_retryable();
}

// ---- retry -------------------------------------------------------------------

retry_core::retry_core(timer_source& timers, retry_options options)
    : timers_(timers),
      options_(std::move(options)),
      balance_(std::min(options_.budget.min_per_second, options_.budget.max_balance)),
      refilled_at_(timers.now()),
      jitter_(options_.seed ? options_.seed : timers.random()) {}

void retry_core::refill_locked(time_point now) {
  if (now <= refilled_at_) return;
  const double seconds = std::chrono::duration<double>(now - refilled_at_).count();
  balance_ = std::min(options_.budget.max_balance, balance_ + seconds * options_.budget.min_per_second);
  refilled_at_ = now;
}

void retry_core::on_call() {
  std::lock_guard lock(mutex_);
  balance_ = std::min(options_.budget.max_balance, balance_ + options_.budget.percent);
}

bool retry_core::should_retry(const error& e, unsigned attempt) {
  if (attempt >= options_.max_retries) return false;
  if (e.code() == errc::interrupted) return false;  // the caller gave up
  const bool retryable = options_.retryable ? options_.retryable(e) : e.retryable();
  if (!retryable) return false;
  const time_point now = timers_.now();
  std::lock_guard lock(mutex_);
  refill_locked(now);
  if (balance_ < 1.0) {
    ++exhausted_;
    return false;
  }
  balance_ -= 1.0;
  ++retries_;
  return true;
}

duration retry_core::backoff(unsigned attempt) {
  const auto base = options_.backoff_base.count();
  const auto cap = options_.backoff_max.count();
  duration::rep ceiling = base;
  for (unsigned i = 0; i < attempt && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  if (ceiling <= 0) return duration::zero();
  std::lock_guard lock(mutex_);
  std::uniform_int_distribution<duration::rep> pick(0, ceiling);
  return duration(pick(jitter_));
}

std::uint64_t retry_core::retries() const {
  std::lock_guard lock(mutex_);
  return retries_;
}
std::uint64_t retry_core::budget_exhausted() const {
  std::lock_guard lock(mutex_);
  return exhausted_;
}
double retry_core::balance() const {
  std::lock_guard lock(mutex_);
  return balance_;
}

// ---- load balancer -----------------------------------------------------------

std::size_t detail::pick_instance(balance how, const std::atomic<std::size_t>* outstanding,
                                  std::size_t count, std::atomic<std::size_t>& cursor) {
  if (count == 1) return 0;
  switch (how) {
    case balance::round_robin:
      return cursor.fetch_add(1, std::memory_order_relaxed) % count;
    case balance::least_outstanding: {
      // Start the scan at a rotating point so ties spread out.
      const std::size_t start = cursor.fetch_add(1, std::memory_order_relaxed) % count;
      std::size_t best = start;
      std::size_t best_load = outstanding[start].load(std::memory_order_relaxed);
      for (std::size_t k = 1; k < count && best_load > 0; ++k) {
        const std::size_t i = (start + k) % count;
        const std::size_t load = outstanding[i].load(std::memory_order_relaxed);
        if (load < best_load) {
          best = i;
          best_load = load;
        }
      }
      return best;
    }
    case balance::p2c:
      break;
  }
  // From the simulation's seed inside a simulated actor (random_u64).
  const std::size_t a = static_cast<std::size_t>(troupe::random_u64() % count);
  std::size_t b = static_cast<std::size_t>(troupe::random_u64() % (count - 1));
  if (b >= a) ++b;
  return outstanding[b].load(std::memory_order_relaxed) < outstanding[a].load(std::memory_order_relaxed)
             ? b
             : a;
}

// ---- stats -------------------------------------------------------------------

namespace {
// Bucket of a latency in ns: exact below 16, then 8 sub-buckets per power
// of two.
std::size_t bucket_of(std::uint64_t ns) {
  if (ns < 16) return static_cast<std::size_t>(ns);
  const unsigned msb = 63 - static_cast<unsigned>(std::countl_zero(ns));
  const std::size_t sub = (ns >> (msb - 3)) & 7;
  const std::size_t index = 16 + (msb - 4) * 8 + sub;
  return std::min(index, stats::bucket_count - 1);
}
// The upper edge of a bucket, in ns.
std::uint64_t bucket_top(std::size_t index) {
  if (index < 16) return index;
  const unsigned msb = static_cast<unsigned>((index - 16) / 8 + 4);
  const std::uint64_t sub = (index - 16) % 8;
  return ((8 + sub + 1) << (msb - 3)) - 1;
}
std::string short_duration(duration d) {
  const double ns = static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
  char text[32];
  if (ns < 1e3)
    std::snprintf(text, sizeof text, "%.0fns", ns);
  else if (ns < 1e6)
    std::snprintf(text, sizeof text, "%.1fus", ns / 1e3);
  else if (ns < 1e9)
    std::snprintf(text, sizeof text, "%.1fms", ns / 1e6);
  else
    std::snprintf(text, sizeof text, "%.2fs", ns / 1e9);
  return text;
}
}  // namespace

void stats::record(duration latency, const error* failure) noexcept {
  const auto ns = std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::nanoseconds>(latency).count());
  buckets_[bucket_of(static_cast<std::uint64_t>(ns))].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
  if (!failure) {
    successes_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  failures_.fetch_add(1, std::memory_order_relaxed);
  const auto code = static_cast<std::size_t>(failure->code());
  if (code < error_codes) by_code_[code].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t stats::requests() const noexcept { return successes() + failures(); }
std::uint64_t stats::successes() const noexcept { return successes_.load(std::memory_order_relaxed); }
std::uint64_t stats::failures() const noexcept { return failures_.load(std::memory_order_relaxed); }
std::uint64_t stats::failures(errc code) const noexcept {
  const auto i = static_cast<std::size_t>(code);
  return i < error_codes ? by_code_[i].load(std::memory_order_relaxed) : 0;
}

duration stats::percentile(double q) const noexcept {
  std::array<std::uint64_t, bucket_count> counts;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) total += counts[i] = buckets_[i].load(std::memory_order_relaxed);
  if (total == 0) return duration::zero();
  q = std::clamp(q, 0.0, 1.0);
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(total))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts[i];
    if (seen >= rank)
      return std::chrono::duration_cast<duration>(std::chrono::nanoseconds(bucket_top(i)));
  }
  return std::chrono::duration_cast<duration>(std::chrono::nanoseconds(bucket_top(bucket_count - 1)));
}

std::string stats::summary() const {
  std::string text = "requests=" + std::to_string(requests()) + " ok=" + std::to_string(successes()) +
                     " failed=" + std::to_string(failures());
  std::string codes;
  for (std::size_t i = 1; i < error_codes; ++i) {
    const auto n = by_code_[i].load(std::memory_order_relaxed);
    if (n == 0) continue;
    if (!codes.empty()) codes += ' ';
    codes += std::string(to_string(static_cast<errc>(i))) + "=" + std::to_string(n);
  }
  if (!codes.empty()) text += " (" + codes + ")";
  if (requests() > 0)
    text += " p50=" + short_duration(percentile(0.5)) + " p99=" + short_duration(percentile(0.99));
  return text;
}

}  // namespace troupe
