// runtime_impl: the state behind troupe::runtime. Private to src/core.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "executor.hpp"
#include "sim_hooks.hpp"
#include "timer_service.hpp"
#include "troupe/core/config.hpp"
#include "troupe/core/dead_letters.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::detail {

// Per-thread randomness outside simulations (runtime::random, random_u64).
std::uint64_t thread_random() noexcept;


class actor_cell;
struct stall_policy;

class tracer;

class runtime_impl {
 public:
  // With hooks, the runtime is simulated: see sim_hooks.hpp.
  runtime_impl(config cfg, sim_hooks* hooks);
  ~runtime_impl();

  const config cfg;
  // Each component's threshold, from cfg.log_level (relaxed: a level set
  // while running applies to records logged after it is seen).
  std::array<std::atomic<log_level>, log_component_count> log_levels_;
  // This runtime's node name in records: set by net::node, read by any
  // thread. Names set are kept, so a reader never sees one freed.
  std::atomic<const std::string*> log_node_{nullptr};
  std::mutex log_node_mu_;
  std::deque<std::string> log_node_names_;
  runtime* owner = nullptr;  // the public object, for actor::system()

  // Delivery. `context` is the runtime of the sending side; dead letters
  // are counted there, since the target's runtime may be gone.
  static send_status deliver(runtime_impl& context, const pid& to, message* msg);
  // deliver without the simulation's interception (used by the hooks).
  static send_status deliver_now(runtime_impl& context, const pid& to, message* msg);
  // One turn of `cell` on the calling thread; what to do with it next.
  static executor::after_turn run_turn(actor_cell* cell, unsigned budget);
  // The scheduler's monitor settings, from cfg (its report logs).
  static stall_policy stalls_of(runtime_impl& rt);

  // Send batching. While a thread runs an actor's turn, its sends to one
  // unbounded mailbox are chained locally and pushed with one CAS when the
  // handler returns (or the thread sends elsewhere): fan-in then costs one
  // contended CAS per handler, not per message. Order per sender->receiver
  // pair is kept, since a thread's sends go out in program order. A chain
  // is pushed when it reaches 256 messages, so a handler that sends in a
  // long loop neither holds its receiver idle nor holds memory unbounded.
  struct batch_sends {
    batch_sends() noexcept;
    ~batch_sends();
    bool previous;
  };
  static void flush_sends() noexcept;
  // Sends made by this thread since its current turn began: a turn that
  // has sent 16 x max_messages_per_turn messages ends after its handler, so
  // a sender cannot flood a receiver that waits on the same worker
  // (Erlang charges reductions for sends for the same reason).
  static std::size_t sends_this_turn() noexcept;
  static bool turn_congested() noexcept;
  // After each handler: flush, and forget the last direct target.
  static void end_handler() noexcept;
  // Whether this thread is inside a batch (an actor's handler, or an I/O
  // read's deliveries); `fn` then runs when the current handler ends. One
  // slot per thread: the net layer's socket flush, so that a handler's
  // many sends to one node leave in one system call.
  static bool batching() noexcept;
  static void after_handler(void (*fn)()) noexcept;
  // `reason` must be a string literal (it is kept by address).
  void record_dead_letter(message* msg, const pid& receiver, const char* reason);
  // Logging (log.cpp): records under their component's level are dropped.
  void log(log_level level, log_component component, std::string_view text, const pid& source = {}) const;
  bool logs(log_level level, log_component component) const noexcept {
    return level >= log_levels_[static_cast<std::size_t>(component)].load(std::memory_order_relaxed);
  }
  void set_log_level(log_component component, log_level level) noexcept {
    log_levels_[static_cast<std::size_t>(component)].store(level, std::memory_order_relaxed);
  }
  void set_log_node(std::string name);

  // Actors.
  std::uint64_t next_actor_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  // False once shutdown has begun (the caller discards the cell).
  bool add_live(actor_cell* cell);
  void remove_live(actor_cell* cell);
  std::size_t live_count() const noexcept { return live_count_.load(std::memory_order_acquire); }
  bool accepting() const noexcept { return !closing_.load(std::memory_order_acquire); }
  void detached_started();
  void detached_finished();
  // A spawn in progress: shutdown waits for it before ending actors, so no
  // cell is half registered (live set, links, name) while the sweep ends
  // it. False once shutting down.
  bool begin_spawn();
  void end_spawn();

