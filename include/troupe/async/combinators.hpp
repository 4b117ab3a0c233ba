// Combining futures.
//
//   collect(fs)          all values, in input order; fails at the first failure
//   collect_results(fs)  every outcome, in input order; never fails
//   join(fa, fb, ...)    a tuple of the values; fails at the first failure
//   select(fs)           the index and outcome of the first to complete
//   any(fs)              the outcome of the first to complete; interrupts the
//                        others (their work is no longer wanted: a hedged
//                        request)
//
// Interrupting a combined future interrupts every input. Inputs are read
// where they complete; the combined future's own continuations run where
// they were attached, as always.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "troupe/async/future.hpp"

namespace troupe {

namespace detail {

// Interrupting `out` interrupts each input.
template <class T, class Inputs>
void interrupt_inputs_on(promise<T>& out, Inputs inputs) {
  out.on_interrupt([inputs = std::move(inputs)](const error& why) {
    std::apply([&](const auto&... fs) { (fs.interrupt(why), ...); }, inputs);
  });
}

template <class T>
struct vector_inputs {
  std::vector<future<T>> fs;
  void interrupt(const error& why) const {
    for (const auto& f : fs) f.interrupt(why);
  }
};

template <class T, class U>
void interrupt_all_on(promise<U>& out, const std::vector<future<T>>& fs) {
  out.on_interrupt([inputs = vector_inputs<T>{fs}](const error& why) { inputs.interrupt(why); });
}

template <class T>
using slot_of = std::conditional_t<std::is_void_v<T>, bool, std::optional<T>>;

}  // namespace detail

// All values, in input order; fails at the first failure. Input futures
// of void give a future<void>.
template <class T>
auto collect(std::vector<future<T>> fs) {
  using out_type = std::conditional_t<std::is_void_v<T>, void, std::vector<T>>;
  promise<out_type> out;
  future<out_type> combined = out.get_future();
  if (fs.empty()) {
    if constexpr (std::is_void_v<T>)
      out.set_value();
    else
      out.set_value(std::vector<T>{});
    return combined;
  }
  struct gather {
    std::vector<detail::slot_of<T>> slots;
    std::atomic<std::size_t> remaining;
    promise<out_type> out;
  };
  auto g = std::make_shared<gather>();
  g->slots.resize(fs.size());
  g->remaining.store(fs.size(), std::memory_order_relaxed);
  detail::interrupt_all_on(out, fs);
  g->out = std::move(out);  // only `gather` holds it now
  for (std::size_t i = 0; i < fs.size(); ++i) {
    detail::attach(*fs[i].state(),
                   [g, i](const result<T>& r) {
                     if (!r) {
                       g->out.try_set_error(r.error());
                       return;
                     }
                     if constexpr (!std::is_void_v<T>) {
                       try {
                         g->slots[i].emplace(*r);
                       } catch (...) {
                         g->out.try_set_error(error::from_exception(std::current_exception()));
                         return;
                       }
                     }
                     // acq_rel: the last one sees every slot written.
                     if (g->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
                     if constexpr (std::is_void_v<T>) {
                       g->out.try_set_value();
                     } else {
                       std::vector<T> values;
                       values.reserve(g->slots.size());
                       try {
                         for (auto& slot : g->slots) values.push_back(std::move(*slot));
                         g->out.try_set_value(std::move(values));
                       } catch (...) {
                         g->out.try_set_error(error::from_exception(std::current_exception()));
                       }
                     }
                   },
                   nullptr, true);
  }
  return combined;
}

// Every outcome, in input order; never fails.
template <class T>
future<std::vector<result<T>>> collect_results(std::vector<future<T>> fs) {
  promise<std::vector<result<T>>> out;
  future<std::vector<result<T>>> combined = out.get_future();
  if (fs.empty()) {
    out.set_value(std::vector<result<T>>{});
    return combined;
  }
  struct gather {
    std::vector<std::optional<result<T>>> slots;
    std::atomic<std::size_t> remaining;
    promise<std::vector<result<T>>> out;
  };
  auto g = std::make_shared<gather>();
  g->slots.resize(fs.size());
  g->remaining.store(fs.size(), std::memory_order_relaxed);
  detail::interrupt_all_on(out, fs);
  g->out = std::move(out);
  for (std::size_t i = 0; i < fs.size(); ++i) {
    detail::attach(*fs[i].state(),
                   [g, i](const result<T>& r) {
                     try {
                       g->slots[i].emplace(r);
                     } catch (...) {
                       g->out.try_set_error(error::from_exception(std::current_exception()));
                       return;
                     }
                     if (g->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
                     try {
                       std::vector<result<T>> outcomes;
                       outcomes.reserve(g->slots.size());
                       for (auto& slot : g->slots) outcomes.push_back(std::move(*slot));
                       g->out.try_set_value(std::move(outcomes));
                     } catch (...) {
                       g->out.try_set_error(error::from_exception(std::current_exception()));
                     }
                   },
                   nullptr, true);
  }
  return combined;
}

// A tuple of the values; fails at the first failure.
template <class... Ts>
future<std::tuple<Ts...>> join(future<Ts>... fs) {
  static_assert(sizeof...(Ts) > 0 && (!std::is_void_v<Ts> && ...),
                "join(f...) takes futures of values; use collect() for future<void>");
  using out_type = std::tuple<Ts...>;
  promise<out_type> out;
  future<out_type> combined = out.get_future();
  struct gather {
    std::tuple<std::optional<Ts>...> slots;
    std::atomic<std::size_t> remaining{sizeof...(Ts)};
    promise<out_type> out;
  };
  auto g = std::make_shared<gather>();
  detail::interrupt_inputs_on(out, std::make_tuple(fs...));
  g->out = std::move(out);
  auto watch = [&]<std::size_t I, class T>(std::integral_constant<std::size_t, I>,
                                           const future<T>& f) {
    detail::attach(*f.state(),
                   [g](const result<T>& r) {
                     if (!r) {
                       g->out.try_set_error(r.error());
                       return;
                     }
                     try {
                       std::get<I>(g->slots).emplace(*r);
                       if (g->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
                       g->out.try_set_value(std::apply(
                           [](auto&... slot) { return out_type(std::move(*slot)...); }, g->slots));
                     } catch (...) {
                       g->out.try_set_error(error::from_exception(std::current_exception()));
                     }
                   },
                   nullptr, true);
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (watch(std::integral_constant<std::size_t, I>{}, fs), ...);
  }(std::index_sequence_for<Ts...>{});
  return combined;
}

// The index and outcome of the first input to complete. No inputs:
// std::invalid_argument.
template <class T>
future<std::pair<std::size_t, result<T>>> select(std::vector<future<T>> fs) {
  using out_type = std::pair<std::size_t, result<T>>;
  if (fs.empty()) throw std::invalid_argument("troupe::select: no futures");
  promise<out_type> out;
  future<out_type> first = out.get_future();
  detail::interrupt_all_on(out, fs);
  for (std::size_t i = 0; i < fs.size(); ++i)
    detail::attach(*fs[i].state(),
                   [out, i](const result<T>& r) mutable {
                     try {
                       out.try_set_value(out_type(i, r));
                     } catch (...) {
                       out.try_set_error(error::from_exception(std::current_exception()));
                     }
                   },
                   nullptr, true);
  return first;
}

// The outcome of the first input to complete; the others are interrupted.
template <class T>
future<T> any(std::vector<future<T>> fs) {
  if (fs.empty()) throw std::invalid_argument("troupe::any: no futures");
  promise<T> out;
  future<T> first = out.get_future();
  detail::interrupt_all_on(out, fs);
  auto inputs = std::make_shared<const std::vector<future<T>>>(std::move(fs));
  for (std::size_t i = 0; i < inputs->size(); ++i)
    detail::attach(*(*inputs)[i].state(),
                   [out, i, inputs](const result<T>& r) mutable {
                     if (!out.try_set_result(r)) return;
                     for (std::size_t j = 0; j < inputs->size(); ++j)
                       if (j != i)
                         (*inputs)[j].interrupt(error(errc::interrupted, "another future won any()"));
                   },
                   nullptr, true);
  return first;
}

}  // namespace troupe
