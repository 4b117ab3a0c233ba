// Linux futex calls on a 32-bit atomic word, without the spinning and
// sched_yield rounds that std::atomic::wait does first (a parked worker's
// wait is long by definition; yielding only costs system calls).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <ctime>

namespace troupe::detail {

inline long futex_call(std::atomic<std::uint32_t>* word, int op, std::uint32_t value,
                       const timespec* timeout) noexcept {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), op, value, timeout, nullptr, 0);
}
// Sleeps while *word == expected (or until a wake-up, a signal, `timeout`).
inline void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                       const timespec* timeout = nullptr) noexcept {
  futex_call(&word, FUTEX_WAIT_PRIVATE, expected, timeout);
}
inline void futex_wake_one(std::atomic<std::uint32_t>& word) noexcept {
  futex_call(&word, FUTEX_WAKE_PRIVATE, 1, nullptr);
}

}  // namespace troupe::detail
