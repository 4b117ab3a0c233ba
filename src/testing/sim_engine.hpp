// sim_engine: the simulation's scheduler, clock driver and trace. It is the
// runtime's sim_hooks: every send lands here as an in-flight message, every
// ready actor lands in its ready list, and nothing runs until step().
//
// Invariants.
//   1. Single-threaded: every method runs on the test's thread. Several
//      runtimes (a simulated cluster's nodes) may share one engine: one
//      ready list, one list of flights, one virtual clock that moves every
//      runtime's timers together.
//   2. FIFO per sender->receiver pair: only the oldest in-flight message of
//      a pair is eligible for delivery.
//   3. Determinism: the choice of step depends only on the seed and on the
//      sequence of events, never on addresses or the wall clock (ready
//      actors and flights are kept in arrival order; choices index into
//      them with the generator).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/actor_cell.hpp"
#include "core/runtime_impl.hpp"
#include "core/sim_hooks.hpp"
#include "troupe/testing/simulation.hpp"

namespace troupe::testing::detail {

using troupe::detail::actor_cell;
using troupe::detail::message;
using troupe::detail::runtime_impl;

class sim_engine final : public troupe::detail::sim_hooks {
 public:
  explicit sim_engine(const simulation_options& options);
  ~sim_engine() override;

  // sim_hooks
  std::unique_ptr<troupe::detail::executor> make_executor(runtime_impl& rt) override;
  send_status on_send(runtime_impl& context, const pid& to, message* msg) override;
  void wait_for_mail(actor_cell& waiter) override;
  void on_spawn(const pid& who) override;
  void on_exit(const pid& who, const exit_reason& reason) override;
  std::uint64_t random() override;

  // A runtime joins the simulation (its clock moves to the simulation's
  // time); `name` prefixes its events in the trace (empty: none).
  void attach(runtime_impl& rt, std::string name = {});
  // A runtime leaves (after its shutdown): what is in flight from or to
  // its actors is dropped.
  void detach(runtime_impl& rt);
  // A paused runtime takes no step: its actors do not run and nothing is
  // delivered to them; its timers fire into flights that wait.
  void set_paused(runtime_impl& rt, bool paused);
  bool paused(const runtime_impl& rt) const;

  bool step();
  bool deliver_one();
  std::size_t run_until_idle();
  bool advance_to_next_timer();
  void advance(duration by);
  // Runs every step, timer and event due within `span` of virtual time.
  void run_for(duration span);
  time_point now() const noexcept { return now_; }
  // Runs fn when virtual time reaches `when` (events at one instant run in
  // the order they were scheduled, after the timers due then).
  void at(time_point when, std::function<void()> fn);
  std::vector<std::string> in_flight() const;
  // Delivers the eligible flight selected by `accept` and runs its
  // receiver until that message is handled. False: none matched.
  bool deliver_matching(const std::function<bool(const pid& from, const pid& to, message&)>& accept);
  void note(std::string event) { trace.push_back(std::move(event)); }
  std::uint64_t next_random() noexcept;
  std::size_t steps() const noexcept { return steps_; }

  const simulation_options options;
  std::vector<std::string> trace;

 private:
  struct flight {
    pid from;
    pid to;
    message* msg;
    std::uint64_t seq;
    runtime_impl* context;
  };
  struct step_choice {
    bool is_flight;
    std::size_t index;  // into flights_ or ready_
  };
  struct member {
    runtime_impl* rt;
    std::string name;
    bool paused = false;
  };
  friend class det_executor;

  std::vector<step_choice> enabled() const;
  std::size_t pick(const std::vector<step_choice>& choices);
  // PCT priorities belong to the "threads" of a message-passing program:
  // each sender->receiver channel (for deliveries) and each actor (for its
  // turns), so that a newer message may overtake an older one to the same
  // receiver when their channels' priorities say so.
  using pct_key = std::pair<std::uint64_t, std::uint64_t>;
  pct_key key_of(const step_choice& choice) const;
  std::uint64_t priority_of(const pct_key& key);
  void deliver(std::size_t flight_index);
  void run_ready(std::size_t ready_index);
  void count_step();
  const member* member_of(const runtime_impl* rt) const;
  bool runs(const runtime_impl* rt) const;  // attached and not paused
  std::string prefix(const runtime_impl* rt) const;  // "[name] " or ""
  std::string prefix(const pid& who) const;
  // The next instant at which a timer or an event is due.
  std::optional<time_point> next_due() const;
  // Moves every clock to `t` (not past the next due instant) and runs what is due.
  void move_clock_to(time_point t);

  std::vector<member> members_;
  time_point now_;
  std::multimap<time_point, std::function<void()>> events_;  // equal keys: insertion order
  std::uint64_t rng_state_;
  std::uint64_t library_rng_state_;  // random(): a stream apart from the schedule's
  std::deque<flight> flights_;  // in send order
  std::vector<actor_cell*> ready_;
  std::uint64_t next_seq_ = 0;
  std::size_t steps_ = 0;
  // PCT state.
  std::map<pct_key, std::uint64_t> priorities_;
  std::vector<std::size_t> change_points_;
  std::uint64_t lowest_priority_ = 1'000'000;
};

}  // namespace troupe::testing::detail
