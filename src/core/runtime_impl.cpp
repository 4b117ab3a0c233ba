#include "runtime_impl.hpp"
#include "causal.hpp"

#include <algorithm>
#include <cstring>
#include <chrono>
#include <iostream>
#include <thread>
#include <utility>
#include <stdexcept>

#include "actor_cell.hpp"
#include "scheduler.hpp"
#include "tracer.hpp"

namespace troupe::detail {
namespace {

config validated(config cfg) {
  if (cfg.workers == 0) throw std::invalid_argument("troupe::config: workers must be at least 1");
  if (cfg.workers > 4096)
    throw std::invalid_argument("troupe::config: workers must be at most 4096, got " +
                                std::to_string(cfg.workers));
  if (cfg.max_messages_per_turn == 0)
    throw std::invalid_argument("troupe::config: max_messages_per_turn must be at least 1");
  if (cfg.default_request_timeout <= duration::zero())
    throw std::invalid_argument("troupe::config: default_request_timeout must be positive");
  if (cfg.timer_tick <= duration::zero())
    throw std::invalid_argument("troupe::config: timer_tick must be positive");
  if (cfg.park_spin < duration::zero() || cfg.park_spin > std::chrono::seconds(1))
    throw std::invalid_argument("troupe::config: park_spin must be between 0 and 1 s");
  if (cfg.stall_threshold < duration::zero() || cfg.long_turn_warning < duration::zero())
    throw std::invalid_argument("troupe::config: stall_threshold and long_turn_warning must not be negative");
  if (cfg.max_spare_workers > 4096)
    throw std::invalid_argument("troupe::config: max_spare_workers must be at most 4096");
  return cfg;
}

}  // namespace

executor::after_turn runtime_impl::run_turn(actor_cell* cell, unsigned budget) {
  switch (cell->run_turn(budget)) {
    case actor_cell::turn::idle:
      return executor::after_turn::done;
    case actor_cell::turn::again:
      return turn_congested() ? executor::after_turn::requeue_late
                              : executor::after_turn::requeue;
    case actor_cell::turn::ended:
      cell->release_live();
      return executor::after_turn::done;
  }
  return executor::after_turn::done;
}

runtime_impl::runtime_impl(config c, sim_hooks* sim)
    : cfg(validated(std::move(c))),
      started_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::steady_clock::now().time_since_epoch())
                     .count()),
      hooks(sim),
      exec(sim ? sim->make_executor(*this)
               : std::make_unique<scheduler>(cfg.workers, cfg.max_messages_per_turn,
                                             &runtime_impl::run_turn, cfg.park_spin,
                                             cfg.lend_io_threads, stalls_of(*this))),
      timers(cfg.timer_tick,
             [this](const pid& target, message* msg) {
               return deliver(*this, target, msg) != send_status::dead_letter;
             },
             /*manual=*/sim != nullptr) {
  for (auto& level : log_levels_) level.store(cfg.log_level, std::memory_order_relaxed);
}

runtime_impl::~runtime_impl() {
  shutdown();
  forget_outside_recorder(*this);  // before the tracer goes
}

stall_policy runtime_impl::stalls_of(runtime_impl& rt) {
  stall_policy p;
  p.threshold = rt.cfg.stall_threshold;
  p.warn_after = rt.cfg.long_turn_warning;
  p.spares = rt.cfg.max_spare_workers != 0 ? rt.cfg.max_spare_workers : std::max(4u, 2 * rt.cfg.workers);
  p.report = [&rt](std::uint64_t id, std::chrono::nanoseconds ran) {
    std::string who = "<0." + std::to_string(id) + ".0>";
    std::string names = rt.names_of_id(id);
    if (!names.empty()) who += " (" + names + ")";
    rt.log(log_level::warning, log_component::core,
           "long turn: actor " + who + " ran one turn for " +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(ran).count()) +
               " ms (its thread's other work moved meanwhile); spawn actors that compute or block "
               "for long as detached");
  };
  return p;
}

