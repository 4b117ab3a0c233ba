// What the documentation's C++ snippets may use without defining: every
// public umbrella, and the names of the examples they allude to (a db
// worker, a query and its answer). tests/docs/snippets.py compiles each
// snippet after this, a fragment inside a function whose parameters are
// the objects snippets take as given (rt, self, server, ...).
#pragma once

#include <cstdint>
#include <deque>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "troupe/async.hpp"
#include "troupe/io.hpp"
#include "troupe/net.hpp"
#include "troupe/observer.hpp"
#include "troupe/sync.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace docs {
struct query {
  std::string key;
};
struct answer {
  std::string value;
};
struct get {};
struct job {
  int id = 0;
};
struct receipt {
  std::string item;
  int total = 0;
};
struct wake_up {};
struct tick {};
// The stationary object of the nodes section.
struct account {
  std::int64_t balance = 0;
  std::int64_t deposit(std::int64_t amount) { return balance += amount; }
  std::int64_t withdraw(std::int64_t amount) { return balance -= amount; }
};
inline behavior fn(actor&) { return {[](int) {}}; }
inline behavior make_worker(actor&) { return {[](const query& q) { return answer{q.key}; }}; }
inline behavior make_db(actor&) { return {[](const query& q) { return answer{q.key}; }}; }
inline behavior make_cache(actor&) { return {[](const query& q) { return answer{q.key}; }}; }
inline behavior make_web(actor&) { return {[](const query& q) { return answer{q.key}; }}; }
inline behavior make_acceptor(actor&) { return {[](int) {}}; }
inline behavior make_reaper(actor&) { return {[](int) {}}; }
inline const std::string secret = "a-cookie-of-more-than-sixteen-bytes";
}  // namespace docs
using namespace docs;
