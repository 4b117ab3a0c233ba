#include "timing_wheel.hpp"

namespace troupe::detail {

void timing_wheel::link(unsigned level, unsigned slot, wheel_node* node) noexcept {
  slot_list& list = wheel_[level][slot];
  node->level = static_cast<std::uint8_t>(level);
  node->slot = static_cast<std::uint8_t>(slot);
  node->next = nullptr;
  node->prev = list.tail;
  if (list.tail)
    list.tail->next = node;
  else
    list.head = node;
  list.tail = node;
  occupied_[level] |= std::uint64_t{1} << slot;
}

void timing_wheel::place(wheel_node* node, bool cascading) noexcept {
  // A new entry that is already due waits for the next tick. A cascaded one
  // due right now goes to the current level-0 slot, which advance expires
  // after the cascades of this tick.
  std::uint64_t due = node->deadline;
  if (due < now_ || (due == now_ && !cascading)) due = now_ + 1;
  std::uint64_t delta = due - now_;
  unsigned level = 0;
  while (level + 1 < levels && delta >= (std::uint64_t{1} << (slot_bits * (level + 1)))) ++level;
  std::uint64_t span_end = std::uint64_t{1} << (slot_bits * (level + 1));
  if (delta >= span_end) due = now_ + span_end - 1;  // beyond the top: re-filed on cascade
  link(level, static_cast<unsigned>((due >> (slot_bits * level)) % slots), node);
}

void timing_wheel::insert(wheel_node* node) noexcept {
  node->linked = true;
  ++size_;
  place(node, false);
}

void timing_wheel::remove(wheel_node* node) noexcept {
  if (!node->linked) return;
  slot_list& list = wheel_[node->level][node->slot];
  if (node->prev)
    node->prev->next = node->next;
  else
    list.head = node->next;
  if (node->next)
    node->next->prev = node->prev;
  else
    list.tail = node->prev;
  if (!list.head) occupied_[node->level] &= ~(std::uint64_t{1} << node->slot);
  node->prev = node->next = nullptr;
  node->linked = false;
  --size_;
}

void timing_wheel::cascade(unsigned level, unsigned slot) noexcept {
  wheel_node* node = wheel_[level][slot].head;
  wheel_[level][slot] = {};
  occupied_[level] &= ~(std::uint64_t{1} << slot);
  while (node) {
    wheel_node* next = node->next;
    place(node, true);
    node = next;
  }
}

void timing_wheel::advance(std::uint64_t to, std::vector<wheel_node*>& expired) {
  while (now_ < to) {
    if (size_ == 0) {
      now_ = to;
      return;
    }
    // Skip ticks on which nothing expires or cascades.
    if (auto next = next_event(); next && *next > now_ + 1) {
      if (*next > to) {
        now_ = to;
        return;
      }
      now_ = *next - 1;
    }
    ++now_;
    for (unsigned level = levels - 1; level > 0; --level) {
      std::uint64_t span = std::uint64_t{1} << (slot_bits * level);
      if (now_ % span == 0) cascade(level, static_cast<unsigned>((now_ / span) % slots));
    }
    unsigned slot = static_cast<unsigned>(now_ % slots);
    wheel_node* node = wheel_[0][slot].head;
    wheel_[0][slot] = {};
    occupied_[0] &= ~(std::uint64_t{1} << slot);
    while (node) {
      wheel_node* next = node->next;
      node->prev = node->next = nullptr;
      node->linked = false;
      --size_;
      expired.push_back(node);
      node = next;
    }
  }
}

std::optional<std::uint64_t> timing_wheel::next_event() const noexcept {
  if (size_ == 0) return std::nullopt;
  std::optional<std::uint64_t> best;
  for (unsigned level = 0; level < levels; ++level) {
    if (!occupied_[level]) continue;
    unsigned shift = slot_bits * level;
    // The next unit of this level that begins after now_: level 0 expires
    // at tick granularity, higher levels act when their slot begins.
    std::uint64_t unit = (now_ >> shift) + 1;
    for (unsigned i = 0; i < slots; ++i) {
      std::uint64_t candidate = unit + i;
      if (occupied_[level] & (std::uint64_t{1} << (candidate % slots))) {
        std::uint64_t tick = candidate << shift;
        if (!best || tick < *best) best = tick;
        break;
      }
    }
  }
  return best;
}

void timing_wheel::drain(std::vector<wheel_node*>& out) {
  for (unsigned level = 0; level < levels; ++level) {
    for (auto& list : wheel_[level]) {
      for (wheel_node* node = list.head; node;) {
        wheel_node* next = node->next;
        node->prev = node->next = nullptr;
        node->linked = false;
        out.push_back(node);
        node = next;
      }
      list = {};
    }
    occupied_[level] = 0;
  }
  size_ = 0;
}

}  // namespace troupe::detail
