// timing_wheel: a hierarchical timing wheel (Varghese & Lauck), the data
// structure only: no clock, no thread, no locking. timer_service drives it
// from real time; a deterministic test scheduler can drive it from a
// virtual clock.
//
// Layout. `levels` wheels of 64 slots. A slot of level L spans 64^L ticks.
// An entry due at tick d, with delta = d - now, lives at the lowest level L
// with delta < 64^(L+1), in slot (d >> 6L) % 64. Entries beyond the top
// level's span wait in the top level and are re-filed when it cascades.
//
// Invariants.
//   1. Every linked entry with deadline <= now has been returned by advance.
//   2. When the clock reaches a multiple of 64^L, the level-L slot that now
//      begins is cascaded (re-inserted relative to the new now) before the
//      level-0 slot of that tick expires, highest level first.
// Costs: insert and remove O(1); advance O(ticks stepped + expired).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace troupe::detail {

struct wheel_node {
  wheel_node* prev = nullptr;
  wheel_node* next = nullptr;
  std::uint64_t deadline = 0;  // in ticks
  bool linked = false;
  std::uint8_t level = 0;  // where it is linked, for O(1) removal
  std::uint8_t slot = 0;
};

class timing_wheel {
 public:
  static constexpr unsigned levels = 5;
  static constexpr unsigned slot_bits = 6;
  static constexpr unsigned slots = 1u << slot_bits;

  explicit timing_wheel(std::uint64_t now = 0) noexcept : now_(now) {}

  std::uint64_t now() const noexcept { return now_; }
  std::size_t size() const noexcept { return size_; }

  // A deadline at or before now expires on the next advance.
  void insert(wheel_node* node) noexcept;
  void remove(wheel_node* node) noexcept;
  // Moves the clock to `to` (never backwards) and appends every entry that
  // fell due to `expired`, in deadline order per tick.
  void advance(std::uint64_t to, std::vector<wheel_node*>& expired);
  // The earliest tick at which advance has work to do (an expiry or a
  // cascade); nullopt when empty.
  std::optional<std::uint64_t> next_event() const noexcept;
  // Unlinks every entry and appends it to `out` (for shutdown).
  void drain(std::vector<wheel_node*>& out);

 private:
  struct slot_list {  // FIFO: entries due at the same tick fire in insertion order
    wheel_node* head = nullptr;
    wheel_node* tail = nullptr;
  };
  void link(unsigned level, unsigned slot, wheel_node* node) noexcept;
  void place(wheel_node* node, bool cascading) noexcept;
  void cascade(unsigned level, unsigned slot) noexcept;

  std::uint64_t now_;
  std::size_t size_ = 0;
  std::array<std::array<slot_list, slots>, levels> wheel_{};
  std::array<std::uint64_t, levels> occupied_{};  // bit s: slot s non-empty
};

}  // namespace troupe::detail
