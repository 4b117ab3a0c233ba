// What a running runtime can say about itself: counters for its workers,
// actors, messages and dead letters (runtime::stats), and a description of
// each live actor (runtime::processes, runtime::process). The observer
// layer turns these into Prometheus metrics, its admin API and its
// dashboard; a program may read them directly.
//
// Cost. Nothing here adds work to sending or handling a message: a worker
// counts its steals, parks and time asleep on paths that already wait, its
// turns are the stall monitor's counter, and the messages sent and handled
// are the mailboxes' own counters, summed when read (over the live actors,
// plus what ended actors left in their live-set shard). Reading walks
// every live actor, one shard lock at a time: milliseconds for a million.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "troupe/core/pid.hpp"

namespace troupe {

// One worker thread of the scheduler.
struct worker_stats {
  // Its number; spares (started while a turn stalls) come after the regular ones.
  unsigned index = 0;
  // A spare worker (config::max_spare_workers), not one of config::workers.
  bool spare = false;
  // Turns run (a turn handles up to config::max_messages_per_turn messages).
  std::uint64_t turns = 0;
  // Actors taken from other workers' queues.
  std::uint64_t steals = 0;
  // Times it went to sleep for want of work.
  std::uint64_t parks = 0;
  // Time spent asleep (or spinning before sleeping) since the runtime started.
  std::chrono::nanoseconds asleep{0};
  // Actors waiting in its queues now (an estimate: they move while read).
  std::size_t run_queue = 0;
};

// Counters since the runtime started (gauges say "now").
struct runtime_stats {
  // Since the runtime was made.
  std::chrono::nanoseconds uptime{0};
  // Actors spawned (as actors_alive counts them: scoped actors and remote
  // pids' stand-ins are not).
  std::uint64_t actors_spawned = 0;
  // Actors alive now (a gauge).
  std::size_t actors_alive = 0;
  // Actors ended, by how: normal, shutdown, killed (kill or killed), and
  // error (an exception, or a user reason).
  std::uint64_t ended_normal = 0;
  // See ended_normal.
  std::uint64_t ended_shutdown = 0;
  // See ended_normal.
  std::uint64_t ended_killed = 0;
  // See ended_normal.
  std::uint64_t ended_error = 0;
  // Messages put into mailboxes of this runtime's actors: user messages,
  // and the downs and exits a trapping actor takes as messages (links',
  // monitors' and the runtime's own signals are not counted).
  std::uint64_t messages_received = 0;
  // Messages taken out of a mailbox to be handled.
  std::uint64_t messages_handled = 0;
  // Messages in mailboxes now (a gauge).
  std::uint64_t messages_queued = 0;
  // Live actors by mailbox length now: mailbox_lengths[i] counts those
  // with at most mailbox_bounds[i] messages queued (cumulative; the last
  // entry counts every live actor).
  static constexpr std::array<std::size_t, 7> mailbox_bounds{0, 1, 10, 100, 1000, 10000, 100000};
  // See mailbox_bounds.
  std::array<std::uint64_t, 8> mailbox_lengths{};
  // The live actors with the longest mailboxes (at most 5, longest first;
  // empty mailboxes left out).
  std::vector<std::pair<troupe::pid, std::size_t>> largest_mailboxes;
  // Dead letters counted here (runtime::dead_letter_count).
  std::uint64_t dead_letters = 0;
  // The same by cause ("receiver dead", "mailbox full", "no handler", ...;
  // past 31 causes, the rest count as "other").
  std::vector<std::pair<std::string, std::uint64_t>> dead_letters_by_cause;
  // Turns that ran past config::long_turn_warning.
  std::uint64_t long_turns = 0;
  // Timers set and not yet fired or cancelled (a gauge).
  std::size_t timers_pending = 0;
  // Actors in the scheduler's global queue now (a gauge).
  std::size_t global_queue = 0;
  // Tracing: events recorded into rings, and those lost (overwritten or
  // dropped by the rate limit), since tracing last started.
  std::uint64_t trace_recorded = 0;
  // See trace_recorded.
  std::uint64_t trace_lost = 0;
  // Every worker, regular ones first.
  std::vector<worker_stats> workers;
};

// One live actor, as seen at one moment (it goes on running meanwhile).
struct process_info {
  // The actor.
  troupe::pid pid;
  // Its registered names, comma separated; empty if none.
  std::string name;
  // "actor" (handlers) or "coroutine".
  std::string kind;
  // "waiting" (an empty mailbox, nothing to run) or "runnable" (queued or
  // running now).
  std::string status;
  // A detached actor (its own thread).
  bool detached = false;
  // Messages in its mailbox now.
  std::size_t mailbox = 0;
  // Messages it received and handled since it was spawned.
  std::uint64_t received = 0;
  // See received.
  std::uint64_t handled = 0;
  // A rough estimate of the memory it holds: its control block plus its
  // queued messages at their smallest size, in bytes.
  std::size_t memory_bytes = 0;
};

}  // namespace troupe
