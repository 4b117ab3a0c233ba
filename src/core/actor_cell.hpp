// actor_cell: the runtime's side of one actor. Private to src/core.
//
// A cell is the mailbox, the actor's current behavior or coroutine, and the
// bookkeeping of its requests and timers. Every field below "owner state"
// is touched only by the thread currently running the actor (a worker, a
// detached actor's thread, or a scoped actor's owner); the mailbox
// protocol (mailbox.hpp) hands that ownership from one thread to the next.
//
// Lanes. take_all() drains the shared mailbox into two local queues:
// system messages (replies, timeouts, exits) and user messages. A turn
// always empties the system queue first and re-drains the mailbox at every
// turn, so a system message waits behind at most one turn's budget of user
// messages, whatever the backlog. Bounds apply only to user messages.
//
// Wake-up invariant. A turn ends `idle` (mailbox blocked) only when no
// local queue holds runnable work (has_local_work()): a message that makes
// the actor ready (a user message, a system message, or a message that a
// waiting coroutine's receive matches) always leads to another turn,
// whatever the budget. A message that a system handler moves into a local
// queue (admit_user: a trapped exit, a down) never passes the mailbox
// again, so the budget check must look at the local queues, not only at
// the mailbox.
//
// Lifetime. The runtime's live set holds one reference from spawn until the
// actor ends; pids hold others. end_turn_ended() drops the live reference
// and must be the last thing done with a cell that ended.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "mailbox.hpp"
#include "selective_queues.hpp"
#include "troupe/core/actor.hpp"
#include "troupe/core/behavior.hpp"
#include "troupe/core/config.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/signals.hpp"

namespace troupe::detail {

class runtime_impl;
struct timer_entry;
class actor_cell;

// The actor this thread runs now (troupe::current_actor()). Set for the
// length of a turn and of an actor's setup; scopes nest (a handler spawns).
// `running_masked`: the thread runs code that is not the actor's own (a
// continuation attached outside any actor, completed by this actor):
// current_actor() is then null, but the thread is still the actor's.
extern thread_local actor_cell* running_actor;
extern thread_local bool running_masked;
// The actor whose handler runs a child's setup inside spawn() on this
// thread (runtime::spawn_body), or null: such a setup spawns its own
// children with their setups deferred, and nothing it sends waits for the
// spawner to drain (the spawner cannot run until the setup returns).
extern thread_local actor_cell* spawner_running_setup;
struct current_actor_scope {
  explicit current_actor_scope(actor_cell* cell) noexcept
      : saved(running_actor), saved_masked(running_masked) {
    running_actor = cell;
    running_masked = false;
  }
  ~current_actor_scope() {
    running_actor = saved;
    running_masked = saved_masked;
  }
  current_actor_scope(const current_actor_scope&) = delete;
  current_actor_scope& operator=(const current_actor_scope&) = delete;
  actor_cell* saved;
  bool saved_masked;
};

// Where a proxy cell's messages go (a remote actor's local stand-in, made by
// the distribution layer). forward() runs on the sender's thread, for every
// kind of message (user, replies, exits, link and monitor control), and
// takes ownership of `msg`.
struct forwarder {
  virtual ~forwarder() = default;
  virtual send_status forward(message* msg, runtime_impl& context) = 0;
};

class actor_cell;
// A new proxy's pid; sends to it reach `to` (the distribution layer's).
troupe::pid make_proxy(runtime_impl& rt, std::shared_ptr<forwarder> to);

class actor_cell final : public cell_base, public actor {
 public:
  enum class kind : std::uint8_t { event, coroutine, scoped, proxy };
  enum class turn : std::uint8_t { idle, again, ended };

  actor_cell(runtime_impl& rt, kind k, const spawn_options& options);
  // A proxy: it never runs, is not among the live actors, and hands every
  // message sent to it to `to`.
  actor_cell(runtime_impl& rt, std::shared_ptr<forwarder> to);
  ~actor_cell() override;

  static actor_cell& of(actor& self) noexcept { return static_cast<actor_cell&>(self); }
  static actor_cell* of(const troupe::pid& p) noexcept { return static_cast<actor_cell*>(p.cell()); }

  // Any thread. `context` is the sender's runtime (for dead letters).
  send_status enqueue(message* msg, runtime_impl& context);
  // Any thread: a chain from one sender (see runtime_impl's outbox), linked
  // newest-first; `user_count` of them are user messages.
  void enqueue_chain(message* newest, message* oldest, std::size_t user_count,
                     runtime_impl& context);
  // Sends to this actor may be batched: unbounded mailboxes only, since a
  // bound needs a decision per message.
  bool batchable() const noexcept { return limit_ == 0 && !forwarder_; }
  bool is_proxy() const noexcept { return forwarder_ != nullptr; }
  forwarder* forward_target() const noexcept { return forwarder_.get(); }
  std::size_t queued() const noexcept {
    return enqueued_.load(std::memory_order_relaxed) - dequeued_.load(std::memory_order_relaxed);
  }

