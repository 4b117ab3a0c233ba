// The net layer: nodes (distribution across processes), wire types for
// the messages that cross them, and stationary objects. Link troupe::net.
#pragma once

#include "troupe/net/fields.hpp"
#include "troupe/net/node.hpp"
#include "troupe/net/serialize.hpp"
#include "troupe/net/stationary.hpp"
#include "troupe/net/trace_service.hpp"
#include "troupe/net/wire_type.hpp"
