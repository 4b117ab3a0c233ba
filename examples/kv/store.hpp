// kv::store: one shard's keys and the commands that touch one shard.
// Not thread-safe: each shard actor owns one.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "glob.hpp"
#include "troupe/io/codecs/resp.hpp"

namespace kv {

using clock = std::chrono::steady_clock;
using troupe::io::resp::value;

// The refusal of an MGET or KEYS whose reply would pass `limit` bytes.
value reply_too_large(std::size_t limit);

// A command's arguments, from either form the router has: views into a
// burst's bytes (the pipelined fast path: nothing copied) or strings.
class command_args {
 public:
  command_args(const std::vector<std::string>& strings) noexcept : strings_(strings.data()), size_(strings.size()) {}
  command_args(std::span<const std::string_view> views) noexcept : views_(views.data()), size_(views.size()) {}
  std::string_view operator[](std::size_t i) const { return strings_ ? std::string_view(strings_[i]) : views_[i]; }
  std::size_t size() const noexcept { return size_; }

 private:
  const std::string* strings_ = nullptr;
  const std::string_view* views_ = nullptr;
  std::size_t size_ = 0;
};

// One KEYS in progress: the store answers it in slices (store::scan_keys),
// so that a scan over millions of keys does not hold the shard's other
// clients (the shard actor runs one slice per turn).
struct key_scan {
  // Requires !store::refuse_pattern(pattern).
  explicit key_scan(std::string_view pattern) : pattern(pattern), cost_per_byte(1 + pattern.size() / 64) {}
  glob pattern;                 // compiled once: linear in each key
  std::size_t cost_per_byte;    // matching a key byte, in scan_keys' units
  std::vector<value> found;     // the matching keys so far
  std::size_t bytes = 0;        // their bytes (the reply limit)
  std::size_t next_bucket = 0;  // the cursor: every bucket before it is done
  std::size_t buckets = 0;      // the table's bucket count when it began
  bool registered = false;      // begin_scan ran (end_scan undoes it)
};

// What a shard may hold and answer (see kv::limits in server.hpp).
struct store_limits {
  std::size_t max_bytes = 0;        // keys and values, with a per-key overhead; 0: no limit
  std::size_t max_reply_bytes = 0;  // one MGET's or KEYS's reply; 0: no limit
};

class store {
 public:
  explicit store(store_limits limits = {}) : limits_(limits) {}

  // Redis's replies at the limits.
  static constexpr std::string_view oom_error = "OOM command not allowed when used memory > 'maxmemory'.";
  static constexpr std::string_view out_of_memory = "OOM out of memory: the command was not run";

  // Runs a command whose keys all live in this shard. args[0] is the
  // command name in upper case. Arity has been checked by the router.
  value execute(command_args args, clock::time_point now);
  // The same, its reply appended to `out` in RESP; GET and a plain SET
  // (the pipelined hot path) write their reply without making a value.
  void execute(command_args args, clock::time_point now, std::string& out);

  // KEYS in slices. refuse_pattern is the error reply for a pattern a
  // key_scan cannot take (none: it can); begin_scan registers the scan;
  // each scan_keys does about `budget` units of work (a bucket, a key
  // byte) and returns true when the scan is done, its reply in
  // `scan.found` or an error in `refusal`; end_scan must follow every
  // begin_scan.
  //
  // Invariant while a scan is registered: the table never rehashes (its
  // maximum load factor is raised until the last scan ends), so a key
  // stays in its bucket and the bucket cursor neither skips nor repeats a
  // key present for the whole scan. Keys added or removed meanwhile may be
  // in the reply or not, as with Redis's SCAN.
  static std::optional<value> refuse_pattern(std::string_view pattern);
  void begin_scan(key_scan& scan);
  bool scan_keys(key_scan& scan, clock::time_point now, std::size_t budget, std::optional<value>& refusal);
  void end_scan(key_scan& scan) noexcept;
  // Forgets scans begun by a shard that crashed (its messages are gone).
  void abandon_scans() noexcept;

  // Drops every expired key (run now and then: reads already skip them).
  void drop_expired(clock::time_point now);
  std::size_t size() const noexcept { return data_.size(); }
  // What max_bytes counts: every key and value, plus `entry_overhead` each.
  std::size_t used_bytes() const noexcept { return used_; }
  static constexpr std::size_t entry_overhead = 64;

 private:
  struct entry {
    std::string data;
    clock::time_point expires{};  // epoch: never
  };
  // Keys are looked up by view (no string made for a GET).
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>{}(key); }
  };
  entry* find(std::string_view key, clock::time_point now);
  void erase(std::string_view key);
  // Every change to data_ goes through these three, which keep used_.
  void insert(std::string_view key, std::string data, clock::time_point expires);
  void assign(entry& e, std::string data);
  void remove(std::unordered_map<std::string, entry, key_hash, std::equal_to<>>::iterator it);
  // A command that may grow the store, refused past max_bytes (Redis's
  // denyoom commands).
  bool over_memory() const noexcept { return limits_.max_bytes != 0 && used_ > limits_.max_bytes; }
  value set(command_args args, clock::time_point now);
  value mset(command_args args);
  value incr_by(std::string_view key, std::int64_t by, clock::time_point now);

  std::unordered_map<std::string, entry, key_hash, std::equal_to<>> data_;
  store_limits limits_;
  std::size_t used_ = 0;
  std::size_t scans_ = 0;  // begun and not ended
};

}  // namespace kv
