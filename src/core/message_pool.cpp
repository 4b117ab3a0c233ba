// message_pool: recycles message envelopes between threads in batches.
//
// Problem. A message is allocated by its sender's thread and freed by its
// receiver's, so with malloc every message takes the allocator's
// cross-thread path: a contended atomic on the other thread's arena, per
// message. In fan-in that was a quarter of the time.
//
// Solution. Blocks of 64, 128, 192 and 256 bytes. Each thread keeps a stack
// of free blocks per size; a thread that frees more than it allocates (a
// receiver) hands full batches of `batch_size` blocks to a shared depot,
// and a thread that runs dry (a sender) takes one batch from it. The depot
// is touched once per batch, not per message.
//
// The free blocks are kept in arrays of pointers, not chained through the
// blocks: a block freed on the receiver's core is a cache miss for the
// sender that reuses it, and a chain must take those misses one after the
// other (the next address is inside the missing line), while an array lets
// the allocator fetch a few blocks ahead (`prefetch_distance`). Chained,
// the pop was a quarter of a flooding sender's time.
//
// Invariants.
//   1. A thread's cache is touched only by that thread (thread_local).
//   2. Depot batches hold exactly batch_size blocks; the depot is guarded
//      by its lock and holds at most max_depot_batches per size (the rest
//      goes back to the system).
//   3. A block's size class is a function of the size the compiler passes
//      to the sized operator delete, so it returns to the list it came from.
//   4. A thread's stack holds at most max_local blocks per size: a free
//      that would pass it hands the oldest batch_size to the depot first.
// Under AddressSanitizer the pool is off, so that use-after-free of a
// message is still caught.
#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "spin_lock.hpp"
#include "troupe/core/message.hpp"

namespace troupe::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool pool_enabled = false;
#else
constexpr bool pool_enabled = true;
#endif

constexpr std::size_t granule = 64;
constexpr std::size_t size_classes = 4;
constexpr std::size_t batch_size = 64;
constexpr std::size_t max_local = 2 * batch_size;
constexpr std::size_t max_depot_batches = 256;
constexpr std::size_t prefetch_distance = 4;

using batch = std::array<void*, batch_size>;

struct depot {
  spin_lock lock;  // held for a vector push or pop; a std::mutex went to the kernel
  std::vector<std::unique_ptr<batch>> batches;
  // A hint, read without the lock, so that a thread finding the depot empty
  // does not take the lock for every allocation. ordering: relaxed; the
  // lock orders the batches themselves.
  std::atomic<std::size_t> available{0};
};

depot& depot_for(std::size_t size_class) {
  // Never destroyed: a detached actor's thread may return its cache after
  // main has returned. The blocks stay reachable from here (no leak).
  static depot* const depots = new depot[size_classes];
  return depots[size_class];
}

void release_blocks(void* const* blocks, std::size_t count, std::size_t size_class) noexcept {
  for (std::size_t i = 0; i < count; ++i) ::operator delete(blocks[i], (size_class + 1) * granule);
}

// One thread's free blocks of one size, newest on top.
struct free_stack {
  std::array<void*, max_local> blocks;
  std::size_t count = 0;

  // Hands the oldest batch_size blocks to the depot (or to the system if the
  // depot is full or no batch can be had), keeping the newest: they are the
  // ones still in this core's cache.
  void give_batch(std::size_t size_class) noexcept {
    depot& d = depot_for(size_class);
    std::unique_ptr<batch> full;
    try {
      full = std::make_unique<batch>();
    } catch (const std::bad_alloc&) {
    }
    bool kept = false;
    if (full) {
      std::copy_n(blocks.begin(), batch_size, full->begin());
      std::lock_guard hold(d.lock);
      if (d.batches.size() < max_depot_batches) {
        try {
          d.batches.push_back(std::move(full));
          d.available.store(d.batches.size(), std::memory_order_relaxed);
          kept = true;
        } catch (const std::bad_alloc&) {
        }
      }
    }
    if (!kept) release_blocks(blocks.data(), batch_size, size_class);
    std::copy(blocks.begin() + batch_size, blocks.begin() + count, blocks.begin());
    count -= batch_size;
  }

  // Refills an empty stack with one batch from the depot, if it has one.
  void take_batch(std::size_t size_class) noexcept {
    depot& d = depot_for(size_class);
    if (d.available.load(std::memory_order_relaxed) == 0) return;
    std::unique_ptr<batch> got;
    {
      std::lock_guard hold(d.lock);
      if (d.batches.empty()) return;
      got = std::move(d.batches.back());
      d.batches.pop_back();
      d.available.store(d.batches.size(), std::memory_order_relaxed);
    }
    std::copy(got->begin(), got->end(), blocks.begin());
    count = batch_size;
  }
};

struct thread_cache {
  free_stack stacks[size_classes];
  ~thread_cache() {
    for (std::size_t c = 0; c < size_classes; ++c) {
      while (stacks[c].count >= batch_size) stacks[c].give_batch(c);
      release_blocks(stacks[c].blocks.data(), stacks[c].count, c);
      stacks[c].count = 0;
    }
  }
};

thread_local thread_cache cache;

std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule - 1; }

}  // namespace

void* allocate_message(std::size_t size) {
  const std::size_t c = class_of(size);
  if (!pool_enabled || c >= size_classes) return ::operator new(size);
  free_stack& stack = cache.stacks[c];
  if (stack.count == 0) stack.take_batch(c);
  if (stack.count == 0) return ::operator new((c + 1) * granule);
  void* b = stack.blocks[--stack.count];
  // Blocks freed on another core: start moving a later one's line here
  // now, so that it is present when that allocation comes (the sender
  // writes the whole envelope).
  if (stack.count >= prefetch_distance) __builtin_prefetch(stack.blocks[stack.count - prefetch_distance], 1);
  return b;
}

void free_message_memory(void* memory, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (!pool_enabled || c >= size_classes) {
    ::operator delete(memory, size);
    return;
  }
  free_stack& stack = cache.stacks[c];
  if (stack.count == max_local) stack.give_batch(c);
  stack.blocks[stack.count++] = memory;
}

}  // namespace troupe::detail
