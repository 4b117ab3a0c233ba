// examples/kv's store when memory runs out in the middle of a command:
// every allocation a command makes is failed in turn (this binary replaces
// operator new, so it runs alone), and the store must be left as it was
// before the command or as after it, never in between, with its byte
// count exact.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "store.hpp"

namespace {

// Allocations on this thread left before one fails; -1: none fails.
thread_local long allocations_left = -1;

}  // namespace

void* operator new(std::size_t size) {
  if (allocations_left == 0) throw std::bad_alloc();
  if (allocations_left > 0) --allocations_left;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using kv::store;
using troupe::io::resp::value;

std::map<std::string, std::string> contents(store& s, const std::vector<std::string>& keys) {
  std::map<std::string, std::string> out;
  for (auto& k : keys) {
    std::vector<std::string> get{"GET", k};
    value v = s.execute(kv::command_args(get), kv::clock::now());
    if (v.type != troupe::io::resp::kind::null) out[k] = v.str;
  }
  return out;
}

std::size_t bytes_of(const std::map<std::string, std::string>& m) {
  std::size_t n = 0;
  for (auto& [k, v] : m) n += k.size() + v.size() + store::entry_overhead;
  return n;
}

// An MSET over new and existing keys, with every one of its allocations
// failed in turn: it is -OOM-free only when nothing failed, and otherwise
// the store holds exactly what it held before.
TEST(KvStoreOutOfMemory, AnMsetIsAllOrNothing) {
  const std::vector<std::string> keys = {"old1", "old2", "new1", "new2", "new3"};
  const std::vector<std::string> mset = {"MSET", "new1", std::string(300, 'a'), "old1", std::string(200, 'b'),
                                         "new2", "x", "old2", std::string(100, 'c'), "new3", std::string(50, 'd'),
                                         "new1", "last"};
  bool completed = false;
  for (long fail_at = 0; !completed; ++fail_at) {
    store s;
    for (auto& k : {"old1", "old2"}) {
      std::vector<std::string> set{"SET", k, std::string(40, 'o')};
      ASSERT_EQ(s.execute(kv::command_args(set), kv::clock::now()).str, "OK");
    }
    const auto before = contents(s, keys);
    const std::size_t used_before = s.used_bytes();
    allocations_left = fail_at;
    try {
      const value v = s.execute(kv::command_args(mset), kv::clock::now());
      allocations_left = -1;
      ASSERT_EQ(v.str, "OK");
      completed = true;
    } catch (const std::bad_alloc&) {
      allocations_left = -1;
    }
    const auto after = contents(s, keys);
    if (completed) {
      EXPECT_EQ(after.at("new1"), "last");
      EXPECT_EQ(after.at("old1"), std::string(200, 'b'));
      EXPECT_EQ(after.size(), 5u);
      EXPECT_EQ(s.used_bytes(), bytes_of(after));
    } else {
      ASSERT_EQ(after, before) << "the allocation failed at " << fail_at << " left part of the MSET";
      ASSERT_EQ(s.used_bytes(), used_before) << fail_at;
    }
    ASSERT_LT(fail_at, 10000) << "the MSET never completed";
  }
}

}  // namespace