  // Registry.
  bool register_name(const std::string& name, const pid& who);
  bool unregister_name(const std::string& name);
  void unregister_all(actor_cell* cell);
  pid whereis(const std::string& name) const;
  // The names `cell` is registered under ("" if none); for crash reports.
  std::string names_of(const actor_cell* cell) const;
  std::string names_of_id(std::uint64_t id) const;

  // ordering: acquire, pairing with record_dead_letter's release (made after
  // the letter is listed and counted by cause).
  std::uint64_t dead_letter_count() const noexcept { return dead_count_.load(std::memory_order_acquire); }
  std::vector<dead_letter> recent_dead_letters() const;

  // runtime::stats and the process table (runtime_stats.cpp).
  runtime_stats stats() const;
  void for_each_process(const std::function<void(const process_info&)>& visit) const;
  bool process(std::uint64_t id, process_info& out) const;
  const std::int64_t started_ns;  // steady_clock, when made

  void shutdown();

  sim_hooks* const hooks;  // null unless simulated
  std::unique_ptr<executor> exec;
  timer_service timers;

  // Tracing (troupe/core/trace.hpp). `trace_on` is the hooks' fast path:
  // off, a send or a handling costs one relaxed load of it. The tracer is
  // made by the first trace::start and lives as long as the runtime.
  std::atomic<bool> trace_on{false};
  tracer& trace_state();
  bool has_tracer() const noexcept { return tracer_.load(std::memory_order_acquire) != nullptr; }

 private:
  struct live_shard {
    mutable std::mutex mutex;
    actor_cell* head = nullptr;
    // What the actors that left this shard counted (runtime::stats adds
    // the live ones'): ends by class (actor_cell::end_class), and the
    // messages they received and handled. Under `mutex`.
    std::array<std::uint64_t, 4> ended{};
    std::uint64_t added = 0;  // cells that entered (runtime_stats::actors_spawned)
    std::uint64_t gone_received = 0;
    std::uint64_t gone_handled = 0;
  };
  // A description of `cell`, alive in a shard whose lock the caller holds,
  // all but its names (the registry's lock is taken after).
  static process_info describe_locked(actor_cell* cell);
  static constexpr std::size_t shard_count = 16;
  live_shard& shard_of(actor_cell* cell) noexcept;
  actor_cell* pop_any_live();

  std::atomic<std::uint64_t> next_id_{1};
  std::array<live_shard, shard_count> live_;
  std::atomic<std::size_t> live_count_{0};
  std::atomic<bool> closing_{false};
  std::once_flag shutdown_once_;

  std::mutex detached_mutex_;
  std::condition_variable detached_done_;
  std::size_t detached_running_ = 0;
  std::size_t spawns_in_flight_ = 0;  // guarded by detached_mutex_

  mutable std::mutex registry_mutex_;
  std::unordered_map<std::string, pid> names_;

  std::atomic<std::uint64_t> dead_count_{0};
  mutable std::mutex dead_mutex_;
  std::deque<dead_letter> dead_recent_;
  // Dead letters by cause, without a lock: a cause is one of a few string
  // literals (record_dead_letter's callers pass nothing else), kept in the
  // first free slot (claimed by CAS) and matched by address or text (one
  // text may have two addresses); causes past the last but one slot count
  // in the last ("other"). Slots fill in order and never empty. A count is
  // added with release and read with acquire, so a reader that sees a
  // count sees its slot's text.
  struct dead_cause {
    std::atomic<const char*> text{nullptr};
    std::atomic<std::uint64_t> count{0};
  };
  std::array<dead_cause, 32> dead_by_cause_;

  std::mutex tracer_mu_;
  std::atomic<tracer*> tracer_{nullptr};
  std::unique_ptr<tracer> tracer_owner_;
};

}  // namespace troupe::detail
