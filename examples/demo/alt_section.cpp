// Demo section 9: the main loop of a Plan 9 thread-library program.
//
// Two procs (plain threads here) feed one alt:
//
//   input proc   types a line, one key at a time, on `keys` (unbuffered)
//   clock proc   sends a tick every 20 ms on `ticks`
//
// The main loop is an alt over both channels (troupe::select with two
// on_recv cases) with an on_timeout case as a guard, so a silent world
// cannot stall it. After about 200 ms the loop stops and closes both
// channels: each proc sees its next send refused (errc::closed) and ends.
// Blocking channel calls are for plain threads; an actor would co_await
// async_select instead. The runtime is not needed here.
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "troupe/sync/channel.hpp"
#include "troupe/sync/select.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

void alt_section(troupe::runtime& rt) {
  (void)rt;
  troupe::channel<char> keys;    // unbuffered: a key is taken when typed
  troupe::channel<int> ticks(1);

  std::thread input_proc([keys]() mutable {
    for (char key : std::string_view("hello, alt")) {
      std::this_thread::sleep_for(12ms);
      if (!keys.send(key)) return;  // closed: the main loop is done
    }
  });
  std::thread clock_proc([ticks]() mutable {
    for (int n = 1;; ++n) {
      std::this_thread::sleep_for(20ms);
      if (!ticks.send(n)) return;
    }
  });

  std::string typed;
  int tick_count = 0;
  int guards = 0;
  const auto stop_at = std::chrono::steady_clock::now() + 200ms;
  while (std::chrono::steady_clock::now() < stop_at) {
    troupe::select(
        troupe::on_recv(keys,
                        [&](std::optional<char> key) {
                          if (key) typed += *key;
                        }),
        troupe::on_recv(ticks,
                        [&](std::optional<int> n) {
                          if (!n) return;
                          ++tick_count;
                          if (tick_count % 4 == 0)
                            std::printf("   tick %d: typed so far \"%s\"\n", *n, typed.c_str());
                        }),
        troupe::on_timeout(50ms, [&] { ++guards; }));
  }
  keys.close();
  ticks.close();
  input_proc.join();
  clock_proc.join();
  std::printf("   alt loop done: %d ticks, typed \"%s\" (%zu keys), %d guard timeouts; procs ended\n",
              tick_count, typed.c_str(), typed.size(), guards);
}
