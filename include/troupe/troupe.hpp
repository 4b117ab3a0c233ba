// The core umbrella: actors, behaviors, the runtime, links and monitors,
// timers and supervisors (link troupe::troupe). Each other layer has an
// umbrella of its own, kept apart so a program pays to compile only what
// it uses:
//   troupe/async.hpp    futures, services, filters (retry, timeout, ...)
//   troupe/sync.hpp     channels and select, monitors, pi_mutex
//   troupe/io.hpp       the reactor, socket actors, codecs, servers (troupe::io)
//   troupe/net.hpp      nodes and wire types (troupe::net)
//   troupe/testing/simulation.hpp, explore.hpp   deterministic testing (troupe::testing)
#pragma once

#include "troupe/core/actor.hpp"
#include "troupe/core/behavior.hpp"
#include "troupe/core/config.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/dead_letters.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/exit_reason.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/core/stop_signals.hpp"
#include "troupe/core/task.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/fault/application.hpp"
#include "troupe/fault/pid_slot.hpp"
#include "troupe/fault/supervisor.hpp"
