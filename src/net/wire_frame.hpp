// wire_frame: one frame after the handshake, read into its fields (no
// action taken). The connection's actor acts on it (frames.cpp); the fuzz
// target reads frames the same way. Reading throws decode_error on any
// frame that is short, over-long in a field, or of an unknown tag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/core/error.hpp"
#include "troupe/core/exit_reason.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/net/serialize.hpp"

namespace troupe::net::detail {

enum class frame_tag : std::uint8_t {
  // Handshake (see connection.cpp).
  hello = 1,
  challenge,
  proof,
  welcome,
  superseded,  // instead of welcome: this dial lost to another between the same nodes
  // After it.
  send = 16,      // to, sender, request id, type name, value
  reply,          // to, request id, type name, value
  error_reply,    // to, request id, code, detail
  exit,           // to, from, reason, untrappable, from a link
  link,           // to, from
  unlink,         // to, from
  monitor,        // to, from, ref
  demonitor,      // to, from, ref
  down,           // to, ref, who, reason
  whereis,        // query id, name
  whereis_reply,  // query id, pid
  heartbeat,
  peers,          // [(name, host, port)]
  // Since version 4: send and reply of a message inside a request's trace,
  // its trace and span ids (fixed64 each) after the target, then as above.
  // read_frame() gives them as send and reply with trace_id set.
  traced_send = 32,
  traced_reply,
};

struct wire_frame {
  frame_tag tag{};
  std::uint64_t to_id = 0, to_tag = 0;  // the local target (most frames)
  troupe::pid from;                     // sender, linker, monitor's owner, down's who, whereis' answer
  std::uint64_t id = 0;                 // request id, monitor ref or query id
  std::string_view type_name, value;    // send and reply: the value's type and encoding
  errc code = errc::timeout;            // error_reply
  std::string detail;                   // error_reply's detail, whereis' name
  exit_reason reason = exit_reason::normal();  // exit and down
  bool untrappable = false, from_link = false;
  std::string_view rest;                // peers: the list, unread
  std::uint64_t trace_id = 0, span_id = 0;  // send and reply inside a trace
};

// Reads pids through in.pids (the node's pid_codec).
wire_frame read_frame(reader& in);

void encode_reason(writer& out, const exit_reason& r);
exit_reason decode_reason(reader& in);

}  // namespace troupe::net::detail
