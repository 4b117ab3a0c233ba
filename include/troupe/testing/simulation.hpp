// troupe::testing::simulation — a runtime under a deterministic scheduler
// and a virtual clock, for tests of troupe and of users' actors.
//
//   simulation sim({.seed = 42});
//   runtime& rt = sim.system();            // spawn and send as usual
//   auto server = rt.spawn(make_server);
//   rt.send(server, ping{1});
//   sim.expect<ping>().to(server).with(ping{1});   // deliver it, run the handler
//   sim.run_until_idle();                  // everything else, in seeded order
//   sim.advance(30s);                      // timers due by then fire
//
// Model. Nothing runs on its own: there are no worker threads and no timer
// thread. A send puts the message "in flight". One step is either the
// delivery of one in-flight message (the oldest of its sender->receiver
// pair: FIFO per pair holds) or one turn of one ready actor handling one
// message. Which step comes next is chosen by a generator seeded with
// `seed` (or by PCT priorities), so a seed reproduces a run exactly,
// delivery for delivery. Time moves only by advance(), or, when nothing is
// left to run and a scoped_actor waits, by jumping to the next timer.
//
// A scoped_actor works here too: while it waits for mail, the simulation
// runs. So the same test body can run on a real runtime and in a
// simulation. If it waits with nothing left to run and no timer pending,
// that is a deadlock: the simulation throws sim_error naming the waiter.
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "troupe/core/config.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::testing {

// How a simulation picks its next step.
enum class schedule_mode {
  random,  // every enabled step equally likely
  pct,     // probabilistic concurrency testing: random actor priorities,
           // lowered at pct_depth - 1 random points (Burckhardt et al. 2010)
};

// A simulation's seed, scheduling and runtime configuration.
struct simulation_options {
  // Seeds every choice: the same seed replays the same run.
  std::uint64_t seed = 1;
  // How the next step is picked.
  schedule_mode mode = schedule_mode::random;
  // PCT only: the bug depth aimed at; a bug of depth d is found with
  // probability at least 1/(n k^(d-1)).
  unsigned pct_depth = 3;           // bugs of depth d are found with probability >= 1/(n k^(d-1))
  // PCT only: how many steps the priority change points spread over.
  std::size_t pct_steps = 2000;     // how many steps the change points spread over
  // Steps one run may take; past it the run is a livelock (sim_error).
  std::size_t max_steps = 1'000'000;  // a run longer than this is a livelock: sim_error
  // The simulated runtime's configuration; its worker count is ignored.
  config runtime_config{};            // workers is ignored
};

// A broken expectation, a deadlock, a livelock, or a failed require().
class sim_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class simulation;

namespace detail {
class sim_engine;
bool expect_step(simulation& sim, type_key key, const std::string& type_name, const pid& from,
                 const pid& to, const std::function<bool(troupe::detail::message&)>& match,
                 std::string& failure);
}  // namespace detail

// sim.expect<T>().from(a).to(b).with(value): the next delivery of a T (from
// a, to b, equal to value; each part optional) happens now and its handler
// runs. If no such message is in flight, sim_error lists what is instead.
// The check runs when the expression ends.
template <class T>
class expectation {
 public:
  // Made by simulation::expect(); the check runs at its end.
  explicit expectation(simulation& sim) : sim_(sim) {}
  expectation(const expectation&) = delete;
  // Only a message sent by `sender`.
  expectation& from(const pid& sender) {
    from_ = sender;
    return *this;
  }
  // Only a message sent to `receiver`.
  expectation& to(const pid& receiver) {
    to_ = receiver;
    return *this;
  }
  // Only a message equal to `value`.
  expectation& with(T value)
    requires std::equality_comparable<T>
  {
    value_ = std::make_unique<T>(std::move(value));
    return *this;
  }
  ~expectation() noexcept(false);

 private:
  simulation& sim_;
  pid from_;
  pid to_;
  std::unique_ptr<T> value_;
};

// A runtime under a seeded scheduler and a virtual clock; see the top of this file.
class simulation {
 public:
  // A fresh simulated runtime, with no actors yet, set up by `options`.
  explicit simulation(simulation_options options = {});
  ~simulation();
  simulation(const simulation&) = delete;
  simulation& operator=(const simulation&) = delete;

  // The simulated runtime: spawn and send through it as usual.
  runtime& system() noexcept;
  // The seed the simulation runs under.
  std::uint64_t seed() const noexcept;
  // The simulation's own seeded generator, for tests and fault injection
  // that must replay with the seed.
  std::uint64_t random() noexcept;

  // One step (see the model above). False when nothing can run.
  bool step();
  // Delivers one in-flight message (chosen as step() would among the
  // deliveries) without running anyone. False when nothing is in flight.
  bool deliver_one();
  // Steps until nothing can run; time does not move. Returns the steps.
  std::size_t run_until_idle();
  // Moves virtual time forward; timers due by then put their messages in
  // flight (run_until_idle() to handle them).
  void advance(duration by);
  // Jumps to the next pending timer and fires it. False when none.
  bool advance_to_next_timer();
  // Runs everything, moving virtual time from timer to timer, until `span`
  // of virtual time has passed (periodic timers cannot make it spin).
  void run_for(duration span);
  // The current virtual time.
  time_point now() const;
  // Steps taken so far (deliveries and turns).
  std::size_t steps() const noexcept;

  // Probes.
  std::vector<std::string> in_flight() const;  // "<0.1.0> -> <0.2.0>: ping", oldest first
  // How many messages `who` has queued (delivered, not yet handled).
  std::size_t mailbox_size(const pid& who) const { return rt_->mailbox_size(who); }
  // What `who` has queued (delivered, not yet handled), oldest first.
  std::vector<std::string> mailbox(const pid& who) const;
  // The run so far, one line per event: spawn, send, deliver, run, exit,
  // timer, advance. Identical for identical seeds.
  const std::vector<std::string>& trace() const noexcept;
  // The last `last` events of the trace (0: all), one indented line each.
  std::string trace_text(std::size_t last = 0) const;  // last 0: all
  // Adds a line of the test's own to the trace.
  void note(std::string event);

  // Interventions.
  template <class T>
  void inject(const pid& to, T&& msg) {
    rt_->send(to, std::forward<T>(msg));
  }
  // Ends `who` as if it had crashed (an exit signal; not trappable yet).
  void crash(const pid& who, exit_reason reason = exit_reason::error("crashed by the test"));
  // Throws sim_error with `what` when `condition` is false.
  void require(bool condition, const std::string& what) const;

  // Starts an expectation of the next delivery of a T (see expectation).
  template <class T>
  expectation<T> expect() {
    return expectation<T>(*this);
  }

  // The scheduler behind the simulation; for the library's own plumbing.
  detail::sim_engine& engine() noexcept { return *engine_; }

 private:
  std::unique_ptr<detail::sim_engine> engine_;
  std::unique_ptr<runtime> rt_;
};

template <class T>
expectation<T>::~expectation() noexcept(false) {
  std::string failure;
  std::function<bool(troupe::detail::message&)> match;
  if constexpr (std::equality_comparable<T>) {
    if (value_) match = [this](troupe::detail::message& m) { return m.as<T>() == *value_; };
  }
  bool ok = detail::expect_step(sim_, type_key_of<T>, troupe::detail::demangle(typeid(T).name()),
                                from_, to_, match, failure);
  if (!ok && std::uncaught_exceptions() == 0) throw sim_error(failure);
}

}  // namespace troupe::testing
