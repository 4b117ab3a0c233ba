// The future/promise state machine (see include/troupe/async/detail/
// future_state.hpp for the completion protocol and its memory orders).
//
// Dispatch. A callback runs where it was attached: in its actor (posted as
// a context task unless that actor is running on this thread now), on its
// executor, or inline. Inline callbacks go through a per-thread trampoline:
// while one runs, callbacks that become ready on the same thread are queued
// (each holding a reference to its source state) and run after it, oldest
// first, so a long chain completing synchronously uses constant stack. A
// queued node's home is checked again when it is taken off the queue: the
// actor running then may differ (a handler spawned an actor whose setup
// completed a future).
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/causal.hpp"
#include "troupe/async/detail/future_state.hpp"
#include "troupe/async/executor.hpp"
#include "troupe/async/future.hpp"
#include "troupe/async/request_context.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe::detail {

namespace {

// Runs a node in the contexts it captured. A node with no home actor was
// attached outside any actor: if an actor's turn completed it here, that
// actor is masked while it runs, so what the node attaches is not tied to
// an actor it never belonged to (and that may end first).
void run_node(callback_node* node, state_base& source) noexcept {
  const bool foreign =
      !node->home && !node->plumbing && on_actor_thread() && current_actor() != nullptr;
  std::optional<outside_actor_scope> outside;
  if (foreign) outside.emplace();
  // Always swapped, even to "none": a continuation attached without a
  // context must not run in whatever context its completer happens to have.
  std::shared_ptr<const request_context> ctx = std::move(node->context);
  const causal_ids ids = current_causal;
  swap_request_context(ctx);
  node->run(source);
  swap_request_context(ctx);
  current_causal = ids;
}

struct trampoline {
  bool active = false;
  callback_node* head = nullptr;
  callback_node* tail = nullptr;
};
thread_local trampoline local;

void dispatch(callback_node* node, state_base& source) noexcept;

void enqueue(trampoline& t, callback_node* node) noexcept {
  node->next = nullptr;
  if (t.tail)
    t.tail->next = node;
  else
    t.head = node;
  t.tail = node;
}

// Runs (or discards) what the trampoline queued, oldest first.
void drain(trampoline& t) noexcept {
  while (callback_node* queued = t.head) {
    t.head = queued->next;
    if (!t.head) t.tail = nullptr;
    if (queued->discard_only) {
      queued->discard();
      continue;
    }
    state_base* from = std::exchange(queued->source, nullptr);
    if (queued->home && !is_current_actor(queued->home))
      dispatch(queued, *from);  // posts it home
    else
      run_node(queued, *from);
    from->release();
  }
}

void run_inline(callback_node* node, state_base& source) noexcept {
  trampoline& t = local;
  if (t.active) {
    source.add_ref();
    node->source = &source;
    enqueue(t, node);
    return;
  }
  t.active = true;
  run_node(node, source);
  drain(t);
  t.active = false;
}

// Discarding a node breaks the promises it holds, which completes their
// futures, whose nodes may be posted to the same dead actor and discarded
// in turn: through the trampoline, so a long dead chain cannot recurse.
void discard_later(callback_node* node) noexcept {
  trampoline& t = local;
  node->discard_only = true;
  if (t.active) {
    enqueue(t, node);
    return;
  }
  t.active = true;
  node->discard();
  drain(t);
  t.active = false;
}

// A node handed to an actor or an executor, holding a reference to its
// source: it runs there, or is discarded unrun if dropped (its actor is
// gone, the executor went away), which breaks the promises it held.
struct node_in_transit {
  explicit node_in_transit(callback_node* n) noexcept : node(n) {}
  node_in_transit(const node_in_transit&) = delete;
  ~node_in_transit() {
    if (node) {
      state_base* from = std::exchange(node->source, nullptr);
      discard_later(node);
      from->release();
    }
  }
  void run() noexcept {
    callback_node* n = std::exchange(node, nullptr);
    state_base* from = std::exchange(n->source, nullptr);
    n->exec = nullptr;  // arrived: run here
    run_inline(n, *from);
    from->release();
  }
  callback_node* node;
};

struct home_task final : context_task {
  explicit home_task(callback_node* n) noexcept : transit(n) {}
  void run(actor&) override { transit.run(); }
  node_in_transit transit;
};

void dispatch(callback_node* node, state_base& source) noexcept {
  if (node->exec) {
    source.add_ref();
    node->source = &source;
    executor* exec = node->exec;
    auto owned = std::make_shared<node_in_transit>(node);
    try {
      exec->post([owned] { owned->run(); });
    } catch (...) {
      // post() failed (allocation): dropping `owned` breaks the chain.
    }
    return;
  }
  if (node->home && !is_current_actor(node->home)) {
    source.add_ref();
    node->source = &source;
    troupe::pid home = node->home;
    post_task(home, new home_task(node));  // false: already discarded
    return;
  }
  run_inline(node, source);
}

// A blocked get(): shared by the waiting thread and the callback, so
// neither frees it while the other may still touch it.
struct blocking_waiter final : callback_node {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::atomic<int> refs{2};
  void drop() noexcept {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  void finish() noexcept {
    {
      std::lock_guard lock(mutex);
      done = true;
      cv.notify_all();
    }
    drop();
  }
  void run(state_base&) noexcept override { finish(); }
  void discard() noexcept override { finish(); }
};

}  // namespace

void capture_context(callback_node& node, executor* exec) {
  node.exec = exec;
  if (!exec) {
    if (actor* self = current_actor()) node.home = self->pid();
  }
  node.context = request_context::current();
}

state_base::~state_base() {
  callback_node* list = head.load(std::memory_order_relaxed);
  while (list && list != done_mark()) {
    callback_node* next = list->next;
    list->discard();
    list = next;
  }
  drop_interrupt_state();
}

void state_base::release_promise() noexcept {
  if (promises.fetch_sub(1, std::memory_order_acq_rel) == 1 &&
      !claimed.load(std::memory_order_acquire))
    set_failure(error(errc::broken_promise, "the promise was dropped without a value"));
  release();
}

void state_base::publish() noexcept {
  // seq_cst on both sides (this exchange and flag load; the setters' flag
  // store and their ready() check): either a setter sees `done` and stores
  // nothing, or this sees its flag and drops what it stored. Plain
  // acquire/release would allow both to miss (a store-buffering race),
  // leaving a handler that may hold a reference to this very state.
  callback_node* list = head.exchange(done_mark(), std::memory_order_seq_cst);
  if (interrupt_used_.load(std::memory_order_seq_cst)) drop_interrupt_state();
  // Newest first on the stack: reverse to run in the order attached.
  callback_node* oldest = nullptr;
  while (list) {
    callback_node* next = list->next;
    list->next = oldest;
    oldest = list;
    list = next;
  }
  while (oldest) {
    callback_node* next = oldest->next;
    dispatch(oldest, *this);
    oldest = next;
  }
}

void state_base::add_callback(callback_node* node) noexcept {
  callback_node* seen = head.load(std::memory_order_acquire);
  do {
    if (seen == done_mark()) {
      dispatch(node, *this);
      return;
    }
    node->next = seen;
  } while (!head.compare_exchange_weak(seen, node, std::memory_order_release,
                                       std::memory_order_acquire));
}

void check_may_block() {
  if (on_actor_thread())
    throw std::logic_error(
        "troupe: blocking on a future inside an actor would stall it (and maybe its worker); "
        "use co_await or a continuation (map/then)");
  // Inside a continuation run inline (on a completing thread, the timer
  // thread, an executor): what it would wait for may be queued behind it.
  if (local.active)
    throw std::logic_error(
        "troupe: blocking on a future inside a continuation could wait for itself; "
        "chain with then() instead");
}

bool state_base::wait_until(std::chrono::steady_clock::time_point deadline) const {
  check_may_block();
  // Most hand-offs between threads are short: spin before sleeping.
  for (int i = 0; i < 2000; ++i) {
    if (ready()) return true;
    if (i > 100) std::this_thread::yield();
  }
  auto* waiter = new blocking_waiter;
  const_cast<state_base*>(this)->add_callback(waiter);
  bool done;
  {
    std::unique_lock lock(waiter->mutex);
    if (deadline == std::chrono::steady_clock::time_point::max())
      waiter->cv.wait(lock, [&] { return waiter->done; });
    else
      waiter->cv.wait_until(lock, deadline, [&] { return waiter->done; });
    done = waiter->done;
  }
  waiter->drop();
  return done;
}

void state_base::wait() const { wait_until(std::chrono::steady_clock::time_point::max()); }

namespace {
struct spin_guard {
  explicit spin_guard(std::atomic<bool>& l) noexcept : lock(l) {
    while (lock.exchange(true, std::memory_order_acquire))
      while (lock.load(std::memory_order_relaxed)) std::this_thread::yield();
  }
  ~spin_guard() { lock.store(false, std::memory_order_release); }
  std::atomic<bool>& lock;
};
}  // namespace

void state_base::interrupt(const error& why) noexcept {
  // Iterative along forward links, so a long map chain cannot overflow the
  // stack. Each hop holds a reference to the state it is looking at.
  state_base* at = this;
  at->add_ref();
  while (at) {
    state_base* next = nullptr;
    std::unique_ptr<interrupt_handler> handler;
    if (!at->ready()) {
      spin_guard guard(at->interrupt_lock);
      if (at->forward_) {
        // Kept as well as passed on: if this state is later pointed at new
        // work (then/rescue once their continuation runs, become), the
        // interrupt follows it there. It matters when the current target is
        // already complete and that continuation has not run yet.
        if (!at->pending_interrupt_) {
          try {
            at->pending_interrupt_ = std::make_unique<error>(why);
          } catch (...) {
          }
        }
        if (!at->forward_->ready()) {
          next = at->forward_;
          next->add_ref();
        }
      } else if (at->handler_) {
        handler = std::move(at->handler_);
      } else if (!at->pending_interrupt_) {
        try {
          at->pending_interrupt_ = std::make_unique<error>(why);
          at->interrupt_used_.store(true, std::memory_order_seq_cst);
        } catch (...) {
        }
      }
    }
    if (handler) {
      try {
        handler->on_interrupt(why);
      } catch (...) {
        // A handler must not throw; the interrupting consumer cannot act on it.
      }
    }
    at->release();
    at = next;
  }
}

void state_base::set_interrupt_handler(std::unique_ptr<interrupt_handler> handler) noexcept {
  std::unique_ptr<error> pending;
  std::unique_ptr<interrupt_handler> replaced;  // destroyed after the lock
  {
    spin_guard guard(interrupt_lock);
    if (pending_interrupt_)
      pending = std::move(pending_interrupt_);
    else {
      interrupt_used_.store(true, std::memory_order_seq_cst);
      if (head.load(std::memory_order_seq_cst) != done_mark()) {
        replaced = std::move(handler_);
        handler_ = std::move(handler);
      }
    }
  }
  if (pending && !ready()) {
    try {
      handler->on_interrupt(*pending);
    } catch (...) {
    }
  }
}

void state_base::forward_interrupts(state_base* target) noexcept {
  if (ready()) return;
  target->add_ref();
  state_base* old;
  std::unique_ptr<error> pending;
  {
    spin_guard guard(interrupt_lock);
    interrupt_used_.store(true, std::memory_order_seq_cst);
    if (head.load(std::memory_order_seq_cst) == done_mark()) {
      pending.reset();
      old = target;  // complete meanwhile: keep nothing
    } else {
      old = std::exchange(forward_, target);
      pending = std::move(pending_interrupt_);
    }
  }
  if (old) old->release();
  if (pending) target->interrupt(*pending);
}

void state_base::drop_interrupt_state() noexcept {
  if (!interrupt_used_.load(std::memory_order_seq_cst)) return;
  std::unique_ptr<interrupt_handler> handler;
  state_base* forward;
  std::unique_ptr<error> pending;
  {
    spin_guard guard(interrupt_lock);
    handler = std::move(handler_);
    forward = std::exchange(forward_, nullptr);
    pending = std::move(pending_interrupt_);
  }
  if (forward) forward->release();
}

void throw_no_state() {
  throw std::logic_error("troupe: use of an empty future (default-constructed or moved from)");
}

runtime& current_runtime() {
  actor* self = current_actor();
  if (!self)
    throw std::logic_error("troupe: within(duration) outside an actor; pass a runtime or timers");
  return self->system();
}

void cancel_request_in(const troupe::pid& requester, std::uint64_t id) {
  if (is_current_actor(requester)) {
    current_actor()->cancel_request(id);
    return;
  }
  run_in(requester, [id](actor& self) { self.cancel_request(id); });
}

}  // namespace troupe::detail