namespace {
// The calling thread's pending chain of sends (see batch_sends). Invariant:
// non-empty only while `active`, and then `target` holds one reference.
struct outbox {
  bool active = false;
  actor_cell* target = nullptr;
  runtime_impl* context = nullptr;
  message* oldest = nullptr;  // the chain, linked oldest first
  message* newest = nullptr;
  std::size_t user_count = 0;
  std::size_t chained = 0;  // messages in the chain
  // The target of the last direct send, compared but never dereferenced: a
  // batch starts at the second consecutive send to one target, so a
  // handler that sends once (ping-pong) pays no reference counting.
  const actor_cell* last_direct = nullptr;
  std::size_t sends = 0;  // since the turn began
  bool congested = false;  // a receiver of this turn has a long backlog
  const actor_cell* unpaced = nullptr;  // a receiver that did not drain while paced
  std::size_t unpaced_flushes = 0;      // chains to it still sent without pacing
  void (*after)() = nullptr;  // runs at the end of the handler (after_handler)
};
thread_local outbox pending_sends;

// A receiver with more user messages queued than this is "congested": the
// turn that sent to it ends in the global queue instead of the local one,
// so the worker runs the receiver (likely in its local queue or LIFO slot)
// before the senders again. Without it, four senders and one receiver on
// two workers give the receiver a third of one worker, and its backlog
// grows out of the caches.
constexpr std::size_t congested_backlog = 4096;

// The longest chain a thread holds back: a handler (or a coroutine that
// never suspends) sending millions of messages in one loop hands them over
// in chains of this many, so the receiver starts at once and the sender
// holds a bounded amount of memory. One contended CAS per 256 messages
// costs nothing measurable.
constexpr std::size_t max_chain = 256;

// A chain of at least this many user messages is pushed as one run
// (mailbox.hpp, Runs): one small allocation, and the receiver splices it
// instead of walking it. Shorter ones are reversed by the sender.
constexpr std::size_t min_run = 16;

// Pacing. A handler that keeps sending to a receiver with more than
// `pace_backlog` messages queued waits (50 us at a time) until it is down
// to half, while the receiver drains: a loop of millions of sends then
// holds a bounded backlog instead of all of them (10 M messages were
// 760 MB). The bound also holds when spare workers run several senders
// at once beside their receiver. Only on the runtime's own threads with
// the stall monitor on (the waiting turn hands its thread's work off and
// counts as stalled, and a spare worker runs the receiver even on a
// one-worker runtime); a turn that has sent fewer than pace_backlog / 2
// messages only at twice the backlog (it ends soon, and requeue_late
// already lets the receiver run first; but spare workers running many
// such turns at once must still be bounded); never for a send to oneself or, from a setup run
// inside its spawner's handler, to that spawner (neither can drain before
// the turn ends); and a receiver whose backlog does not shrink for 20 x stall_threshold
// (100 ms: time for the monitor to start spare workers until one runs the
// receiver; or it waits for something else) is not waited for during the
// next 65,536 messages sent to it, so such a pause costs at most 1.5 us a
// message.
constexpr std::size_t pace_backlog = 16384;

void pace_sender(actor_cell* cell) {
  const std::size_t queued = cell->queued();
  if (queued < pace_backlog) return;
  outbox& box = pending_sends;
  // A short turn waits only for a receiver twice as far behind.
  if (box.sends < pace_backlog / 2 && queued < 2 * pace_backlog) return;
  if (cell == running_actor || cell == spawner_running_setup) return;
  if (box.unpaced == cell && box.unpaced_flushes > 0) {
    --box.unpaced_flushes;
    return;
  }
  runtime_impl& rt = cell->rt;
  if (rt.cfg.stall_threshold <= duration::zero() || !rt.exec->runs_on_this_thread()) return;
  using clock = std::chrono::steady_clock;
  // Long enough for the monitor to see this turn stall and start spare
  // workers, one a tick, until one runs the receiver (other paced senders
  // may take the first ones), on a loaded machine too.
  const auto patience = 20 * rt.cfg.stall_threshold;
  std::size_t last = cell->queued();
  auto progress = clock::now();
  rt.exec->turn_will_wait();
  while (last > pace_backlog / 2) {
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    const std::size_t now_queued = cell->queued();
    if (now_queued < last) {
      last = now_queued;
      progress = clock::now();
    } else if (clock::now() - progress > patience) {
      // Not draining (it waits for something else, or gets no core): the
      // next 256 chains to it (65,536 messages) go without waiting.
      box.unpaced = cell;
      box.unpaced_flushes = 256;
      return;
    }
  }
}
}  // namespace

