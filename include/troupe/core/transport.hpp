// transport: how frames travel between named nodes. The distribution layer
// speaks to nodes through this interface only, so the same code runs over
// TCP (the net layer) and over troupe::testing's simulated network, where
// latency, loss, duplication, reordering and partitions are under the
// test's control.
//
// A frame for node N is delivered to the actor attached as N's endpoint, as
// a troupe::frame message. Delivery is best effort: a transport may lose,
// duplicate or reorder frames; what it promises is written on each one.
#pragma once

#include <string>

#include "troupe/core/pid.hpp"

namespace troupe {

// One frame, as the endpoint actor receives it.
struct frame {
  // The sending node's name.
  std::string from;   // the sending node's name
  // The payload, opaque to the transport.
  std::string bytes;  // the payload, opaque to the transport
};

// Moves frames between named nodes (see above): TCP, or simulated.
class transport {
 public:
  virtual ~transport() = default;
  // Frames addressed to `node` go to `endpoint` from now on.
  virtual void attach(const std::string& node, const pid& endpoint) = 0;
  // Frames addressed to `node` are dropped from now on.
  virtual void detach(const std::string& node) = 0;
  // Queues a frame. False when `to` is not attached (the frame is dropped);
  // true does not promise arrival.
  virtual bool send(const std::string& from, const std::string& to, std::string bytes) = 0;
};

}  // namespace troupe
