#include "troupe/core/runtime.hpp"

#include <sched.h>

#include <thread>

#include "actor_cell.hpp"
#include "troupe/core/context.hpp"
#include "runtime_impl.hpp"
#include "tracer.hpp"

namespace troupe {

// The cores this process may run on (taskset, cgroup cpusets), not the
// cores the machine has: more workers than that only time-slice.
unsigned default_worker_count() noexcept {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
    const int usable = CPU_COUNT(&allowed);
    if (usable > 0) return static_cast<unsigned>(usable);
  }
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

runtime::runtime(config cfg)
    : impl_(std::make_unique<detail::runtime_impl>(std::move(cfg), nullptr)) {
  impl_->owner = this;
}

runtime::runtime(config cfg, detail::sim_hooks& hooks)
    : impl_(std::make_unique<detail::runtime_impl>(
          [&cfg] {
            cfg.workers = 1;
            return std::move(cfg);
          }(),
          &hooks)) {
  impl_->owner = this;
}

time_point runtime::now() const { return impl_->timers.now(); }

runtime::~runtime() { impl_->shutdown(); }

void runtime::shutdown() { impl_->shutdown(); }

namespace {
void run_detached(detail::actor_cell* cell) {
  detail::runtime_impl& rt = cell->rt;
  const unsigned budget = rt.cfg.max_messages_per_turn;
  for (;;) {
    auto turn = cell->run_turn(budget);
    if (turn == detail::actor_cell::turn::ended) break;
    if (turn == detail::actor_cell::turn::idle) cell->box.wait_while_blocked();
  }
  cell->release_live();
  rt.detached_finished();
}
}  // namespace

pid runtime::spawn_body(const spawn_options& options, std::unique_ptr<detail::actor_body> body,
                        detail::spawn_watch watch) {
  if (!impl_->begin_spawn()) {
    impl_->log(log_level::warning, log_component::core, "spawn refused: the runtime is shutting down");
    return pid();
  }
  struct spawn_scope {
    detail::runtime_impl& rt;
    ~spawn_scope() { rt.end_spawn(); }
  } in_flight{*impl_};
  auto* cell = new detail::actor_cell(*impl_, detail::actor_cell::kind::event, options);
  if (!impl_->add_live(cell)) {  // adopts the construction reference
    cell->release();
    return pid();
  }
  pid result(cell);
  if (watch.parent) {  // in place before the child runs: it cannot end unobserved
    if (watch.link) cell->add_link(watch.parent);
    if (watch.monitor_ref)
      cell->more().watches.push_back({false, watch.parent, watch.monitor_ref});
  }
  if (!options.name.empty() && !impl_->register_name(options.name, result))
    impl_->log(log_level::warning, log_component::core, "spawn: name '" + options.name + "' is taken; " +
                                       result.to_string() + " runs unregistered");
  // The setup runs in the actor's first turn, on a worker (or the actor's
  // own thread): spawning is O(1) on the caller's stack however deep a
  // chain of setups that spawn goes (Erlang's and CAF's semantics).
  // Messages sent meanwhile wait in the mailbox and are handled after it.
  // One exception, for speed: an actor's handler that spawns runs the
  // child's setup here, before spawn returns, unless that handler is itself
  // a setup run this way, so the caller's stack grows by one setup at most
  // and a chain of setups that spawn still cannot recurse. The child is
  // then made and started while hot in this thread's cache: a handler that
  // spawns a million short-lived actors ran 1.4x slower with every setup
  // deferred, and held all million cells until its turn ended. Not in the
  // simulation, whose scheduler decides every order.
  // Recorded before the child starts: its setup may run right here, and a
  // filter that follows spawned actors must know the child by then.
  if (impl_->trace_on.load(std::memory_order_relaxed)) [[unlikely]] {
    actor* parent = current_actor();
    impl_->trace_state().on_spawn(parent ? parent->pid().id() : 0, result.id());
  }
  cell->prepare(std::move(body));
  if (options.detached) {
    impl_->detached_started();
    std::thread(run_detached, cell).detach();
  } else if (!impl_->hooks && detail::actor_cell::may_setup_here(*impl_)) {
    if (!cell->setup_here()) cell->release_live();
  } else {
    impl_->exec->schedule_spawned(cell);
  }
  if (impl_->hooks) impl_->hooks->on_spawn(result);
  return result;
}

void runtime::send_exit(const pid& target, exit_reason reason) {
  const bool kill = reason.what() == exit_reason::kind::kill;
  auto* sig = new detail::typed_message<detail::signal>(detail::signal{pid(), std::move(reason), kill});
  sig->kind = detail::message_kind::exit;
  detail::runtime_impl::deliver(*impl_, target, sig);
}

send_status runtime::send_message(const pid& to, detail::message* msg) {
  return detail::runtime_impl::deliver(*impl_, to, msg);
}

timer_handle runtime::schedule_send(duration delay, duration period, const pid& to,
                                    detail::message* once,
                                    std::function<detail::message*()> factory) {
  return timer_handle(impl_->timers.start(delay, period, to, once, std::move(factory)));
}

timer_handle runtime::call_after(duration delay, std::function<void()> fn) {
  return timer_handle(impl_->timers.call_after(delay, std::move(fn)));
}

bool runtime::register_name(const std::string& name, const pid& who) {
  return impl_->register_name(name, who);
}
bool runtime::unregister_name(const std::string& name) { return impl_->unregister_name(name); }
pid runtime::whereis(const std::string& name) const { return impl_->whereis(name); }

std::size_t runtime::mailbox_size(const pid& who) const {
  auto* cell = detail::actor_cell::of(who);
  return cell ? cell->queued() : 0;
}
std::uint64_t runtime::dead_letter_count() const noexcept { return impl_->dead_letter_count(); }
std::vector<dead_letter> runtime::recent_dead_letters() const {
  return impl_->recent_dead_letters();
}
std::size_t runtime::live_actors() const noexcept { return impl_->live_count(); }
std::uint64_t runtime::long_turn_count() const noexcept { return impl_->exec->long_turns(); }
std::uint64_t runtime::random() const {
  return impl_->hooks ? impl_->hooks->random() : detail::thread_random();
}
unsigned runtime::worker_count() const noexcept { return impl_->exec->size(); }
bool runtime::is_alive(const pid& p) const noexcept {
  const detail::actor_cell* cell = detail::actor_cell::of(p);
  return cell && !cell->box.closed();  // closed when the actor ends (terminate)
}
const config& runtime::settings() const noexcept { return impl_->cfg; }

}  // namespace troupe
