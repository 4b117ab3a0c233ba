// The async layer: futures, promises, services and filters.
#pragma once

#include "troupe/async/ask.hpp"
#include "troupe/async/circuit_breaker.hpp"
#include "troupe/async/combinators.hpp"
#include "troupe/async/concurrency_limit.hpp"
#include "troupe/async/executor.hpp"
#include "troupe/async/future.hpp"
#include "troupe/async/load_balancer.hpp"
#include "troupe/async/request_context.hpp"
#include "troupe/async/retry.hpp"
#include "troupe/async/service.hpp"
#include "troupe/async/stats.hpp"
#include "troupe/async/timeout.hpp"
#include "troupe/async/timer_source.hpp"
#include "troupe/async/tracing.hpp"
#include "troupe/async/worker_pool.hpp"