  // Single-threaded use only (the simulation): every queued message, oldest
  // first within each lane: system lane, then user messages.
  std::vector<message*> queued_messages() const;

  // Spawning thread, before anyone else sees the cell: keeps the actor's
  // setup for its first turn (or for setup_here).
  void prepare(std::unique_ptr<actor_body> body) noexcept;
  // True on a thread running a handler of an actor of `rt` that is not
  // itself a setup run by setup_here (runtime::spawn_body's condition).
  // Here, not inline in spawn_body: UBSan's null check misreads this
  // file's thread_locals when another file loads them (GCC 12).
  static bool may_setup_here(const runtime_impl& rt) noexcept;
  // Spawning thread, after prepare(), instead of scheduling the first turn
  // (runtime::spawn_body says when): runs the setup now, as
  // spawner_running_setup, then blocks the mailbox or schedules the actor.
  // False: it ended in its setup, and the caller drops the live reference.
  bool setup_here();
  // Owner: one turn of at most `budget` messages.
  turn run_turn(unsigned budget);
  // Owner: ends the actor (idempotent). Does not drop the live reference.
  void terminate(const exit_reason& reason);
  // After a turn that returned `ended`: drops the live reference.
  void release_live();
  bool ended() const noexcept { return ended_; }
  // How it ended, for runtime::stats (0 normal, 1 shutdown, 2 killed,
  // 3 error): written by terminate, read by remove_live on the same thread.
  std::uint8_t end_class() const noexcept { return end_class_; }
  // For runtime::stats and process descriptions (any thread, relaxed).
  std::uint64_t received_count() const noexcept { return enqueued_.load(std::memory_order_relaxed); }
  std::uint64_t handled_count() const noexcept { return dequeued_.load(std::memory_order_relaxed); }
  kind cell_kind() const noexcept { return kind_.load(std::memory_order_relaxed); }
  bool idle() const noexcept { return box.blocked(); }

  // Shared state: read or written by senders on any thread. It fills the
  // cell's first cache line (with cell_base), apart from the owner state.
  runtime_impl& rt;
  mailbox box;

 private:
  std::atomic<std::size_t> enqueued_{0};
  const std::shared_ptr<forwarder> forwarder_;  // set for proxies only; immutable
  const std::size_t limit_;
  const overflow_policy on_full_;
  // Set at spawn, and by the first turn for a coroutine; read by process
  // descriptions on any thread (relaxed).
  std::atomic<kind> kind_;

 public:
  const bool detached;
  // Set (seq_cst) by register_name under the registry lock before it checks
  // that the mailbox is open; terminate closes the mailbox (seq_cst) before
  // it reads this. So either the registrant sees the close or the owner
  // sees the flag, and a name never outlives its actor.
  std::atomic<bool> registered{false};

  // Owner state used by actor.cpp, coroutine.cpp and scoped_actor.cpp. It
  // starts on a cache line of its own: the owner writes it for every
  // message, senders never touch it.
  alignas(64) message* current = nullptr;
  bool replied = false;
  bool delegated = false;  // actor::delegate handed `current` on: what the handler returns is dropped
  std::optional<behavior> next_behavior;
  std::unique_ptr<exit_reason> quit_reason;

  struct pending_request {
    std::unique_ptr<reply_handler> handler;
    std::shared_ptr<timer_entry> timer;
  };
  struct extras {
    std::unordered_map<std::uint64_t, pending_request> pending;
    std::uint64_t next_request_id = 0;
    std::uint64_t next_token = 0;
    std::shared_ptr<timer_entry> idle_timer;
    std::uint64_t idle_token = 0;
    std::vector<std::shared_ptr<timer_entry>> interval_timers;
    // Links (both ways) and monitors others placed on this actor.
    struct watch {
      bool is_link;
      troupe::pid other;
      std::uint64_t ref;  // monitors only
    };
    std::vector<watch> watches;
    std::unordered_map<std::uint64_t, troupe::pid> my_monitors;  // ref -> target
    bool trap_exit = false;
  };
  extras& more();
  bool extras_ready() const noexcept { return extras_ != nullptr; }

  struct coroutine_state {
    std::coroutine_handle<task::promise_type> frame;
    bool started = false;
    selective_queues queues;
    const type_key* wait_keys = nullptr;  // non-null while waiting in receive
    std::size_t wait_count = 0;
    message** wait_slot = nullptr;
    std::coroutine_handle<> waiter;
    std::uint64_t wait_token = 0;
    std::shared_ptr<timer_entry> wait_timer;
  };
  std::unique_ptr<coroutine_state> coro;