runtime_impl::batch_sends::batch_sends() noexcept : previous(pending_sends.active) {
  pending_sends.active = true;
  pending_sends.sends = 0;
  pending_sends.congested = false;
  pending_sends.unpaced = nullptr;
}

bool runtime_impl::turn_congested() noexcept { return pending_sends.congested; }

std::size_t runtime_impl::sends_this_turn() noexcept { return pending_sends.sends; }

runtime_impl::batch_sends::~batch_sends() {
  end_handler();
  pending_sends.active = previous;
}

void runtime_impl::end_handler() noexcept {
  flush_sends();
  pending_sends.last_direct = nullptr;
  if (auto* fn = std::exchange(pending_sends.after, nullptr)) fn();
}

bool runtime_impl::batching() noexcept { return pending_sends.active; }

void runtime_impl::after_handler(void (*fn)()) noexcept {
  auto* previous = std::exchange(pending_sends.after, fn);
  if (previous && previous != fn) previous();
}

void runtime_impl::flush_sends() noexcept {
  outbox& box = pending_sends;
  if (!box.target) return;
  // Empty the box first, and send directly while flushing: enqueue_chain
  // may bounce messages to a dead receiver, and a bounce sends.
  actor_cell* target = std::exchange(box.target, nullptr);
  message* newest = std::exchange(box.newest, nullptr);
  message* oldest = std::exchange(box.oldest, nullptr);
  std::size_t user_count = std::exchange(box.user_count, 0);
  const std::size_t chained = std::exchange(box.chained, 0);
  const bool was_active = std::exchange(box.active, false);
  message_run* run = nullptr;
  if (chained >= min_run && user_count == chained) {
    try {
      run = new message_run(oldest, newest);
    } catch (const std::bad_alloc&) {
      // pushed as a plain chain below
    }
  }
  if (run) {
    target->enqueue_chain(run, run, user_count, *box.context);
  } else {
    // A short chain, or one with system messages (which take another lane):
    // linked newest first here, while the sender's cache still holds it.
    message* reversed = nullptr;
    for (message* m = oldest; m;) {
      message* next = m->next;
      m->next = reversed;
      reversed = m;
      m = next;
    }
    target->enqueue_chain(newest, oldest, user_count, *box.context);
  }
  box.active = was_active;
  if (target->queued() > congested_backlog) box.congested = true;
  target->release();
}

send_status runtime_impl::deliver(runtime_impl& context, const pid& to, message* msg) {
  if (current_causal.trace != 0 && msg->trace_id == 0) [[unlikely]] {
    msg->trace_id = current_causal.trace;
    msg->span_id = new_span_id();
  }
  // Traced when sent, inside the sender's handling (a batched send reaches
  // the mailbox only when the handler returns; a simulation delivers it
  // later still), by the sending side's runtime: the receiver's may be gone
  // (a pid outlives its runtime).
  if (context.trace_on.load(std::memory_order_relaxed)) [[unlikely]]
    if (traced_message(*msg)) context.trace_state().on_send(msg->sender.id(), to.id(), *msg);
  if (context.hooks) return context.hooks->on_send(context, to, msg);
  return deliver_now(context, to, msg);
}

