// selective_queues: a coroutine actor's (or scoped actor's) user messages,
// one FIFO per message type, each stamped with its arrival number. Owner-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mailbox.hpp"

namespace troupe::detail {

// Per-type queues for selective receive: taking the oldest message of k
// types costs O(k), whatever the number of messages of other types.
class selective_queues {
 public:
  void push(message* msg);
  message* take(const type_key* keys, std::size_t count);
  // True if take(keys, count) would return a message.
  bool has_any(const type_key* keys, std::size_t count) const;
  message* take_all();  // every message, for closing the mailbox
  void append_to(std::vector<message*>& out) const;  // in arrival order
  // Removes and frees the first message of type `key` that `match` accepts.
  template <class Match>
  bool remove_first(type_key key, Match match) {
    for (auto& b : buckets_) {
      if (b.key != key) continue;
      message_fifo kept;
      bool removed = false;
      while (message* m = b.fifo.pop_front()) {
        if (!removed && match(m)) {
          removed = true;
          delete m;
        } else {
          kept.push_back(m);
        }
      }
      b.fifo.append(kept);
      return removed;
    }
    return false;
  }
 private:
  struct bucket {
    type_key key;
    message_fifo fifo;
  };
  std::vector<bucket> buckets_;
  std::uint32_t next_seq_ = 0;
};

}  // namespace troupe::detail
