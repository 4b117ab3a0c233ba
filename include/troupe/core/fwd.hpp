// Forward declarations for the core layer, so that headers which only pass
// handles around need not pull in the definitions.
#pragma once

namespace troupe {
class pid;
class actor;
class behavior;
class runtime;
class scoped_actor;
class error;
class exit_reason;
class timer_handle;
class task;
struct config;
struct spawn_options;
struct runtime_stats;
struct process_info;
template <class T> class result;
namespace detail {
class actor_cell;
class runtime_impl;
struct message;
struct sim_hooks;
}  // namespace detail
}  // namespace troupe
