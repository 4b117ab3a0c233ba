// kv::store: one shard's keys and the commands that touch one shard.
// Not thread-safe: each shard actor owns one.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "troupe/io/codecs/resp.hpp"

namespace kv {

using clock = std::chrono::steady_clock;
using troupe::io::resp::value;

// Redis's glob: * ? [abc] [^a] [a-z] and \ to escape.
bool glob_match(std::string_view pattern, std::string_view text);

// A command's arguments as strings, from either form the router has: the
// parsed RESP array itself (the fast path: nothing copied) or strings.
class command_args {
 public:
  command_args(const std::vector<std::string>& strings) noexcept : strings_(&strings) {}
  command_args(const std::vector<value>& values) noexcept : values_(&values) {}
  const std::string& operator[](std::size_t i) const { return strings_ ? (*strings_)[i] : (*values_)[i].str; }
  std::size_t size() const noexcept { return strings_ ? strings_->size() : values_->size(); }

 private:
  const std::vector<std::string>* strings_ = nullptr;
  const std::vector<value>* values_ = nullptr;
};

class store {
 public:
  // Runs a command whose keys all live in this shard. args[0] is the
  // command name in upper case. Arity has been checked by the router.
  value execute(command_args args, clock::time_point now);

  // Drops every expired key (run now and then: reads already skip them).
  void drop_expired(clock::time_point now);
  std::size_t size() const noexcept { return data_.size(); }

 private:
  struct entry {
    std::string data;
    clock::time_point expires{};  // epoch: never
  };
  entry* find(const std::string& key, clock::time_point now);
  value set(command_args args, clock::time_point now);
  value incr_by(const std::string& key, std::int64_t by, clock::time_point now);

  std::unordered_map<std::string, entry> data_;
};

}  // namespace kv
