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

#include "burst.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io/codecs/resp.hpp"
#include "troupe/io/tcp.hpp"
#include "troupe/troupe.hpp"

namespace kv {

struct server_info {
  std::uint16_t port = 0;
};

// What the server lets one client, or all of them, make it hold.
struct limits {
  // Reply bytes due to one connection (computed, not yet handed to its
  // socket): reading pauses past output_soft, and past output_hard the
  // client is closed with a logged reason (Redis's hard
  // client-output-buffer-limit; Redis sets none for normal clients). One
  // MGET's or KEYS's reply over output_hard is refused with an error.
  std::size_t output_soft = 8u << 20;
  std::size_t output_hard = 64u << 20;
  // Keys and values (with 64 bytes each for bookkeeping) in all shards,
  // each shard taking an equal share; past it, commands that add data are
  // refused with Redis's -OOM error (its noeviction policy). 0: no limit.
  std::size_t maxmemory = 0;
};

// The server: each connection is an actor that gathers a run of
// pipelined one-key commands into one message per shard; each shard
// answers with its replies already encoded, and the run's replies go out
// as one reply, in request order, with one system call. The other
// commands go through the same routing as make_service's.
troupe::io::listener serve(troupe::io::reactor& io, const troupe::io::endpoint& at, unsigned shards,
                           std::shared_ptr<server_info> info = {}, limits bounds = {});

troupe::service<troupe::io::resp::value, reply> make_service(troupe::runtime& rt, unsigned shards,
                                                             std::shared_ptr<server_info> info = {},
                                                             limits bounds = {});

}  // namespace kv
