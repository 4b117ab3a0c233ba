// kv::make_service: a Redis-compatible command service over sharded actors.
//
// Keys are spread over `shards` actors by hash (one per worker by
// default); each owns a kv::store. A command on one key is a message to its
// shard; a command on many keys (DEL, EXISTS, MGET, MSET) is split by shard
// and the answers combined; DBSIZE, FLUSHALL, KEYS and INFO ask every shard.
// The connection's actor runs the service (io::serve), so its replies go
// out in request order even when different shards answer in another.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/async/service.hpp"
#include "troupe/io/codecs/resp.hpp"
#include "troupe/io/tcp.hpp"
#include "troupe/troupe.hpp"

namespace kv {

// A reply, and whether the connection closes after it (QUIT).
struct reply {
  troupe::io::resp::value data;
  bool close = false;
};

// RESP on the wire, kv::reply out. A parse yields every complete command
// in the bytes at hand (up to max_burst): a client's pipelined burst
// reaches the connection's actor as one message, not one per command. A
// malformed command after good ones is reported by the next parse, once
// those have been delivered.
struct codec : troupe::io::resp::codec {
  using input = std::vector<troupe::io::resp::value>;
  using output = reply;
  std::size_t max_burst = 256;

  troupe::io::parsed<input> parse(std::string_view bytes) const;
  void encode(const reply& r, std::string& out) const { troupe::io::resp::codec::encode(r.data, out); }
};

struct server_info {
  std::uint16_t port = 0;
};

// The server: each connection is an actor that gathers a burst of
// pipelined one-key commands into one message per shard, and writes the
// replies in request order with one system call; the other commands go
// through the same routing as make_service's.
troupe::io::listener serve(troupe::io::reactor& io, const troupe::io::endpoint& at, unsigned shards,
                           std::shared_ptr<server_info> info = {});

troupe::service<troupe::io::resp::value, reply> make_service(troupe::runtime& rt, unsigned shards,
                                                             std::shared_ptr<server_info> info = {});

}  // namespace kv
