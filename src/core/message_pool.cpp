// message_pool: recycles message envelopes between threads in batches.
//
// Problem. A message is allocated by its sender's thread and freed by its
// receiver's, so with malloc every message takes the allocator's
// cross-thread path: a contended atomic on the other thread's arena, per
// message. In fan-in that was a quarter of the time.
//
// Solution. Blocks of 64, 128, 192 and 256 bytes. Each thread keeps a free
// list per size; a thread that frees more than it allocates (a receiver)
// hands full batches of `batch_size` blocks to a shared depot, and a thread
// that runs dry (a sender) takes one batch from it. The depot is touched
// once per batch, not per message.
//
// Invariants.
//   1. A thread's cache is touched only by that thread (thread_local).
//   2. Depot batches hold exactly batch_size blocks, chained through their
//      first word; the depot is guarded by its mutex and holds at most
//      max_depot_batches per size (the rest goes back to the system).
//   3. A block's size class is a function of the size the compiler passes
//      to the sized operator delete, so it returns to the list it came from.
// Under AddressSanitizer the pool is off, so that use-after-free of a
// message is still caught.
#include <atomic>
#include <cstddef>
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

struct block {
  block* next;
};

struct free_list {
  block* head = nullptr;
  std::size_t count = 0;
};

struct depot {
  spin_lock mutex;  // held for a vector push or pop; a std::mutex went to the kernel
  std::vector<block*> batches;  // each a chain of batch_size blocks
  // A hint, read without the lock, so that a thread finding the depot empty
  // does not take the lock for every allocation. ordering: relaxed; the
  // mutex orders the batches themselves.
  std::atomic<std::size_t> available{0};
};

void release_chain(block* chain, std::size_t size_class) {
  while (chain) {
    block* next = chain->next;
    ::operator delete(chain, (size_class + 1) * granule);
    chain = next;
  }
}

depot& depot_for(std::size_t size_class) {
  // Never destroyed: a detached actor's thread may return its cache after
  // main has returned. The blocks stay reachable from here (no leak).
  static depot* const depots = new depot[size_classes];
  return depots[size_class];
}

// Detaches batch_size blocks from the front of `list`.
block* split_batch(free_list& list) {
  block* first = list.head;
  block* last = first;
  for (std::size_t i = 1; i < batch_size; ++i) last = last->next;
  list.head = last->next;
  list.count -= batch_size;
  last->next = nullptr;
  return first;
}

void give_to_depot(block* batch, std::size_t size_class) {
  depot& d = depot_for(size_class);
  {
    std::lock_guard lock(d.mutex);
    if (d.batches.size() < max_depot_batches) {
      d.batches.push_back(batch);
      d.available.store(d.batches.size(), std::memory_order_relaxed);
      return;
    }
  }
  release_chain(batch, size_class);
}

struct thread_cache {
  free_list lists[size_classes];
  ~thread_cache() {
    for (std::size_t c = 0; c < size_classes; ++c) {
      while (lists[c].count >= batch_size) give_to_depot(split_batch(lists[c]), c);
      release_chain(lists[c].head, c);
      lists[c] = {};
    }
  }
};

thread_local thread_cache cache;

std::size_t class_of(std::size_t size) noexcept { return (size + granule - 1) / granule - 1; }

}  // namespace

void* allocate_message(std::size_t size) {
  const std::size_t c = class_of(size);
  if (!pool_enabled || c >= size_classes) return ::operator new(size);
  free_list& list = cache.lists[c];
  if (!list.head) {
    depot& d = depot_for(c);
    if (d.available.load(std::memory_order_relaxed) != 0) {
      std::lock_guard lock(d.mutex);
      if (!d.batches.empty()) {
        list.head = d.batches.back();
        list.count = batch_size;
        d.batches.pop_back();
        d.available.store(d.batches.size(), std::memory_order_relaxed);
      }
    }
  }
  if (block* b = list.head) {
    list.head = b->next;
    --list.count;
    return b;
  }
  return ::operator new((c + 1) * granule);
}

void free_message_memory(void* memory, std::size_t size) noexcept {
  const std::size_t c = class_of(size);
  if (!pool_enabled || c >= size_classes) {
    ::operator delete(memory, size);
    return;
  }
  free_list& list = cache.lists[c];
  auto* b = static_cast<block*>(memory);
  b->next = list.head;
  list.head = b;
  if (++list.count > max_local) give_to_depot(split_batch(list), c);
}

}  // namespace troupe::detail
