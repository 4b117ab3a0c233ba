// Selective receive and request/reply under a backlog: a coroutine actor
// with N unrelated messages queued answers requests by making a request of
// its own. With per-type queues and replies in the system lane, the time per
// exchange must not grow with N (Erlang needs its reference-marker trick
// for the reply half of this).
#include <benchmark/benchmark.h>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct noise {
  long n;
};
struct ask {};
}  // namespace

static void request_under_backlog(benchmark::State& state) {
  const long backlog = state.range(0);
  constexpr int exchanges = 1000;
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto echo = rt.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto server = rt.spawn([echo](actor& s) -> task {
    for (;;) {
      co_await s.receive<ask>();                       // skips the noise
      auto r = co_await s.request<int>(echo, 1, 10s);  // the reply skips it too
      s.reply(r ? *r : -1);
    }
  });
  for (long i = 0; i < backlog; ++i) self.send(server, noise{i});
  // A driver actor makes the exchanges, so that they stay on the workers.
  auto driver = rt.spawn([server](actor& d) -> task {
    for (;;) {
      co_await d.receive<int>();
      long good = 0;
      for (int i = 0; i < exchanges; ++i) {
        auto r = co_await d.request<int>(server, ask{}, 10s);
        good += r && *r == 2;
      }
      d.reply(good);
    }
  });
  long answered = 0;
  for (auto _ : state) {
    auto good = self.request<long>(driver, 0, 60s);
    if (!good || *good != exchanges) {
      state.SkipWithError("wrong or missing answers");
      break;
    }
    answered += *good;
  }
  if (rt.mailbox_size(server) != static_cast<std::size_t>(backlog))
    state.SkipWithError("the backlog changed");
  state.SetItemsProcessed(answered);  // items/s = exchanges per second
}
BENCHMARK(request_under_backlog)->Arg(0)->Arg(1000)->Arg(100'000)->Arg(1'000'000)->UseRealTime();
