// config and spawn_options: how a runtime and each actor are set up.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "troupe/core/log.hpp"
#include "troupe/core/timer.hpp"

namespace troupe {

// One worker per core unless told otherwise.
unsigned default_worker_count() noexcept;

// How a runtime is set up: its workers, fairness, stall detection, dead
// letters and logging. Every field has a default.
struct config {
  // Worker threads running actors. Must be at least 1.
  unsigned workers = default_worker_count();
  // Fairness bound: at most this many messages per actor per turn before the
  // worker moves on to another ready actor; a turn also ends after a handler
  // once the turn has sent 16 times this many messages. Must be at least 1.
  unsigned max_messages_per_turn = 64;
  // Used by request() when no timeout is given. Must be positive.
  duration default_request_timeout = std::chrono::seconds(5);
  // Granularity of the timing wheel. Must be positive.
  duration timer_tick = std::chrono::milliseconds(1);
  // A worker with nothing to run spins this long (pausing, and yielding
  // its core to other runnable threads) before it sleeps; one worker at a
  // time, and it is the first one woken. Work that arrives within the
  // window (the next message of a request/response exchange) then starts
  // without a futex wake-up. Input from sockets no longer needs it (see
  // lend_io_threads and io::reactor_options::spin); work from timers and
  // plain threads still does. The price is that CPU after each burst of
  // work, taken from whatever else runs on the machine: troupe_kv under
  // redis-benchmark on two shared cores lost 5 to 20% with 50 us. Zero
  // (the default): sleep at once; at most 1 s.
  // Erlang's schedulers busy-wait by default (+sbwt), Go's spin in
  // findrunnable.
  duration park_spin = duration::zero();
  // An I/O thread whose input makes an actor ready while every worker
  // sleeps runs that actor's turn itself (and the turns it makes ready, up
  // to 16) instead of waking a worker: one wake-up per message that reaches
  // an idle runtime instead of two. An I/O thread that is never idle (it
  // has run 64 such turns since it last waited for input) hands the next
  // ones to the workers instead while there are fewer I/O threads than
  // cores, so under load it does not do all the work on one core while
  // the workers sleep and the other cores idle. A turn that computes for long then
  // delays the other sockets of that I/O thread, as a long handler delays
  // the other actors of its worker; actors must not block in any case.
  // Off: the I/O threads only ever hand work to the workers.
  bool lend_io_threads = true;
  // A turn (one actor handling messages) that has run longer than this is
  // stalled: handlers are never interrupted, so the runtime works around
  // it. The actors queued on the stalled worker are taken by another one,
  // a spare worker thread if every worker is busy (Go's sysmon hands off
  // the same way), and an I/O thread that lent itself to the stalled turn
  // has its sockets served by a stand-in thread meanwhile. So a long
  // handler delays its own actor only: no socket, heartbeat, timer or
  // other actor waits on it for much longer than this. Checked by one
  // monitor thread per runtime, which sleeps while the runtime is idle.
  // Zero: no monitor (a long handler then holds up what its thread holds).
  duration stall_threshold = std::chrono::milliseconds(5);
  // Spare workers the monitor may add while turns are stalled (one per
  // stalled turn at most); each retires as soon as it finds nothing to
  // run. 0: twice `workers`, at least 4 (senders paced by a flooded
  // receiver stall too, and the receiver must still get a thread).
  unsigned max_spare_workers = 0;
  // A turn that runs longer than this is logged (a warning naming the
  // actor and how long it ran) and counted (runtime::long_turn_count()).
  // Needs the monitor (stall_threshold > 0). Zero: never reported.
  duration long_turn_warning = std::chrono::milliseconds(100);
  // Log a warning for each message that no handler takes.
  bool warn_unhandled = true;
  // How many recent dead letters are kept for inspection.
  std::size_t dead_letter_history = 64;
  // Records under this level are dropped (runtime::set_log_level changes
  // it per component while running).
  troupe::log_level log_level = troupe::log_level::info;
  // Where records go (see log.hpp); one line each on stderr when empty.
  troupe::log_sink log_sink{};
};

// What a bounded mailbox does with a user message when it is full. System
// messages (replies, timeouts, exits) are never subject to the bound.
enum class overflow_policy {
  reject,       // send() returns send_status::mailbox_full; requests fail
  drop_newest,  // the new message goes to dead letters, counted, with its sender
};

// How one actor is spawned: its mailbox bound, its thread, its name.
// Every field has a default.
struct spawn_options {
  // 0: unbounded. Otherwise the most user messages the mailbox holds; under
  // concurrent senders the bound may be passed by at most one message per
  // sender racing on the last free place.
  std::size_t mailbox_limit = 0;
  // What a full mailbox does with a new user message (mailbox_limit > 0).
  overflow_policy on_full = overflow_policy::reject;
  // Run the actor on a thread of its own, for handlers that block (file
  // I/O, a blocking C library). Workers never run it.
  bool detached = false;
  // When not empty, register the actor under this name.
  std::string name{};
};

}  // namespace troupe
