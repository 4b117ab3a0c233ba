// worker_pool: n workers under a one_for_one supervisor, behind one
// service that routes around their restarts.
//
//   worker_pool<query, answer> db(rt, "db", 8, make_db_worker);
//   service<query, answer> lookups = db.service();   // copy freely
//   future<answer> a = lookups(query{"k"});
//
// Each worker has a place in the pool; each start of the worker in that
// place publishes its pid there (a pid_slot), so a call goes to the worker
// running in that place now, never to the pid of one its supervisor has
// replaced. A call bounced by a worker that had ended before taking it
// (receiver_down, and that worker is no longer alive: the request did not
// run) goes to the worker that takes its place, once, so a crash loses only
// the request that was being handled. A call made before a place's first
// start waits for it. Calls are balanced by least outstanding requests.
// serve_with_actors (ask.hpp) is the unsupervised form.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/async/ask.hpp"
#include "troupe/async/load_balancer.hpp"
#include "troupe/async/service.hpp"
#include "troupe/fault/pid_slot.hpp"
#include "troupe/fault/supervisor.hpp"

namespace troupe {

// How a worker_pool supervises, times and balances its workers.
struct pool_options {
  // The workers' supervisor: restarts past this intensity end the pool.
  supervisor_flags flags{.strategy = strategy::one_for_one, .intensity = 10, .period = std::chrono::seconds(1)};
  // Each call's timeout (default_timeout: the runtime's default).
  duration timeout = default_timeout;  // each call's
  // How calls are spread over the workers.
  balance how = balance::least_outstanding;
};

// `size` supervised workers behind one service; see the top of this file.
template <class Req, class Rep>
class worker_pool {
 public:
  // make_worker(actor&) -> behavior: one worker; its behavior answers Req
  // with Rep. Called again for each restart.
  template <class F>
  worker_pool(runtime& rt, std::string name, unsigned size, F make_worker, pool_options options = {})
      : rt_(rt), name_(std::move(name)) {
    static_assert(std::is_invocable_r_v<behavior, const F&, actor&>,
                  "troupe::worker_pool: make_worker is called as make_worker(actor& self) and returns the "
                  "worker's behavior");
    if (size == 0) throw std::invalid_argument("troupe::worker_pool: size must be at least 1");
    std::vector<child_spec> children;
    std::vector<troupe::service<Req, Rep>> backends;
    for (unsigned i = 0; i < size; ++i) {
      auto place = std::make_shared<worker_place>();
      places_.push_back(place);
      children.push_back(child_spec::of(name_ + "-" + std::to_string(i), [place, make_worker](actor& self) -> behavior {
        place->started(self.pid());
        return make_worker(self);
      }));
      backends.push_back(troupe::service<Req, Rep>([&rt, place, timeout = options.timeout](Req request) {
        return call(rt, place, std::move(request), timeout);
      }));
    }
    supervisor_ = spawn_supervisor(rt, options.flags, std::move(children));
    service_ = load_balance(std::move(backends), options.how);
  }
  // Stops the workers (shutdown, through their supervisor).
  ~worker_pool() { rt_.send_exit(supervisor_, exit_reason::shutdown()); }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // The pool as a service; copies stay valid while the pool lives.
  troupe::service<Req, Rep> service() const { return service_; }
  // The workers' supervisor.
  const pid& supervisor() const noexcept { return supervisor_; }
  // Each worker's current pid (null for one that has not started yet).
  std::vector<pid> workers() const {
    std::vector<pid> now;
    for (auto& place : places_) now.push_back(place->slot.current());
    return now;
  }
  // The number of workers (places), fixed at construction.
  std::size_t size() const noexcept { return places_.size(); }

 private:
  // One worker's place in the pool: where it runs now, and a promise kept
  // by its next start (for calls that wait for one).
  struct worker_place {
    pid_slot slot;
    std::mutex mu;  // next
    promise<void> next;
    void started(pid now) {
      slot.publish(std::move(now));
      promise<void> kept;
      {
        std::lock_guard hold(mu);
        kept = std::exchange(next, promise<void>());
      }
      kept.try_set_value();
    }
    future<void> next_start() {
      std::lock_guard hold(mu);
      return next.get_future();
    }
  };

  // A call to the worker in `place`: now, or when it has started; again,
  // once, to its successor when the worker it went to had ended.
  static future<Rep> call(runtime& rt, const std::shared_ptr<worker_place>& place, Req request, duration timeout) {
    const pid now = place->slot.current();
    if (!now) return after_next_start(rt, place, std::move(request), timeout);
    if constexpr (std::is_copy_constructible_v<Req>) {
      return ask<Rep>(rt, now, request, timeout).rescue([&rt, place, request, now, timeout](const error& e) {
        // Only a bounce by a worker that has ended: a receiver_down its
        // live worker passed on may follow work already done.
        if (e != errc::receiver_down || rt.is_alive(now)) return make_failed<Rep>(e);
        const pid successor = place->slot.current();
        if (successor && successor != now) return ask<Rep>(rt, successor, request, timeout);
        return after_next_start(rt, place, request, timeout);
      });
    } else {
      return ask<Rep>(rt, now, std::move(request), timeout);
    }
  }
  static future<Rep> after_next_start(runtime& rt, const std::shared_ptr<worker_place>& place, Req request,
                                      duration timeout) {
    future<void> started = place->next_start();
    if (pid now = place->slot.current(); now && rt.is_alive(now))  // started meanwhile
      return ask<Rep>(rt, now, std::move(request), timeout);
    const duration wait = timeout == default_timeout ? rt.settings().default_request_timeout : timeout;
    return started.within(rt, wait).then([&rt, place, timeout, request = std::move(request)]() mutable {
      return ask<Rep>(rt, place->slot.current(), std::move(request), timeout);
    });
  }

  runtime& rt_;
  std::string name_;
  std::vector<std::shared_ptr<worker_place>> places_;
  pid supervisor_;
  troupe::service<Req, Rep> service_;
};

}  // namespace troupe
