// service<Req, Rep> and filters: "your server as a function".
//
// A service is an asynchronous function Req -> future<Rep>; the same type
// serves and calls (a client is a service too). A filter wraps a service to
// add a concern that knows nothing of the application, and may change the
// request and response types on the way:
//
//   service<std::string, std::string> backend = ...;
//   auto client = timeout(clock, 200ms) | retry(clock, {.max_retries = 3})
//               | breaker(clock) | backend;             // a service again
//   future<std::string> reply = client("GET /");
//
// Filters compose left to right, outermost first: `a | b | s` calls a, which
// calls b, which calls s. `a | b` (also and_then(a, b)) is a filter.
// The built-in filters (timeout, retry, breaker, concurrency_limit, stats,
// trace) are generic: they fit any Req/Rep. A typed filter
// filter<ReqIn, RepOut, ReqOut, RepIn> is made from a function
//   future<RepOut>(ReqIn, const service<ReqOut, RepIn>& next)
// and may convert types (decode -> typed -> encode).
//
// A service or filter is a cheap handle: copies share one instance (a
// breaker's state, a limit's count). Calling a service never throws: an
// exception from its function fails the returned future.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

#include "troupe/async/future.hpp"

namespace troupe {

// An asynchronous function Req -> future<Rep>; copies share one instance.
template <class Req, class Rep>
class service {
 public:
  // What a call takes.
  using request_type = Req;
  // What a call's future holds.
  using response_type = Rep;

  // What a service calls: implement it to make a service by hand.
  struct impl {
    virtual ~impl() = default;
    // Answers one request.
    virtual future<Rep> call(Req request) = 0;
  };

  service() = default;
  // Calls `p`; a null `p` makes an empty service.
  explicit service(std::shared_ptr<impl> p) noexcept : impl_(std::move(p)) {}
  // From a function Req -> future<Rep>, or Req -> Rep (a synchronous one).
  template <class F>
    requires(!std::is_same_v<std::decay_t<F>, service> && std::invocable<F&, Req>)
  service(F fn) : impl_(std::make_shared<impl_of<F>>(std::move(fn))) {}

  // Calls the service. Never throws: an exception, or no future, fails the reply.
  future<Rep> operator()(Req request) const {
    try {
      future<Rep> reply = impl_->call(std::move(request));
      if (!reply.valid()) return make_failed<Rep>(error(errc::broken_promise, "service returned no future"));
      return reply;
    } catch (...) {
      return make_failed<Rep>(error::from_exception(std::current_exception()));
    }
  }
  // Whether the service has something to call (a default one has not).
  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

 private:
  template <class F>
  struct impl_of final : impl {
    explicit impl_of(F f) : fn(std::move(f)) {}
    future<Rep> call(Req request) override {
      using R = std::invoke_result_t<F&, Req>;
      if constexpr (std::is_same_v<R, future<Rep>>) {
        return fn(std::move(request));
      } else if constexpr (std::is_void_v<Rep>) {
        fn(std::move(request));
        return make_done();
      } else {
        return make_value<Rep>(fn(std::move(request)));
      }
    }
    F fn;
  };
  std::shared_ptr<impl> impl_;
};

// A filter is anything with `template <class S> auto wrap(S next) const`
// returning a service, tagged with `using filter_tag = void;`.
template <class F>
concept composable_filter = requires { typename std::decay_t<F>::filter_tag; };

// filter | service -> service
template <composable_filter F, class Req, class Rep>
auto operator|(const F& f, service<Req, Rep> next) {
  return f.wrap(std::move(next));
}

// filter | filter -> filter (outer first)
template <composable_filter A, composable_filter B>
struct filter_chain {
  // Marks the chain as a filter.
  using filter_tag = void;
  // The filter called first.
  A outer;
  // The filter called by `outer`, next to the service.
  B inner;
  // `next` wrapped by `inner`, then by `outer`.
  template <class S>
  auto wrap(S next) const {
    return outer.wrap(inner.wrap(std::move(next)));
  }
};

// Chains two filters into one; `a` is the outer, called first.
template <composable_filter A, composable_filter B>
filter_chain<std::decay_t<A>, std::decay_t<B>> operator|(A a, B b) {
  return {std::move(a), std::move(b)};
}
// The same as `a | b`.
template <composable_filter A, composable_filter B>
auto and_then(A a, B b) {
  return std::move(a) | std::move(b);
}

// A typed filter from fn(ReqIn, const service<ReqOut, RepIn>&) -> future<RepOut>.
template <class ReqIn, class RepOut, class ReqOut = ReqIn, class RepIn = RepOut>
class filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // The filter's function: (request, next) -> future.
  using function =
      std::function<future<RepOut>(ReqIn, const service<ReqOut, RepIn>&)>;

  // Copies of the filter share `fn`.
  explicit filter(function fn) : fn_(std::make_shared<function>(std::move(fn))) {}

  // A service that calls `fn` with each request and `next`.
  service<ReqIn, RepOut> wrap(service<ReqOut, RepIn> next) const {
    return service<ReqIn, RepOut>(
        [fn = fn_, next = std::move(next)](ReqIn request) { return (*fn)(std::move(request), next); });
  }

 private:
  std::shared_ptr<function> fn_;
};

// A typed filter that keeps the request and response types.
template <class Req, class Rep>
using simple_filter = filter<Req, Rep, Req, Rep>;

// A generic filter from fn(request, next) -> future, where fn is a generic
// lambda: it fits every service it is composed with.
template <class F>
class generic_filter {
 public:
  // Marks the class as a filter.
  using filter_tag = void;
  // Copies of the filter share `fn`.
  explicit generic_filter(F fn) : fn_(std::make_shared<F>(std::move(fn))) {}

  // A service that calls `fn` with each request and `next`.
  template <class Req, class Rep>
  service<Req, Rep> wrap(service<Req, Rep> next) const {
    return service<Req, Rep>([fn = fn_, next = std::move(next)](Req request) -> future<Rep> {
      return (*fn)(std::move(request), next);
    });
  }

 private:
  std::shared_ptr<F> fn_;
};

// A generic filter from fn(request, next) -> future.
template <class F>
generic_filter<F> make_filter(F fn) {
  return generic_filter<F>(std::move(fn));
}

namespace detail {
// Runs fn(const result<T>&) where `f` completes, in no actor's context:
// bookkeeping that must not wait for the caller's actor.
template <class T, class F>
void on_complete(const future<T>& f, F fn) {
  attach(*f.state(), std::move(fn), nullptr, true);
}
}  // namespace detail

}  // namespace troupe
