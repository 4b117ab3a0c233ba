// The sync layer: channels and select (Go), monitors with condition
// variables (Mesa), priority-inheritance mutexes and lock ordering.
#pragma once

#include "troupe/sync/channel.hpp"
#include "troupe/sync/lock_order.hpp"
#include "troupe/sync/monitor.hpp"
#include "troupe/sync/pi_mutex.hpp"
#include "troupe/sync/select.hpp"
