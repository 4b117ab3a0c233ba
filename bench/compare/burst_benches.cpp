// Two benches written the way a new user writes them (bench/compare):
//
//   skynet  node(num, size): size 1 sends num to its parent and ends;
//           otherwise its setup spawns 10 children node(num + i*size/10,
//           size/10), it sums their 10 replies, sends the sum to its
//           parent and ends. Root node(0, 1e6): 1,111,111 actors. Timed
//           from spawning the root (from main) to the root's sum, which
//           must be 0 + 1 + ... + 999,999. Reports ns per actor and peak
//           RSS.
//   burst   4 sender actors, each sending the integers 0..2.5e6-1 to one
//           receiver in one loop of one coroutine (no slicing, no
//           yielding); the receiver counts and sums. Timed from spawning
//           the receiver to its 10,000,000th message; checks count and
//           sum. Reports messages per second and peak RSS.
#include <string>

#include "report.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace troupe_bench {
namespace {

struct total {
  long long sum;
};

behavior skynet_node(actor& self, long long num, long long size, pid parent) {
  if (size == 1) {
    self.send(parent, total{num});
    self.quit();
    return {};
  }
  for (long long i = 0; i < 10; ++i) self.spawn(skynet_node, num + i * (size / 10), size / 10, self.pid());
  return {[&self, parent, replies = 0, sum = 0LL](const total& t) mutable {
    sum += t.sum;
    if (++replies == 10) {
      self.send(parent, total{sum});
      self.quit();
    }
  }};
}

}  // namespace

int skynet(double scale) {
  long long size = 1;
  while (size * 10 <= static_cast<long long>(1'000'000 * scale)) size *= 10;
  long long actors = 0;
  for (long long s = size; s >= 1; s /= 10) actors += size / s;
  runtime rt;
  scoped_actor self(rt);
  auto t0 = bench_clock::now();
  rt.spawn(skynet_node, 0LL, size, self.pid());
  auto r = self.receive<total>(600s);
  double elapsed = seconds_since(t0);
  if (!r || r->sum != size * (size - 1) / 2) fail("skynet", "wrong sum");
  emit("skynet", "ns_per_actor", elapsed * 1e9 / static_cast<double>(actors));
  emit("skynet", "peak_rss_mb", static_cast<double>(status_kib("VmHWM:")) / 1024.0);
  return 0;
}

int burst(double scale) {
  constexpr long senders = 4;
  const long per_sender = static_cast<long>(2'500'000 * scale);
  const long expected = senders * per_sender;
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  auto t0 = bench_clock::now();
  auto receiver = rt.spawn([me, expected](actor& a) -> behavior {
    return {[&a, me, expected, count = 0L, sum = 0LL](long i) mutable {
      sum += i;
      if (++count == expected) {
        a.send(me, total{sum});
        a.quit();
      }
    }};
  });
  for (long s = 0; s < senders; ++s)
    rt.spawn([receiver, per_sender](actor& a) -> task {
      for (long i = 0; i < per_sender; ++i) a.send(receiver, i);
      co_return;
    });
  auto r = self.receive<total>(600s);
  double elapsed = seconds_since(t0);
  if (!r || r->sum != senders * (static_cast<long long>(per_sender) * (per_sender - 1) / 2))
    fail("burst", "the receiver missed messages");
  emit("burst", "msgs_per_sec", static_cast<double>(expected) / elapsed);
  emit("burst", "peak_rss_mb", static_cast<double>(status_kib("VmHWM:")) / 1024.0);
  return 0;
}

}  // namespace troupe_bench
