// What every troupe_compare program prints (run.py's contract): one JSON
// line per metric, or a failed self-check on stderr and exit status 1.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
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

[[noreturn]] inline void fail(const char* bench, const std::string& why) {
  std::fprintf(stderr, "troupe_compare %s: check failed: %s\n", bench, why.c_str());
  std::exit(1);
}

}  // namespace troupe_bench
