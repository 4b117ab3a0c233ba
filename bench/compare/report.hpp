// What every troupe_compare program prints (run.py's contract): one JSON
// line per metric, or a failed self-check on stderr and exit status 1.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace troupe_bench {

using bench_clock = std::chrono::steady_clock;

inline double seconds_since(bench_clock::time_point t0) {
  return std::chrono::duration<double>(bench_clock::now() - t0).count();
}

inline void emit(const char* bench, const std::string& metric, double value) {
  std::printf("{\"bench\":\"%s\",\"runtime\":\"troupe\",\"metric\":\"%s\",\"value\":%.3f}\n", bench,
              metric.c_str(), value);
  std::fflush(stdout);
}

// A field of /proc/self/status in KiB ("VmRSS:", "VmHWM:"); 0 if absent.
inline long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::size_t n = std::strlen(field);
  while (std::getline(in, line))
    if (line.compare(0, n, field) == 0) return std::atol(line.c_str() + n + 1);
  return 0;
}

[[noreturn]] inline void fail(const char* bench, const std::string& why) {
  std::fprintf(stderr, "troupe_compare %s: check failed: %s\n", bench, why.c_str());
  std::exit(1);
}

}  // namespace troupe_bench
