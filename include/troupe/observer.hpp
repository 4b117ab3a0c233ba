// The observer layer: the program's metrics with the runtime's in the
// Prometheus text format, and the admin server (JSON API, dashboard).
// Link troupe::observer.
#pragma once

#include "troupe/core/runtime_stats.hpp"
#include "troupe/observer/admin.hpp"
#include "troupe/observer/metrics.hpp"
