// troupe::tracing::event_kind: what a recorded event is (troupe/core/trace.hpp
// has the events and the API). A header of its own so that the layers'
// probes (trace_probe.hpp) name kinds without the tracing API.
#pragma once

#include <cstdint>

namespace troupe::tracing {

// What an event records. `actor`, `other`, `what` and `value` are the
// fields of tracing::event.
enum class event_kind : std::uint8_t {
  spawn,       // `actor` spawned `other` (actor 0: from outside any actor)
  send,        // `actor` sent a `what` to `other`; `flow` pairs it with its handling
  begin,       // `actor` began handling a `what` from `other`; `value`: messages still queued
  end,         // `actor` finished handling the message begun before
  exit,        // `actor` ended; `what` is the reason
  mark,        // a user event (tracing::mark): `what` is its name, `value` its value
  span_begin,  // a user span (tracing::span) opened in `actor`
  span_end,    // and closed
  // troupe's mutexes (pi_mutex, named_mutex, monitor<T>; lock_trace.hpp):
  // `what` is the mutex's name, `value` the thread's scheduling priority
  // (SCHED_FIFO or SCHED_RR; 0 otherwise), `other` on a wait the OS thread
  // id of the holder.
  lock_wait,     // the thread found the mutex held and waits for it
  lock_acquire,  // the thread holds it
  lock_release,  // and let it go
  // Links and monitors.
  link,     // `actor` linked itself to `other`
  unlink,   // `actor` undid its link to `other`
  monitor,  // `actor` began to monitor `other`
  down,     // `actor` ended and its monitor by `other` fired; `what` is the reason
  // Timers (runtime::send_after and the like; `value` is the timer's id).
  timer_set,     // `actor` set a timer for `other`
  timer_fire,    // the timer for `other` fired
  timer_cancel,  // `actor` cancelled it
  // Supervision: supervisor `actor` restarted child `what` as `other`;
  // `value` counts its restarts within its intensity period.
  restart,
  // The scheduler (`actor` 0): a worker took an actor from worker `value`'s
  // queue; a worker parked (no work); a worker woke worker `value`.
  steal,
  park,
  wake,
  // Channels (troupe/sync/channel.hpp): `what` is the element type,
  // `value` the elements buffered after the step.
  channel_send,
  channel_recv,
  // Sockets (troupe/io): `value` bytes read or written on descriptor `other`.
  socket_read,
  socket_write,
  // Node links (troupe/net): a frame of `value` bytes to or from node `what`.
  frame_send,
  frame_recv,
  // The scheduler kept `actor` on the I/O thread that made it ready (a
  // lent thread) instead of waking a worker.
  lend,
};

// How many kinds there are.
inline constexpr unsigned event_kind_count = 29;

// Bits of filter::kinds, one per event_kind.
constexpr std::uint32_t kind_bit(event_kind kind) noexcept {
  return 1u << static_cast<unsigned>(kind);
}
// Every kind.
inline constexpr std::uint32_t all_kinds = (1u << event_kind_count) - 1;
// What a filter records unless told otherwise: every kind but the
// scheduler's steps (steal, park, wake, lend), which come with every hand-off
// between workers and would cost a ping-pong several events a round trip;
// ask for them with all_kinds.
inline constexpr std::uint32_t default_kinds =
    all_kinds & ~(kind_bit(event_kind::steal) | kind_bit(event_kind::park) | kind_bit(event_kind::wake) |
                  kind_bit(event_kind::lend));

}  // namespace troupe::tracing
