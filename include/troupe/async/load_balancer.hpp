// load_balance(backends): one service over several instances.
//
//   p2c                (default) power of two choices: pick two instances at
//                      random, send to the one with fewer calls outstanding
//                      (Mitzenmacher; what Finagle's default balancer does)
//   least_outstanding  scan every instance, take the least loaded
//   round_robin        in turn, ignoring load
// Outstanding counts are kept by the balancer (a call counts until its
// future completes), so a slow instance gets fewer new calls.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "troupe/async/service.hpp"

namespace troupe {

// How load_balance() picks an instance; see the top of this file.
enum class balance { p2c, least_outstanding, round_robin };

namespace detail {
// Picks an instance index given each one's outstanding count (any thread).
std::size_t pick_instance(balance how, const std::atomic<std::size_t>* outstanding,
                          std::size_t count, std::atomic<std::size_t>& cursor);
}  // namespace detail

// The shared state behind load_balance(): instances and their outstanding calls.
template <class Req, class Rep>
class balancer {
  struct only_make {};

 public:
  // Made by make() only: calls keep the balancer alive through self_.
  balancer(only_make, std::vector<service<Req, Rep>> backends, balance how)
      : how_(how), backends_(std::move(backends)),
        outstanding_(std::make_unique<std::atomic<std::size_t>[]>(backends_.size())) {
    if (backends_.empty()) throw std::invalid_argument("troupe::load_balance: no backends");
  }

  // Sends `request` to the instance the policy picks.
  future<Rep> call(Req request) {
    const std::size_t i =
        detail::pick_instance(how_, outstanding_.get(), backends_.size(), cursor_);
    std::atomic<std::size_t>& load = outstanding_[i];
    load.fetch_add(1, std::memory_order_relaxed);
    future<Rep> reply = backends_[i](std::move(request));
    detail::on_complete(reply, [&load, keep = self_.lock()](const result<Rep>&) {
      load.fetch_sub(1, std::memory_order_relaxed);
    });
    return reply;
  }
  // Calls outstanding on instance `i`.
  std::size_t outstanding(std::size_t i) const {
    return outstanding_[i].load(std::memory_order_relaxed);
  }
  // The number of instances.
  std::size_t size() const noexcept { return backends_.size(); }

  // The only way to make one; std::invalid_argument if `backends` is empty.
  static std::shared_ptr<balancer> make(std::vector<service<Req, Rep>> backends, balance how) {
    auto b = std::make_shared<balancer>(only_make{}, std::move(backends), how);
    b->self_ = b;
    return b;
  }

 private:
  const balance how_;
  std::vector<service<Req, Rep>> backends_;
  std::unique_ptr<std::atomic<std::size_t>[]> outstanding_;
  std::atomic<std::size_t> cursor_{0};
  std::weak_ptr<balancer> self_;
};

// One service over `backends`, picked by `how`; std::invalid_argument if none.
template <class Req, class Rep>
service<Req, Rep> load_balance(std::vector<service<Req, Rep>> backends, balance how = balance::p2c) {
  auto b = balancer<Req, Rep>::make(std::move(backends), how);
  return service<Req, Rep>([b](Req request) { return b->call(std::move(request)); });
}

}  // namespace troupe