  // Owner: moves everything from the shared mailbox to the local queues.
  // True if anything arrived.
  bool drain_mailbox();
  message_fifo system_queue;
  // Owner: sends a message from this actor (sets the sender).
  send_status send_from_self(const troupe::pid& to, message* msg);
  void fail_current(const exit_reason& reason);
  // "<0.5.0>" or "<0.5.0> (db)": the pid and registered names, for reports.
  std::string describe_self() const;
  // Links and monitors (signals.hpp). Owner only.
  void add_link(const troupe::pid& other);
  bool remove_link(const troupe::pid& other);
  void send_control(const troupe::pid& to, message_kind kind, std::uint64_t id);
  // Owner: link, unlink, monitor and demonitor as this actor (the
  // actor and scoped_actor APIs). `flush` drops a down already queued.
  void link_with(const troupe::pid& other);
  void unlink_from(const troupe::pid& other);
  monitor_ref monitor_target(const troupe::pid& target);
  void demonitor_ref(monitor_ref ref, bool flush);
  void send_signal(const troupe::pid& to, const exit_reason& reason, bool from_link,
                   bool untrappable);
  // Moves a message into the user lane, past any bound (down, exit_signal).
  void admit_user(message* msg);
  // A scoped actor's owner, for a system message its own wait did not
  // take: link, monitor and their undoing as any actor does, a down it
  // asked for to the user lane; an exit signal (even `kill`) becomes an
  // exit_signal message there, since it cannot end a plain thread; the
  // rest (a stale reply or timeout) is dropped.
  void handle_system_for_scoped(message* msg);
  // demonitor(ref, flush): drops a down for `ref` already in the user lane.
  void drop_queued_down(monitor_ref ref);
  // Frees the current message; a request left unanswered gets errc::no_reply.
  void finish_current();
  void note_dequeued() noexcept {
    dequeued_.store(dequeued_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  std::uint64_t arm_timeout(duration timeout, message_kind kind, std::shared_ptr<timer_entry>& out);

  // Live-set links, guarded by the runtime's shard mutex.
  actor_cell* live_prev = nullptr;
  actor_cell* live_next = nullptr;

 private:
  turn run_messages(unsigned budget);
  // Something in the local queues can run now (see the wake-up invariant).
  bool has_local_work() const;
  bool block_if_empty();
  // Frees a handled message. Its sender's reference is dropped in batches:
  // consecutive messages from one sender (the fan-in case) then cost one
  // atomic decrement on the sender's cache line per run, not per message.
  void free_message(message* msg) noexcept {
    if (cell_base* sender = msg->sender.take_cell()) {
      if (sender != batched_sender_) {
        flush_sender_releases();
        batched_sender_ = sender;
      }
      ++batched_releases_;
    }
    delete msg;
  }
  void flush_sender_releases() noexcept {
    if (batched_sender_) batched_sender_->release(batched_releases_);
    batched_sender_ = nullptr;
    batched_releases_ = 0;
  }
  void handle_system(message* msg);
  void wake() noexcept;
  void dispatch(message* msg);
  void resume_coroutine(std::coroutine_handle<> h);
  void check_coroutine_done();
  bool try_resume_receive();
  void rearm_idle_timer();
  // The first turn: runs the setup kept by prepare(); false if the actor
  // ended during it.
  bool run_setup();
  void bounce_all(message* chain, const char* reason, const exit_reason& ended_with);
  void handle_exit_signal(message* msg);
  void notify_watchers(const exit_reason& reason);

  std::atomic<std::size_t> dequeued_{0};  // written by the owner only
  cell_base* batched_sender_ = nullptr;
  std::uint32_t batched_releases_ = 0;
  // References to itself counted ahead for the messages it sends (see
  // send_from_self); owner only.
  static constexpr std::uint32_t sender_ref_batch = 64;
  std::uint32_t sender_ref_credit_ = 0;
  bool ended_ = false;
  std::uint8_t end_class_ = 0;
  bool crash_reported_ = false;
  bool setup_pending_ = false;  // prepare()d; the first turn runs the setup
  behavior behavior_;
  message_fifo user_queue_;
  std::unique_ptr<actor_body> body_;
  std::unique_ptr<extras> extras_;
};

// A failed answer to request `request_id`, ready to send.
message* make_error_reply(std::uint64_t request_id, errc code, std::string detail);
// The whole error travels (its retryable mark and captured exception too).
message* make_error_reply(std::uint64_t request_id, error err);

// Bounces a message that cannot be delivered: a request gets an error reply,
// the message is counted as a dead letter in `context`, then freed.
void bounce(runtime_impl& context, message* msg, const troupe::pid& receiver, const char* reason,
            errc code, const exit_reason* ended_with = nullptr);

}  // namespace troupe::detail
