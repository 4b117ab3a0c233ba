// worker_pool: n workers under a one_for_one supervisor, behind one
// service that routes around their restarts.
//
//   worker_pool<query, answer> db(rt, "db", 8, make_db_worker);
//   service<query, answer> lookups = db.service();   // copy freely
//   future<answer> a = lookups(query{"k"});
//
// Each worker publishes its pid when it starts (a pid_slot per worker), so
// a call goes to the worker running in that place now, never to the pid
// of one its supervisor has replaced. A call that its worker could not
// take because it had just ended (errc::receiver_down: the request did not
// run) goes to another worker once, so a crash loses only the request that
// was being handled. Calls are balanced by least outstanding requests.
// serve_with_actors (ask.hpp) is the unsupervised form.
#pragma once

#include <memory>
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

struct pool_options {
  // The workers' supervisor: restarts past this intensity end the pool.
  supervisor_flags flags{.strategy = strategy::one_for_one, .intensity = 10, .period = std::chrono::seconds(1)};
  duration timeout = default_timeout;  // each call's
  balance how = balance::least_outstanding;
};

template <class Req, class Rep>
class worker_pool {
 public:
  // make_worker(actor&) -> behavior: one worker; its behavior answers Req
  // with Rep. Called again for each restart.
  template <class F>
  worker_pool(runtime& rt, std::string name, unsigned size, F make_worker, pool_options options = {})
      : rt_(rt), name_(std::move(name)) {
    static_assert(std::is_invocable_r_v<behavior, F&, actor&>,
                  "troupe::worker_pool: make_worker is called as make_worker(actor& self) and returns the "
                  "worker's behavior");
    if (size == 0) throw std::invalid_argument("troupe::worker_pool: size must be at least 1");
    std::vector<child_spec> children;
    std::vector<troupe::service<Req, Rep>> backends;
    for (unsigned i = 0; i < size; ++i) {
      auto place = std::make_shared<worker_place>();
      places_.push_back(place);
      children.push_back(child_spec::of(name_ + "-" + std::to_string(i), [place, make_worker](actor& self) -> behavior {
        place->slot.publish(self.pid());
        place->started.try_set_value();  // the first start: calls waiting for it go
        return make_worker(self);
      }));
      backends.push_back(troupe::service<Req, Rep>([&rt, place, timeout = options.timeout](Req request) {
        if (pid now = place->slot.current())
          return ask<Rep>(rt, now, std::move(request), timeout);
        // Not started yet (the supervisor starts its children in its first
        // turn): the call waits for it rather than fail.
        return place->ready.then([&rt, place, timeout, request = std::move(request)]() mutable {
          return ask<Rep>(rt, place->slot.current(), std::move(request), timeout);
        });
      }));
    }
    supervisor_ = spawn_supervisor(rt, options.flags, std::move(children));
    auto balanced = load_balance(std::move(backends), options.how);
    if constexpr (std::is_copy_constructible_v<Req>) {
      service_ = troupe::service<Req, Rep>([balanced](Req request) {
        return balanced(request).rescue([balanced, request](const error& e) {
          if (e != errc::receiver_down) return make_failed<Rep>(e);
          return balanced(request);  // its worker had just ended: another one
        });
      });
    } else {
      service_ = balanced;
    }
  }
  // Stops the workers (shutdown, through their supervisor).
  ~worker_pool() { rt_.send_exit(supervisor_, exit_reason::shutdown()); }
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  // The pool as a service; copies stay valid while the pool lives.
  troupe::service<Req, Rep> service() const { return service_; }
  const pid& supervisor() const noexcept { return supervisor_; }
  // Each worker's current pid (null for one that has not started yet).
  std::vector<pid> workers() const {
    std::vector<pid> now;
    for (auto& place : places_) now.push_back(place->slot.current());
    return now;
  }
  std::size_t size() const noexcept { return places_.size(); }

 private:
  // One worker's place in the pool: where it runs now, and whether it has
  // started once.
  struct worker_place {
    pid_slot slot;
    promise<void> started;
    future<void> ready = started.get_future();
  };

  runtime& rt_;
  std::string name_;
  std::vector<std::shared_ptr<worker_place>> places_;
  pid supervisor_;
  troupe::service<Req, Rep> service_;
};

}  // namespace troupe
