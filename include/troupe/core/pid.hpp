// pid: the handle to an actor. Copyable, comparable, hashable and printable
// as <node.id.serial>: node is 0 for an actor of this runtime, and for a
// remote one the number this runtime gave its node (1 for the first node
// it met, and so on; net::node::node_of names it); id is the actor's
// number here (a remote actor's stand-in has one of its own).
//
// A pid keeps the actor's small control block (the "cell") alive, never the
// actor's state: after the actor ends, sends through the pid go to dead
// letters. Copying a pid is one relaxed atomic increment.
#pragma once

#include <atomic>
#include <compare>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <utility>

namespace troupe {
namespace detail {

// Tag: a pid made with it takes over a reference already counted.
struct adopt_reference {};

// The reference-counted header every actor cell starts with. Kept public so
// that pid copies inline to one atomic increment.
class cell_base {
 public:
  cell_base(std::uint64_t id) noexcept : id_(id) {}
  cell_base(const cell_base&) = delete;
  cell_base& operator=(const cell_base&) = delete;
  std::uint64_t id() const noexcept { return id_; }
  // 0 here; for a remote actor's stand-in, its node's number (set once,
  // before the cell is shared).
  std::uint32_t node() const noexcept { return node_; }
  void set_node(std::uint32_t node) noexcept { node_ = node; }

  // ordering: increments need no ordering (the caller already holds a
  // reference); the final decrement is acq_rel so that every use of the
  // cell happens-before its destruction.
  void add_ref(std::uint32_t count = 1) noexcept { refs_.fetch_add(count, std::memory_order_relaxed); }
  void release(std::uint32_t count = 1) noexcept {
    if (refs_.fetch_sub(count, std::memory_order_acq_rel) == count) delete this;
  }
  // References now. Exact only where no other reference can appear
  // meanwhile: a table that holds the one reference, read under the lock
  // that every lookup handing out new ones takes (net's proxy table).
  std::uint32_t use_count() const noexcept { return refs_.load(std::memory_order_acquire); }

 protected:
  virtual ~cell_base() = default;

 private:
  std::atomic<std::uint32_t> refs_{1};
  std::uint32_t node_ = 0;  // in refs_'s padding: the cell does not grow
  const std::uint64_t id_;
};

}  // namespace detail

// The handle to an actor (see the top of this file); null when
// default-constructed.
class pid {
 public:
  pid() noexcept = default;
  // A pid of `cell`, counting one more reference (null for nullptr).
  explicit pid(detail::cell_base* cell) noexcept : cell_(cell) {
    if (cell_) cell_->add_ref();
  }
  // Takes over a reference the caller already counted (the runtime's own).
  pid(detail::cell_base* cell, detail::adopt_reference) noexcept : cell_(cell) {}
  // Another handle to the same actor.
  pid(const pid& other) noexcept : pid(other.cell_) {}
  // Takes `other`'s reference; `other` becomes null.
  pid(pid&& other) noexcept : cell_(other.cell_) { other.cell_ = nullptr; }
  // Now refers to `other`'s actor, dropping the old reference.
  pid& operator=(pid other) noexcept {
    std::swap(cell_, other.cell_);
    return *this;
  }
  ~pid() {
    if (cell_) cell_->release();
  }

  // 0 for an actor of this runtime (or a null pid); else its node's number.
  std::uint32_t node() const noexcept { return cell_ ? cell_->node() : 0; }
  // Whether the actor lives on another node.
  bool is_remote() const noexcept { return node() != 0; }
  // The actor's number in this runtime; 0 for a null pid.
  std::uint64_t id() const noexcept { return cell_ ? cell_->id() : 0; }
  // The third field of <node.id.serial>: always 0.
  std::uint32_t serial() const noexcept { return 0; }
  // False for a null pid (default-constructed or moved from).
  explicit operator bool() const noexcept { return cell_ != nullptr; }

  // Identity is the cell: ids are per runtime, so two runtimes may both have
  // a <0.1.0>, but never the same cell.
  friend bool operator==(const pid& a, const pid& b) noexcept { return a.cell_ == b.cell_; }
  // Orders by id, then by cell: a total order for sorted containers.
  friend std::strong_ordering operator<=>(const pid& a, const pid& b) noexcept {
    if (auto c = a.id() <=> b.id(); c != 0) return c;
    return std::compare_three_way{}(a.cell_, b.cell_);
  }

  // "<0.42.0>"; a null pid prints as "<none>".
  std::string to_string() const;

  // Internal: the control block (null for a null pid); the pid keeps its
  // reference.
  detail::cell_base* cell() const noexcept { return cell_; }
  // Gives up the reference without dropping it (the caller drops it later).
  detail::cell_base* take_cell() noexcept { return std::exchange(cell_, nullptr); }

 private:
  detail::cell_base* cell_ = nullptr;
};

// Prints to_string().
std::ostream& operator<<(std::ostream& out, const pid& p);

}  // namespace troupe

template <>
struct std::hash<troupe::pid> {
  std::size_t operator()(const troupe::pid& p) const noexcept {
    return std::hash<std::uint64_t>{}(p.id());
  }
};
