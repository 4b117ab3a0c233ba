// Writing the Prometheus text format (0.0.4). Private to src/observer.
#pragma once

#include <string>

#include "troupe/observer/metrics.hpp"

namespace troupe::observer {

// A sample value as Prometheus reads it: integers without a fraction,
// others in the shortest form that reads back exactly, and +Inf, -Inf, NaN.
std::string number(double v);
// `# HELP name help` and `# TYPE name type`.
void write_head(std::string& out, const std::string& name, const std::string& help, const char* type);
// `name{a="1",b="2"} value`.
void write_sample(std::string& out, const std::string& name, const labels& with, double value);
// A stats_filter's counts as NAME_requests_total, NAME_failures_total{code},
// NAME_in_flight and the summary NAME_latency_seconds.
void write_service(std::string& out, const std::string& name, const troupe::stats& s);

}  // namespace troupe::observer
