// Two keyed rules beside always and answered_within (trace_check.hpp):
// held_at_most (a condition that must not last) and at_most_within (a
// count in a sliding window). Both keep a bounded state per key and a
// bounded number of keys; neither keeps the stream.
#include <algorithm>
#include <deque>
#include <map>

#include "trace_monitor.hpp"

namespace troupe::tracing {

namespace {

std::string millis(std::int64_t ns) {
  return std::to_string(static_cast<double>(ns) / 1e6) + " ms";
}

// held_at_most: per key, the start event of a condition not yet ended, and
// a deadline index over them (each key appears once in it).
struct held_state final : rule::state {
  event_key key;
  std::int64_t bound_ns;
  std::size_t max_keys;
  using deadline_index = std::multimap<std::int64_t, std::uint64_t>;
  struct open_condition {
    event start;
    deadline_index::iterator deadline;
    bool reported = false;  // past its bound and reported: quiet until it ends
  };
  std::map<std::uint64_t, open_condition> open;
  deadline_index deadlines;
  std::uint64_t dropped_ = 0;
  detail::formula_monitor starts, ends;

  held_state(const formula& s, const formula& e, event_key k, std::int64_t bound, std::size_t max)
      : key(std::move(k)), bound_ns(bound), max_keys(max), starts(s), ends(e) {}

  std::unique_ptr<rule::state> copy() const override {
    auto c = std::make_unique<held_state>(*this);
    c->open.clear();
    c->deadlines.clear();
    c->dropped_ = 0;
    c->starts = starts.fresh();
    c->ends = ends.fresh();
    return c;
  }

  bool expire(std::int64_t now_ns, const event* current, std::vector<violation>& found) {
    bool none = true;
    while (!deadlines.empty() && deadlines.begin()->first < now_ns) {
      auto it = open.find(deadlines.begin()->second);
      violation v;
      v.rule = name;
      v.expected = expected;
      v.trigger = it->second.start;
      if (current) v.at = *current;
      found.push_back(std::move(v));
      none = false;
      deadlines.erase(deadlines.begin());
      // Reported once: the key stays open (a start changes nothing) until
      // an ending event of it.
      it->second.reported = true;
      it->second.deadline = deadlines.end();
    }
    return none;
  }

  bool step(const event& e, std::vector<violation>& found) override {
    const bool started = starts.advance(e);
    const bool ended = ends.advance(e);
    const bool ok = expire(e.time_ns, &e, found);
    const std::uint64_t k = key(e);
    if (ended) {
      if (auto it = open.find(k); it != open.end()) {
        if (!it->second.reported) deadlines.erase(it->second.deadline);
        open.erase(it);
      }
    } else if (started && !open.contains(k)) {
      if (open.size() >= max_keys)  // reported keys wait only for an end that may never come
        std::erase_if(open, [](const auto& kv) { return kv.second.reported; });
      if (open.size() >= max_keys) {
        ++dropped_;
      } else {
        auto deadline = deadlines.emplace(e.time_ns + bound_ns, k);
        try {
          open.emplace(k, open_condition{e, deadline});
        } catch (...) {
          deadlines.erase(deadline);
          throw;
        }
      }
    }
    return ok;
  }

  bool finish(std::int64_t now_ns, std::vector<violation>& found) override {
    return expire(now_ns, nullptr, found);
  }
  std::uint64_t dropped() const override { return dropped_; }
};

// at_most_within: per key, the times of the last n+1 counted events (a
// sliding window; older ones fall out), and whether the burst that broke
// the limit was reported (one burst, one violation).
struct count_state final : rule::state {
  std::size_t limit;
  event_key key;
  std::int64_t bound_ns;
  std::size_t max_keys;
  struct window {
    std::deque<std::int64_t> times;  // the last (at most n+1) counted times within the bound
    bool reported = false;           // this burst was reported
  };
  std::map<std::uint64_t, window> recent;
  std::uint64_t dropped_ = 0;
  detail::formula_monitor counted;

  // n is capped (n+1 times are kept per key).
  count_state(std::size_t n, const formula& c, event_key k, std::int64_t bound, std::size_t max)
      : limit(std::min<std::size_t>(n, 1'000'000)), key(std::move(k)), bound_ns(bound), max_keys(max), counted(c) {}

  std::unique_ptr<rule::state> copy() const override {
    auto c = std::make_unique<count_state>(*this);
    c->recent.clear();
    c->dropped_ = 0;
    c->counted = counted.fresh();
    return c;
  }

  bool step(const event& e, std::vector<violation>& found) override {
    if (!counted.advance(e)) return true;
    const std::uint64_t k = key(e);
    auto it = recent.find(k);
    if (it == recent.end()) {
      if (recent.size() >= max_keys)  // forget the keys whose windows are empty
        std::erase_if(recent, [&](const auto& kv) { return e.time_ns - kv.second.times.back() > bound_ns; });
      if (recent.size() >= max_keys) {
        ++dropped_;
        return true;
      }
      it = recent.emplace(k, window{}).first;
    }
    auto& w = it->second;
    while (!w.times.empty() && e.time_ns - w.times.front() > bound_ns) w.times.pop_front();
    if (w.times.empty()) w.reported = false;  // the window drained: a new burst (n = 0 too)
    w.times.push_back(e.time_ns);
    if (w.times.size() > limit + 1) w.times.pop_front();  // n+1 times tell all
    if (w.times.size() <= limit) {
      w.reported = false;  // back within the limit: a new burst is a new violation
      return true;
    }
    if (w.reported) return true;  // the same burst, already reported
    w.reported = true;
    violation v;
    v.rule = name;
    v.expected = expected;
    v.at = e;
    found.push_back(std::move(v));
    return false;
  }
  std::uint64_t dropped() const override { return dropped_; }
};

}  // namespace

rule held_at_most(std::string name, const formula& starts, const formula& ends, event_key key,
                  std::chrono::nanoseconds d, std::size_t max_keys) {
  auto s = std::make_unique<held_state>(starts, ends, std::move(key), d.count(), max_keys);
  s->name = std::move(name);
  s->expected = "from " + starts.to_string() + " to " + ends.to_string() + " within " + millis(d.count());
  return rule(std::move(s));
}

rule at_most_within(std::string name, std::size_t n, const formula& counted, event_key key,
                    std::chrono::nanoseconds d, std::size_t max_keys) {
  auto s = std::make_unique<count_state>(n, counted, std::move(key), d.count(), max_keys);
  s->name = std::move(name);
  s->expected = "at most " + std::to_string(n) + " " + counted.to_string() + " within " + millis(d.count());
  return rule(std::move(s));
}

}  // namespace troupe::tracing
