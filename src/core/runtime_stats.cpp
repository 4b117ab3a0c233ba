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
  // Handled first: it never passes what was received before it.
  p.handled = cell->handled_count();
  p.received = cell->received_count();
  p.mailbox = p.received >= p.handled ? static_cast<std::size_t>(p.received - p.handled) : 0;
  p.memory_bytes = sizeof(actor_cell) + p.mailbox * min_message_bytes;
  return p;
}

runtime_stats runtime_impl::stats() const {
  runtime_stats s;
  s.actors_alive = live_count();
  std::array<std::uint64_t, runtime_stats::mailbox_bounds.size() + 1> length_counts{};
  constexpr std::size_t largest_kept = 5;
  std::vector<troupe::pid> dropped;
  for (auto& shard : live_) {
    // One shard at a time, so spawns and ends elsewhere go on.
    std::lock_guard lock(shard.mutex);
    s.actors_spawned += shard.added;
    s.ended_normal += shard.ended[0];
    s.ended_shutdown += shard.ended[1];
    s.ended_killed += shard.ended[2];
    s.ended_error += shard.ended[3];
    s.messages_received += shard.gone_received;
    s.messages_handled += shard.gone_handled;
    for (actor_cell* cell = shard.head; cell; cell = cell->live_next) {
      const std::uint64_t out = cell->handled_count();  // first, as in describe_locked
      const std::uint64_t in = cell->received_count();
      s.messages_received += in;
      s.messages_handled += out;
      const std::uint64_t queued = in > out ? in - out : 0;
      s.messages_queued += queued;
      std::size_t b = 0;
      while (b < runtime_stats::mailbox_bounds.size() && queued > runtime_stats::mailbox_bounds[b]) ++b;
      ++length_counts[b];
      if (queued > 0 && (s.largest_mailboxes.size() < largest_kept || queued > s.largest_mailboxes.back().second)) {
        // A pid dropped here is never the cell's last reference (the live
        // set holds one while the cell is in it), but keep it off this
        // lock's path anyway.
        if (s.largest_mailboxes.size() == largest_kept) {
          dropped.push_back(std::move(s.largest_mailboxes.back().first));
          s.largest_mailboxes.pop_back();
        }
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
  for (const dead_cause& slot : dead_by_cause_) {
    const std::uint64_t count = slot.count.load(std::memory_order_acquire);
    if (count == 0) continue;
    const char* text = slot.text.load(std::memory_order_acquire);  // set: its count is
    const std::string cause = text ? text : "other";
    // Two literals with one text (in two files) are one cause.
    auto it = std::find_if(s.dead_letters_by_cause.begin(), s.dead_letters_by_cause.end(),
                           [&cause](const auto& c) { return c.first == cause; });
    if (it != s.dead_letters_by_cause.end())
      it->second += count;
    else
      s.dead_letters_by_cause.emplace_back(cause, count);
  }
  s.long_turns = exec->long_turns();
  s.timers_pending = timers.pending();
  exec->collect(s.workers, s.global_queue);
  if (tracer* t = tracer_.load(std::memory_order_acquire)) {
    const tracing::stats counted = t->counts();
    s.trace_recorded = counted.recorded;
    s.trace_lost = counted.overwritten + counted.rate_limited;
  }
  // Last: a worker's time asleep, read above, is then never more than this.
  s.uptime = std::chrono::nanoseconds(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count() -
                                      started_ns);
  return s;
}

void runtime_impl::for_each_process(const std::function<void(const process_info&)>& visit) const {
  // Names first, once: id -> its names (an actor may have several). By id,
  // not address: a cell freed during the walk and its address reused by a
  // new actor must not take the old one's name.
  std::unordered_map<std::uint64_t, std::string> names;
  {
    std::lock_guard lock(registry_mutex_);
    for (const auto& [name, who] : names_) {
      if (who.is_remote()) continue;  // a remote actor's stand-in: not one of ours
      std::string& text = names[who.id()];
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
      if (auto it = names.find(p.pid.id()); it != names.end()) p.name = it->second;
      visit(p);
    }
  }
}

bool runtime_impl::process(std::uint64_t id, process_info& out) const {
  if (id == 0) return false;
  process_info found;
  {
    // A walk of one shard (a sixteenth of the actors): an admin's lookup,
    // not a hot path.
    const live_shard& shard = live_[id % shard_count];
    std::lock_guard lock(shard.mutex);
    actor_cell* cell = shard.head;
    while (cell && cell->id() != id) cell = cell->live_next;
    if (!cell) return false;
    found = describe_locked(cell);
  }
  found.name = names_of(actor_cell::of(found.pid));
  out = std::move(found);  // the caller's old pid is dropped here, with no lock held
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