send_status runtime_impl::deliver_now(runtime_impl& context, const pid& to, message* msg) {
  actor_cell* cell = actor_cell::of(to);
  outbox& box = pending_sends;
  ++box.sends;
  if (!cell) {
    flush_sends();
    bounce(context, msg, to, "no such actor", errc::receiver_down);
    return send_status::dead_letter;
  }
  if (box.active && cell->batchable()) {
    if (box.target != cell || box.context != &context) {
      flush_sends();
      if (box.last_direct != cell) {
        box.last_direct = cell;
        send_status status = cell->enqueue(msg, context);
        if (cell->queued() > congested_backlog) box.congested = true;
        return status;
      }
      cell->add_ref();
      box.target = cell;
      box.context = &context;
      box.oldest = msg;
    } else {
      box.newest->next = msg;
    }
    msg->next = nullptr;
    box.newest = msg;
    if (!msg->is_system()) ++box.user_count;
    if (++box.chained >= max_chain) {
      flush_sends();
      // The next send to the same target starts a new chain at once.
      box.last_direct = cell;
      pace_sender(cell);  // `to` keeps the cell alive
    }
    return send_status::ok;
  }
  flush_sends();
  send_status status = cell->enqueue(msg, context);
  if (box.active && cell->queued() > congested_backlog) box.congested = true;
  return status;
}

void runtime_impl::record_dead_letter(message* msg, const pid& receiver, const char* reason) {
  // Counted last (release, paired with dead_letter_count's acquire): whoever
  // sees the count sees the letter in the recent list and in its cause.
  struct count_when_done {
    std::atomic<std::uint64_t>& count;
    ~count_when_done() { count.fetch_add(1, std::memory_order_release); }
  } counted{dead_count_};
  for (std::size_t i = 0; i < dead_by_cause_.size(); ++i) {
    dead_cause& slot = dead_by_cause_[i];
    const char* text = slot.text.load(std::memory_order_acquire);
    if (!text && i + 1 < dead_by_cause_.size() &&
        slot.text.compare_exchange_strong(text, reason, std::memory_order_acq_rel))
      text = reason;
    if (i + 1 == dead_by_cause_.size() || text == reason || (text && std::strcmp(text, reason) == 0)) {
      slot.count.fetch_add(1, std::memory_order_release);
      break;
    }
  }
  if (cfg.dead_letter_history == 0) return;
  dead_letter letter{msg->sender, receiver, msg->type_name(), reason};
  std::lock_guard lock(dead_mutex_);
  if (dead_recent_.size() >= cfg.dead_letter_history) dead_recent_.pop_front();
  dead_recent_.push_back(std::move(letter));
}

std::vector<dead_letter> runtime_impl::recent_dead_letters() const {
  std::lock_guard lock(dead_mutex_);
  return {dead_recent_.begin(), dead_recent_.end()};
}

runtime_impl::live_shard& runtime_impl::shard_of(actor_cell* cell) noexcept {
  return live_[cell->id() % shard_count];
}

bool runtime_impl::add_live(actor_cell* cell) {
  live_shard& shard = shard_of(cell);
  std::lock_guard lock(shard.mutex);
  // Checked under the shard lock: shutdown sets closing_ before it sweeps
  // the shards, so a cell either is refused here or is seen by the sweep.
  if (closing_.load(std::memory_order_acquire)) return false;
  cell->live_next = shard.head;
  if (shard.head) shard.head->live_prev = cell;
  shard.head = cell;
  ++shard.added;
  live_count_.fetch_add(1, std::memory_order_release);
  return true;
}

void runtime_impl::remove_live(actor_cell* cell) {
  {
    live_shard& shard = shard_of(cell);
    std::lock_guard lock(shard.mutex);
    if (cell->live_prev)
      cell->live_prev->live_next = cell->live_next;
    else
      shard.head = cell->live_next;
    if (cell->live_next) cell->live_next->live_prev = cell->live_prev;
    cell->live_prev = cell->live_next = nullptr;
    ++shard.ended[cell->end_class()];
    shard.gone_received += cell->received_count();
    shard.gone_handled += cell->handled_count();
    live_count_.fetch_sub(1, std::memory_order_release);
  }
  cell->release();
}

actor_cell* runtime_impl::pop_any_live() {
  for (auto& shard : live_) {
    std::lock_guard lock(shard.mutex);
    if (actor_cell* cell = shard.head) {
      cell->add_ref();  // keeps it while the caller ends it
      return cell;
    }
  }
  return nullptr;
}

