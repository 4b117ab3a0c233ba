// trace_probe: how the layers above core (sync's channels, io's sockets,
// net's node links, fault's supervisors) record events into a trace
// (troupe/core/trace.hpp) without knowing the tracer. An event goes to the
// current actor's runtime, or, on a thread outside any actor, to the
// runtime given (a reactor's), else to the runtime that started tracing
// last. Costs one relaxed load and a branch while no runtime records.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "troupe/core/trace_kind.hpp"

namespace troupe {
class runtime;
}

namespace troupe::detail {

// Runtimes that record (any): the probes' fast check.
extern std::atomic<int> recording_runtimes;
inline bool probes_on() noexcept { return recording_runtimes.load(std::memory_order_relaxed) != 0; }

// Records `kind` with `what` (a string that outlives the trace: a literal,
// or a type's name), `other` and `value`. `rt`: where to record outside an
// actor (null: the runtime that started tracing last).
void trace_probe(tracing::event_kind kind, const char* what, std::uint64_t other, std::int64_t value,
                 runtime* rt = nullptr) noexcept;
// The same with a `what` of any lifetime (a node's name, a child's id):
// interned, as exit reasons are (at most 4,096 distinct texts a trace).
void trace_probe_text(tracing::event_kind kind, std::string_view what, std::uint64_t other, std::int64_t value,
                      runtime* rt = nullptr) noexcept;

}  // namespace troupe::detail
