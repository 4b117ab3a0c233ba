// Lock-order checking (include/troupe/sync/lock_order.hpp).
//
// State: each thread's stack of named locks it holds (thread-local, no
// locking), and one graph of observed orders "A before B" with the sites
// of the first observation, guarded by graph_mutex. An acquisition of B
// with A held checks, for each held A without a recorded A -> B edge,
// whether B already reaches A in the graph (a depth-first search); if so
// the pair is reported once, then A -> B is recorded.
#include "troupe/sync/lock_order.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace troupe {

namespace {

#ifdef NDEBUG
std::atomic<bool> checking{false};
#else
std::atomic<bool> checking{true};
#endif

struct held_lock {
  const void* lock;
  std::string name;
  lock_order::site where;
};
thread_local std::vector<held_lock> held;

struct edge_sites {
  lock_order::site first_at;   // where the earlier lock was taken
  lock_order::site second_at;  // where the later one was taken
};

std::mutex graph_mutex;
std::map<std::string, std::map<std::string, edge_sites>> graph;  // from -> to
std::set<std::pair<std::string, std::string>> reported;
std::function<void(const lock_order::inversion&)> reporter;
std::atomic<std::size_t> inversion_count{0};

lock_order::site site_of(const std::source_location& where) {
  return {where.file_name(), static_cast<unsigned>(where.line()), where.function_name()};
}

// A path from `from` to `to` in the graph; the sites of its first edge
// (where `from` was held when the next lock was taken) in *first.
bool reaches(const std::string& from, const std::string& to, const edge_sites** first) {
  struct step {
    const std::string* node;
    const edge_sites* first_edge;
  };
  std::vector<step> stack;
  std::set<std::string> seen;
  auto out = graph.find(from);
  if (out == graph.end()) return false;
  for (auto& [next, sites] : out->second) stack.push_back({&next, &sites});
  while (!stack.empty()) {
    step at = stack.back();
    stack.pop_back();
    if (*at.node == to) {
      *first = at.first_edge;
      return true;
    }
    if (!seen.insert(*at.node).second) continue;
    auto more = graph.find(*at.node);
    if (more == graph.end()) continue;
    for (auto& [next, sites] : more->second) stack.push_back({&next, at.first_edge});
  }
  return false;
}

void report(const lock_order::inversion& inv) {
  inversion_count.fetch_add(1, std::memory_order_relaxed);
  std::function<void(const lock_order::inversion&)> to;
  {
    std::lock_guard lock(graph_mutex);
    to = reporter;
  }
  if (to) {
    to(inv);
    return;
  }
  std::fprintf(stderr, "%s", inv.text.c_str());
}

}  // namespace

std::string lock_order::site::to_string() const {
  return file + ":" + std::to_string(line) + " (" + function + ")";
}

void lock_order::enable(bool on) noexcept { checking.store(on, std::memory_order_relaxed); }
bool lock_order::enabled() noexcept { return checking.load(std::memory_order_relaxed); }

void lock_order::set_reporter(std::function<void(const inversion&)> r) {
  std::lock_guard lock(graph_mutex);
  reporter = std::move(r);
}

std::size_t lock_order::inversions() noexcept { return inversion_count.load(std::memory_order_relaxed); }

void lock_order::reset() {
  std::lock_guard lock(graph_mutex);
  graph.clear();
  reported.clear();
  inversion_count.store(0, std::memory_order_relaxed);
}

bool detail::lock_order_on() noexcept { return checking.load(std::memory_order_relaxed); }

void detail::lock_acquired(const void* lock, const char* name, const std::source_location& where,
                           bool tried) {
  if (!name) return;
  held_lock now{lock, name, site_of(where)};
  if (!held.empty() && !tried) {
    std::vector<lock_order::inversion> found;
    {
      std::lock_guard guard(graph_mutex);
      for (const held_lock& before : held) {
        if (before.name == now.name) continue;  // same class (nesting): not an order
        auto& outs = graph[before.name];
        if (outs.count(now.name)) continue;  // known order
        const edge_sites* reverse = nullptr;
        if (reaches(now.name, before.name, &reverse) &&
            reported.insert({std::min(before.name, now.name), std::max(before.name, now.name)}).second) {
          lock_order::inversion inv;
          inv.first = before.name;
          inv.second = now.name;
          inv.first_taken_at = before.where;
          inv.second_taken_at = now.where;
          if (reverse) {
            inv.earlier_second_at = reverse->first_at;
            inv.earlier_first_at = reverse->second_at;
          }
          inv.text = "troupe lock order: possible deadlock: '" + inv.first + "' then '" + inv.second +
                     "'\n  here:   '" + inv.first + "' taken at " + inv.first_taken_at.to_string() +
                     "\n          '" + inv.second + "' taken at " + inv.second_taken_at.to_string() +
                     "\n  before: '" + inv.second + "' taken at " + inv.earlier_second_at.to_string() +
                     "\n          then (leading to '" + inv.first + "') at " +
                     inv.earlier_first_at.to_string() + "\n";
          found.push_back(std::move(inv));
        }
        outs.emplace(now.name, edge_sites{before.where, now.where});
      }
    }
    for (auto& inv : found) report(inv);
  }
  held.push_back(std::move(now));
}

void detail::lock_released(const void* lock) noexcept {
  if (held.empty()) return;
  // Usually the most recent; any order is allowed.
  for (auto it = held.rbegin(); it != held.rend(); ++it) {
    if (it->lock == lock) {
      held.erase(std::next(it).base());
      return;
    }
  }
}

}  // namespace troupe
