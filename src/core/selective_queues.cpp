#include "selective_queues.hpp"

#include <algorithm>

namespace troupe::detail {

void selective_queues::push(message* msg) {
  msg->seq = next_seq_++;
  for (auto& b : buckets_) {
    if (b.key == msg->key) {
      b.fifo.push_back(msg);
      return;
    }
  }
  buckets_.push_back(bucket{msg->key, {}});
  buckets_.back().fifo.push_back(msg);
}

message* selective_queues::take(const type_key* keys, std::size_t count) {
  message_fifo* best = nullptr;
  for (std::size_t i = 0; i < count; ++i) {
    for (auto& b : buckets_) {
      if (b.key != keys[i] || b.fifo.empty()) continue;
      // Serial-number comparison: correct while fewer than 2^31 are queued.
      if (!best || static_cast<std::int32_t>(b.fifo.front()->seq - best->front()->seq) < 0)
        best = &b.fifo;
    }
  }
  return best ? best->pop_front() : nullptr;
}

bool selective_queues::has_any(const type_key* keys, std::size_t count) const {
  for (std::size_t i = 0; i < count; ++i)
    for (auto& b : buckets_)
      if (b.key == keys[i] && !b.fifo.empty()) return true;
  return false;
}

message* selective_queues::take_all() {
  message_fifo all;
  for (auto& b : buckets_)
    while (message* m = b.fifo.pop_front()) all.push_back(m);
  return all.take_all();
}

void selective_queues::append_to(std::vector<message*>& out) const {
  std::size_t first = out.size();
  for (auto& b : buckets_)
    for (message* m = b.fifo.front(); m; m = m->next) out.push_back(m);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
            [](message* a, message* b) { return static_cast<std::int32_t>(a->seq - b->seq) < 0; });
}

}  // namespace troupe::detail
