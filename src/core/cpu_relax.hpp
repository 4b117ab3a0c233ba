// cpu_relax: the spin-wait hint (x86 `pause`, Arm `yield`). In a spin loop
// it keeps the waiting core from flooding the memory system with loads of
// the contended line and avoids the pipeline flush when the line changes,
// so the holder releases sooner and the waiter reacts faster.
#pragma once

namespace troupe::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace troupe::detail
