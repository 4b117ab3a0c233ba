// The wire-type registry. Registration is rare (start-up) and lookups are
// per message on every thread: lookups read a thread-local cache first and
// take the registry's lock only on a miss. Entries are never removed or
// changed once added, so a cached pointer stays valid.
#include "troupe/net/wire_type.hpp"

#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace troupe::net {
namespace {

struct registry {
  std::mutex mu;
  std::unordered_map<type_key, const wire_type_info*> by_key;
  std::unordered_map<std::string, const wire_type_info*> by_name;
};

void add_builtins(registry& r);

registry& the_registry() {
  static registry* r = [] {
    auto* made = new registry;  // lives for the process: lookups may run during exit
    add_builtins(*made);
    return made;
  }();
  return *r;
}

void add_locked(registry& r, wire_type_info info) {
  auto by_key = r.by_key.find(info.key);
  auto by_name = r.by_name.find(info.name);
  if (by_key != r.by_key.end() || by_name != r.by_name.end()) {
    if (by_key != r.by_key.end() && by_name != r.by_name.end() && by_key->second == by_name->second)
      return;  // the same registration again
    throw std::logic_error("wire type \"" + info.name + "\": the name or the type is already registered " +
                           (by_name != r.by_name.end() ? "for another type" : "under another name"));
  }
  const auto* entry = new wire_type_info(std::move(info));
  r.by_key.emplace(entry->key, entry);
  r.by_name.emplace(entry->name, entry);
}

void add_builtins(registry& r) {
  add_locked(r, wire_type_for<std::string>("string"));
  add_locked(r, wire_type_for<bool>("bool"));
  add_locked(r, wire_type_for<std::int32_t>("i32"));
  add_locked(r, wire_type_for<std::uint32_t>("u32"));
  add_locked(r, wire_type_for<std::int64_t>("i64"));
  add_locked(r, wire_type_for<std::uint64_t>("u64"));
  add_locked(r, wire_type_for<double>("f64"));
  add_locked(r, wire_type_for<troupe::pid>("pid"));
}

thread_local std::unordered_map<type_key, const wire_type_info*> cache_by_key;

}  // namespace

void add_wire_type(wire_type_info info) {
  auto& r = the_registry();
  std::lock_guard lock(r.mu);
  add_locked(r, std::move(info));
}

const wire_type_info* wire_type_of(type_key key) {
  if (auto it = cache_by_key.find(key); it != cache_by_key.end()) return it->second;
  auto& r = the_registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_key.find(key);
  if (it == r.by_key.end()) return nullptr;  // not cached: it may be registered later
  cache_by_key.emplace(key, it->second);
  return it->second;
}

const wire_type_info* wire_type_named(std::string_view name) {
  auto& r = the_registry();
  std::lock_guard lock(r.mu);
  auto it = r.by_name.find(std::string(name));
  return it == r.by_name.end() ? nullptr : it->second;
}

}  // namespace troupe::net
