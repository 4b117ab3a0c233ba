// The umbrella header: everything a troupe user needs.
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
#include "troupe/core/task.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/fault/supervisor.hpp"
