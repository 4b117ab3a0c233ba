// kv::burst and kv::codec: a client's pipelined commands, parsed flat.
//
// redis-benchmark -P 16 and real pipelining clients send arrays of bulk
// strings back to back. The codec parses every complete command at hand
// into one burst: the bytes are copied once into a buffer the burst shares
// with the shards its commands go to, and each argument is a view into it,
// so a GET costs no allocation of its own. Anything else (an inline
// command, an array holding integers or arrays) is parsed by the generic
// RESP codec into a resp::value and kept beside the flat commands, in
// order; the answer is the same either way, byte for byte, since the flat
// path takes only what the generic parser would parse the same way and
// hands everything else to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/io/codecs/resp.hpp"

namespace kv {

// A reply, and whether the connection closes after it (QUIT). `wire`,
// when not empty, is the reply already encoded (a run of batched commands'
// replies, in order), sent as it is; every RESP reply has bytes, so an
// encoded run is never empty.
struct reply {
  troupe::io::resp::value data;
  bool close = false;
  std::string wire;
};

class burst {
 public:
  // One command: its arguments (flat), or the value the generic parser made.
  struct command {
    std::uint32_t first = 0;  // index of its first argument in args()
    std::uint32_t count = 0;  // 0: an odd one, see value()
    std::uint32_t odd = 0;    // index into the odd values when count is 0
  };

  std::size_t size() const noexcept { return commands_.size(); }
  bool empty() const noexcept { return commands_.empty(); }
  const command& operator[](std::size_t i) const noexcept { return commands_[i]; }
  std::span<const std::string_view> args(const command& c) const noexcept {
    return {args_.data() + c.first, c.count};
  }
  troupe::io::resp::value& odd(const command& c) noexcept { return odd_[c.odd]; }
  // The buffer the arguments point into; shared with whoever keeps views.
  const std::shared_ptr<const std::string>& bytes() const noexcept { return bytes_; }

 private:
  friend struct codec;
  std::shared_ptr<const std::string> bytes_;
  std::vector<std::string_view> args_;
  std::vector<command> commands_;
  std::vector<troupe::io::resp::value> odd_;
};

// RESP on the wire, kv::reply out. A parse yields every complete command
// in the bytes at hand (up to max_burst): a client's pipelined burst
// reaches the connection's actor as one message, not one per command. A
// malformed command after good ones is reported by the next parse, once
// those have been delivered.
struct codec : troupe::io::resp::codec {
  using input = burst;
  using output = reply;
  std::size_t max_burst = 256;

  troupe::io::parsed<burst> parse(std::string_view bytes) const;
  void encode(const reply& r, std::string& out) const;
};

// An array of bulk strings at the start of `in`, the shape every client
// library sends: appends its arguments (views into `in`) to `args` and
// returns the bytes it used. 0 when it is incomplete or not that shape, or
// odd in any way the generic parser might treat differently (a leading
// zero in a length, an empty array): the caller then asks the generic
// parser, which answers for those bytes as it always does.
std::size_t parse_flat_command(std::string_view in, const troupe::io::resp::codec& limits,
                               std::vector<std::string_view>& args);

}  // namespace kv
