// runtime::stats and the process table: read on demand, so that the hot
// paths count nothing they did not count already (runtime_stats.hpp).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <unordered_map>

#include "actor_cell.hpp"
#include "runtime_impl.hpp"
#include "tracer.hpp"
#include "troupe/core/runtime_stats.hpp"

namespace troupe::detail {
namespace {

const char* kind_name(actor_cell::kind k) noexcept {
  switch (k) {
    case actor_cell::kind::event: return "actor";
    case actor_cell::kind::coroutine: return "coroutine";
    case actor_cell::kind::scoped: return "scoped";
    case actor_cell::kind::proxy: return "proxy";
  }
  return "actor";
}

// The smallest a queued message can be (an envelope with an int payload):
// the memory estimate's unit.
constexpr std::size_t min_message_bytes = 64;

}  // namespace

process_info runtime_impl::describe_locked(actor_cell* cell) {
  process_info p;
  p.pid = troupe::pid(cell);  // the live set holds a reference: safe to take another
  p.kind = kind_name(cell->cell_kind());
  p.status = cell->idle() ? "waiting" : "runnable";
  p.detached = cell->detached;
  p.received = cell->received_count();
  p.handled = cell->handled_count();
  p.mailbox = p.received >= p.handled ? static_cast<std::size_t>(p.received - p.handled) : 0;
  p.memory_bytes = sizeof(actor_cell) + p.mailbox * min_message_bytes;
  return p;
}

runtime_stats runtime_impl::stats() const {
  runtime_stats s;
  const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now().time_since_epoch())
                               .count();
  s.uptime = std::chrono::nanoseconds(now - started_ns);
  // Ids are handed out one per cell made (actors, scoped actors, proxies).
  s.actors_spawned = next_id_.load(std::memory_order_relaxed) - 1;
  s.actors_alive = live_count();
  std::array<std::uint64_t, runtime_stats::mailbox_bounds.size() + 1> length_counts{};
  constexpr std::size_t largest_kept = 5;
  for (auto& shard : live_) {
    // One shard at a time, so spawns and ends elsewhere go on.
    std::lock_guard lock(shard.mutex);
    s.ended_normal += shard.ended[0];
    s.ended_shutdown += shard.ended[1];
    s.ended_killed += shard.ended[2];
    s.ended_error += shard.ended[3];
    s.messages_received += shard.gone_received;
    s.messages_handled += shard.gone_handled;
    for (actor_cell* cell = shard.head; cell; cell = cell->live_next) {
      const std::uint64_t in = cell->received_count();
      const std::uint64_t out = cell->handled_count();
      s.messages_received += in;
      s.messages_handled += out;
      const std::uint64_t queued = in > out ? in - out : 0;
      s.messages_queued += queued;
      std::size_t b = 0;
      while (b < runtime_stats::mailbox_bounds.size() && queued > runtime_stats::mailbox_bounds[b]) ++b;
      ++length_counts[b];
      if (queued > 0 && (s.largest_mailboxes.size() < largest_kept || queued > s.largest_mailboxes.back().second)) {
        if (s.largest_mailboxes.size() == largest_kept) s.largest_mailboxes.pop_back();
        auto at = std::find_if(s.largest_mailboxes.begin(), s.largest_mailboxes.end(),
                               [queued](const auto& e) { return e.second < queued; });
        s.largest_mailboxes.emplace(at, troupe::pid(cell), static_cast<std::size_t>(queued));
      }
    }
  }
  for (std::size_t i = 0, sum = 0; i < length_counts.size(); ++i) {
    sum += length_counts[i];
    s.mailbox_lengths[i] = sum;
  }
  s.dead_letters = dead_letter_count();
  {
    std::lock_guard lock(dead_mutex_);
    for (const auto& [cause, count] : dead_by_cause_) {
      // Two literals with one text (in two files) are one cause.
      auto it = std::find_if(s.dead_letters_by_cause.begin(), s.dead_letters_by_cause.end(),
                             [cause = cause](const auto& c) { return c.first == cause; });
      if (it != s.dead_letters_by_cause.end())
        it->second += count;
      else
        s.dead_letters_by_cause.emplace_back(cause, count);
    }
  }
  s.long_turns = exec->long_turns();
  s.timers_pending = timers.pending();
  exec->collect(s.workers, s.global_queue);
  if (tracer* t = tracer_.load(std::memory_order_acquire)) {
    const tracing::stats counted = t->counts();
    s.trace_recorded = counted.recorded;
    s.trace_lost = counted.overwritten + counted.rate_limited;
  }
  return s;
}

void runtime_impl::for_each_process(const std::function<void(const process_info&)>& visit) const {
  // Names first, once: cell -> its names (an actor may have several).
  std::unordered_map<const cell_base*, std::string> names;
  {
    std::lock_guard lock(registry_mutex_);
    for (const auto& [name, who] : names_) {
      std::string& text = names[who.cell()];
      text += (text.empty() ? "" : ", ") + name;
    }
  }
  std::vector<process_info> batch;
  for (auto& shard : live_) {
    batch.clear();
    {
      std::lock_guard lock(shard.mutex);
      for (actor_cell* cell = shard.head; cell; cell = cell->live_next) batch.push_back(describe_locked(cell));
    }
    // Outside the lock: `visit` may take as long as it likes, or spawn.
    for (auto& p : batch) {
      if (auto it = names.find(p.pid.cell()); it != names.end()) p.name = it->second;
      visit(p);
    }
  }
}

bool runtime_impl::process(std::uint64_t id, process_info& out) const {
  if (id == 0) return false;
  {
    const live_shard& shard = live_[id % shard_count];
    std::lock_guard lock(shard.mutex);
    actor_cell* cell = shard.head;
    while (cell && cell->id() != id) cell = cell->live_next;
    if (!cell) return false;
    out = describe_locked(cell);
  }
  out.name = names_of(actor_cell::of(out.pid));
  return true;
}

}  // namespace troupe::detail

namespace troupe {

runtime_stats runtime::stats() const { return impl_->stats(); }

void runtime::for_each_process(const std::function<void(const process_info&)>& visit) const {
  impl_->for_each_process(visit);
}

bool runtime::process(std::uint64_t id, process_info& out) const { return impl_->process(id, out); }

}  // namespace troupe
