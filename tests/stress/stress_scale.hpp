// How big a stress test runs: full size in release builds, scaled down under
// ThreadSanitizer or AddressSanitizer (5-20x slower); TROUPE_STRESS_SCALE
// overrides both.
#pragma once

#include <cstdlib>

namespace troupe::stress {

inline double stress_scale() {
  if (const char* env = std::getenv("TROUPE_STRESS_SCALE")) return std::atof(env);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  return 0.3;
#else
  return 1.0;
#endif
}

inline long scaled(long full, long minimum = 1) {
  long n = static_cast<long>(full * stress_scale());
  return n < minimum ? minimum : n;
}

}  // namespace troupe::stress
