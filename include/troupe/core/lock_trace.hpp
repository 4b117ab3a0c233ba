// lock_trace: what troupe's mutexes (pi_mutex, named_mutex, monitor<T>) tell
// tracing (troupe/core/trace.hpp): a contended lock's wait (with the
// holder), each acquire and each release, with the thread's scheduling
// priority, so a recorded trace shows lock waits and a temporal rule can
// state the Pathfinder property. Recorded in the current actor's runtime,
// or, on a thread outside any actor, in the runtime that started tracing
// last. Costs one relaxed load and a branch per lock and unlock while no
// runtime records.
#pragma once

#include <atomic>
#include <cstdint>

#include "troupe/core/trace_probe.hpp"

namespace troupe::detail {

inline bool lock_tracing_on() noexcept { return probes_on(); }

enum class lock_step : std::uint8_t { wait, acquire, release };

// Records one step on mutex `name`; `holder` is the mutex's record of the
// thread holding it (an OS thread id; 0: free), which this keeps: set on
// acquire, cleared on release, reported on wait.
void trace_lock(lock_step step, const char* name, std::atomic<std::uint64_t>& holder) noexcept;

}  // namespace troupe::detail
