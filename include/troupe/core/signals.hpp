// Links, monitors and exit signals: the messages they produce.
//
// Semantics follow Erlang/OTP:
//   self.link(p)      both ways: when one side ends abnormally, an exit
//                     signal ends the other with the same reason (`kill`
//                     arrives as `killed`), unless it traps exits
//   self.trap_exit(true)
//                     exit signals arrive as exit_signal{from, reason}
//                     messages instead (a `kill` sent by send_exit is never
//                     trappable); a normal exit signal is ignored otherwise
//   self.monitor(p)   one way: when p ends, or if it already has, the
//                     watcher gets down{ref, p, reason}, exactly once
//   self.demonitor(ref, flush)
//                     no down after this; flush also drops one already queued
//   self.send_exit(p, reason)
//                     an exit signal from self
//   self.spawn_link(...), self.spawn_monitor(...)
//                     spawn with the link or monitor in place before the
//                     child runs: it cannot die unobserved
// A link or monitor to an actor that is already gone answers at once with
// the reason `noproc`. down and exit_signal travel in the system lane (a
// bounded mailbox never drops them) and are then handled like any message.
#pragma once

#include <cstdint>

#include "troupe/core/exit_reason.hpp"
#include "troupe/core/pid.hpp"

namespace troupe {

// Names one monitor, for demonitor and to match its `down`.
struct monitor_ref {
  // Unique per watching actor; 0: no monitor.
  std::uint64_t id = 0;
  // False for a null ref (no monitor).
  explicit operator bool() const noexcept { return id != 0; }
  // Same monitor.
  friend bool operator==(const monitor_ref&, const monitor_ref&) = default;
};

// What a monitor receives when the actor it watches ends: which monitor,
// who, and why.
struct down {
  // The monitor that fired (what monitor() returned).
  monitor_ref ref;
  // The actor that ended.
  pid who;
  // Why it ended (noproc if it was already gone).
  exit_reason reason;
};

// An exit signal from a linked actor (or send_exit), as an actor that
// traps exits receives it.
struct exit_signal {
  // The actor the signal comes from (null: from outside any actor).
  pid from;
  // Why: the linked actor's exit reason, or what send_exit gave.
  exit_reason reason;
};

// The reason given for links and monitors to actors that no longer exist.
inline exit_reason noproc() { return exit_reason::user("noproc"); }

}  // namespace troupe

namespace troupe::detail {
// The payload of an exit signal (message_kind::exit).
struct signal {
  pid from;
  exit_reason reason;
  bool untrappable = false;  // `kill` from send_exit, or runtime shutdown
};
}  // namespace troupe::detail