bool runtime_impl::begin_spawn() {
  std::lock_guard lock(detached_mutex_);
  if (closing_.load(std::memory_order_acquire)) return false;
  ++spawns_in_flight_;
  return true;
}

void runtime_impl::end_spawn() {
  std::lock_guard lock(detached_mutex_);
  if (--spawns_in_flight_ == 0) detached_done_.notify_all();
}

void runtime_impl::detached_started() {
  std::lock_guard lock(detached_mutex_);
  ++detached_running_;
}

void runtime_impl::detached_finished() {
  std::lock_guard lock(detached_mutex_);
  --detached_running_;
  detached_done_.notify_all();  // under the lock: the runtime may go away after unlock
}

bool runtime_impl::register_name(const std::string& name, const pid& who) {
  actor_cell* cell = actor_cell::of(who);
  // A proxy (a remote actor's pid) never ends here, so its name would never go.
  if (!cell || cell->is_proxy() || cell->box.closed() || name.empty()) return false;
  std::lock_guard lock(registry_mutex_);
  auto [it, inserted] = names_.try_emplace(name, who);
  if (!inserted) return false;
  cell->registered.store(true, std::memory_order_seq_cst);
  if (cell->box.closed()) {  // it ended meanwhile: do not keep a stale name
    names_.erase(it);
    return false;
  }
  return true;
}

bool runtime_impl::unregister_name(const std::string& name) {
  std::lock_guard lock(registry_mutex_);
  return names_.erase(name) != 0;
}

void runtime_impl::unregister_all(actor_cell* cell) {
  std::lock_guard lock(registry_mutex_);
  std::erase_if(names_, [cell](const auto& entry) { return entry.second.cell() == cell; });
}

std::string runtime_impl::names_of_id(std::uint64_t id) const {
  std::string out;
  std::lock_guard lock(registry_mutex_);
  for (auto& [name, who] : names_)
    if (who.id() == id) out += (out.empty() ? "" : ", ") + name;
  return out;
}

std::string runtime_impl::names_of(const actor_cell* cell) const {
  std::string out;
  std::lock_guard lock(registry_mutex_);
  for (auto& [name, who] : names_)
    if (who.cell() == cell) out += (out.empty() ? "" : ", ") + name;
  return out;
}

pid runtime_impl::whereis(const std::string& name) const {
  std::lock_guard lock(registry_mutex_);
  auto it = names_.find(name);
  return it == names_.end() ? pid() : it->second;
}

void runtime_impl::shutdown() {
  if (exec->runs_on_this_thread())
    throw std::logic_error(
        "troupe: runtime::shutdown() called from one of its own actors (it joins the workers); "
        "call it from the thread that owns the runtime");
  std::call_once(shutdown_once_, [this] {
    {
      // 0. No new spawns; wait for those under way to register their cells.
      std::unique_lock lock(detached_mutex_);
      closing_.store(true, std::memory_order_release);
      detached_done_.wait(lock, [this] { return spawns_in_flight_ == 0; });
    }
    // 1. Detached actors: ask each to stop after its message in hand.
    std::vector<pid> detached;
    for (auto& shard : live_) {
      std::lock_guard lock(shard.mutex);
      for (actor_cell* c = shard.head; c; c = c->live_next)
        if (c->detached) detached.emplace_back(c);
    }
    for (auto& p : detached) {
      auto* stop = new typed_message<signal>(signal{pid(), exit_reason::shutdown(), true});
      stop->kind = message_kind::exit;
      deliver(*this, p, stop);
    }
    detached.clear();
    {
      std::unique_lock lock(detached_mutex_);
      detached_done_.wait(lock, [this] { return detached_running_ == 0; });
    }
    // 2. Workers finish the message in hand and exit; 3. no more timers.
    exec->stop();
    timers.stop();
    // 4. End every remaining actor here; they are no longer run anywhere.
    while (actor_cell* cell = pop_any_live()) {
      cell->terminate(exit_reason::shutdown());
      cell->release_live();
      cell->release();
    }
  });
}

}  // namespace troupe::detail
