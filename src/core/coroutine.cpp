// The actor-cell side of coroutine actors' awaiters (task.hpp).
#include <stdexcept>

#include "actor_cell.hpp"
#include "troupe/core/task.hpp"

namespace troupe::detail {

message* coro_take(actor& self, const type_key* keys, std::size_t count) {
  auto& cell = actor_cell::of(self);
  if (!cell.coro) throw std::logic_error("troupe: receive() is only for coroutine actors");
  cell.drain_mailbox();
  message* msg = cell.coro->queues.take(keys, count);
  if (msg) cell.note_dequeued();
  return msg;
}

bool coro_wait(actor& self, const type_key* keys, std::size_t count, duration timeout,
               std::coroutine_handle<> waiter, message** slot) {
  auto& cell = actor_cell::of(self);
  if (timeout <= duration::zero()) return false;
  auto& state = *cell.coro;
  state.wait_keys = keys;
  state.wait_count = count;
  state.wait_slot = slot;
  state.waiter = waiter;
  // Token 0 never matches: a stale timeout of an earlier receive must not
  // end an untimed one.
  state.wait_token = 0;
  if (timeout != infinite)
    state.wait_token = cell.arm_timeout(timeout, message_kind::receive_timeout, state.wait_timer);
  return true;
}

void coro_make_current(actor& self, message* msg) {
  auto& cell = actor_cell::of(self);
  cell.finish_current();
  cell.current = msg;
  cell.replied = false;
  cell.delegated = false;
}

}  // namespace troupe::detail
