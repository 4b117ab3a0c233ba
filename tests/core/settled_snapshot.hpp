// settled_snapshot(rt): the trace tests' snapshot once recording has
// settled: a handler's end (and a span it closes) is recorded after its
// reply left, so the client may be back before it is in the ring.
#pragma once

#include <chrono>
#include <thread>
#include <vector>

#include "troupe/core/runtime.hpp"
#include "troupe/core/trace.hpp"

namespace troupe::test_support {

inline std::vector<tracing::event> settled_snapshot(runtime& rt) {
  std::uint64_t before = tracing::counts(rt).recorded;
  for (int i = 0; i < 500; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const std::uint64_t now = tracing::counts(rt).recorded;
    if (now == before) break;
    before = now;
  }
  return tracing::snapshot(rt);
}

}  // namespace troupe::test_support
