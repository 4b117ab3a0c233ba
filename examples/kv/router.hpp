// kv::router: where each command goes. Keys are spread over shard actors
// by hash, each owning a kv::store; a command on one key is a message to
// its shard, a command on many keys is split by shard and the answers
// combined, and DBSIZE, FLUSHALL, KEYS and INFO ask every shard.
//
// The shards run under a one_for_one supervisor. A shard's store belongs
// to the router, not to the actor, so a shard that crashes is restarted
// with its keys, and each start publishes the new pid where shard() reads
// it.
//
// Two ways in: run() takes a command as strings and answers with a future
// (the service path, and every command that is not batched), and the
// shards also take shard_batch messages, a connection's run of one-key
// commands as views into its bursts, answered with one batch_reply whose
// replies are already encoded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "burst.hpp"
#include "troupe/async/future.hpp"
#include "troupe/fault/pid_slot.hpp"
#include "troupe/troupe.hpp"

namespace kv {

struct server_info;
struct limits;
class store;

// Where shard i runs now (troupe::pid_slot): set by each start of the
// shard, read by every batch a connection sends, without a lock (a mutex
// here cost 9% of pipelined SETs).
using shard_slot = troupe::pid_slot;

enum class route_kind { local, one_key, many_keys, every_shard };

struct command_spec {
  int arity;  // Redis's convention: n exactly, -n at least n
  route_kind how;
  bool takes(std::size_t args) const noexcept {
    const int n = static_cast<int>(args);
    return arity > 0 ? n == arity : n >= -arity;
  }
};
// The upper-case name (a string literal) and its spec.
using command_entry = std::pair<const std::string_view, command_spec>;

// One connection's one-key commands for one shard, in request order: each
// command's arguments are `counts[i]` consecutive views in `args`, into the
// bursts `buffers` keeps alive; the first is the upper-case name.
struct shard_batch {
  std::vector<std::shared_ptr<const std::string>> buffers;
  std::vector<std::string_view> args;
  std::vector<std::uint32_t> counts;
  std::uint64_t run = 0;    // the connection's name for the run
  std::uint32_t shard = 0;  // echoed in the reply
  troupe::pid reply_to;
  // The connection's reply bytes due (kv::limits::output_hard): the shard
  // adds what it encodes, and stops early (batch_reply::overflow) rather
  // than take the total past `due_limit`.
  std::shared_ptr<std::atomic<std::size_t>> due;
  std::size_t due_limit = 0;
};
// A shard's answers to a shard_batch, encoded back to back; ends[i] is
// where the i-th reply ends in `wire`.
struct batch_reply {
  std::uint64_t run = 0;
  std::uint32_t shard = 0;
  std::string wire;
  std::vector<std::size_t> ends;
  // The batch stopped before its end: its replies would have taken the
  // connection past its output limit, or memory ran out. The connection
  // closes.
  bool overflow = false;
};

class router {
 public:
  router(troupe::runtime& rt, unsigned shards, std::shared_ptr<server_info> info, const limits& bounds);
  ~router();
  router(const router&) = delete;
  router& operator=(const router&) = delete;

  // The command's entry, by its name in any case; null for an unknown one.
  static const command_entry* find_command(std::string_view name);
  // The same for a parsed value; null unless it is an array whose first
  // element is a string.
  static const command_entry* find_command(const troupe::io::resp::value& cmd);

  // Any parsed value: checked (an array of strings), then run().
  troupe::future<reply> operator()(troupe::io::resp::value cmd);
  // A command as strings, with find_command's entry for args[0] (null:
  // unknown): its reply now, or later from its shard(s). Shard messages go
  // from the calling actor when there is one, so they keep their order
  // with the batches it sent before (FIFO per sender).
  troupe::future<reply> run(std::vector<std::string> args, const command_entry* found);

  std::size_t shard_of(std::string_view key) const noexcept {
    return std::hash<std::string_view>{}(key) % shards_.size();
  }
  std::size_t shard_count() const noexcept { return shards_.size(); }
  // The shard's current pid (a restart changes it).
  troupe::pid shard(std::size_t i) const { return shards_[i]->current(); }
  // The supervisor of the shards.
  const troupe::pid& supervisor() const noexcept { return supervisor_; }

 private:
  troupe::future<reply> to_shard(std::size_t shard, std::vector<std::string> args);
  troupe::future<reply> local(const std::vector<std::string>& args);
  troupe::future<reply> many_keys(std::vector<std::string> args);
  troupe::future<reply> every_shard(std::vector<std::string> args);

  troupe::runtime& rt_;
  std::shared_ptr<server_info> info_;
  std::chrono::steady_clock::time_point started_;
  std::vector<std::shared_ptr<shard_slot>> shards_;
  troupe::pid supervisor_;
  std::size_t max_reply_bytes_;  // one MGET's or KEYS's whole reply (limits::output_hard)
};

}  // namespace kv
