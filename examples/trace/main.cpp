// troupe_trace: record a small pipeline and write what it did as a trace
// that Perfetto UI opens.
//
//   troupe_trace [trace.json]
//
// A source sends 200 numbers through a doubler to a summer, which marks
// its running total (tracing::mark) and times its work in a span
// (tracing::span); the doubler crashes once, and its crash report (on stderr)
// carries its last traced events, as a flight recorder's would. Open the
// file in https://ui.perfetto.dev (or chrome://tracing): a track per
// thread and per actor, and an arrow from each send to its handling.
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>

#include "troupe/core/trace.hpp"
#include "troupe/troupe.hpp"

namespace {

struct number {
  long value;
};
struct total {
  long sum;
  long count;
};

}  // namespace

int main(int argc, char** argv) {
  const std::string path = argc > 1 ? argv[1] : "trace.json";
  constexpr long count = 200;

  troupe::runtime rt(troupe::config{.workers = 2});
  troupe::tracing::start(rt);  // everything, into 65,536-event rings per thread

  troupe::scoped_actor main_actor(rt);
  auto me = main_actor.pid();
  auto summer = rt.spawn([me, count](troupe::actor& self) -> troupe::behavior {
    return {[&self, me, count, sum = 0L, seen = 0L](number n) mutable {
      troupe::tracing::span work("add");
      sum += n.value;
      troupe::tracing::mark("running total", sum);
      if (++seen == count) self.send(me, total{sum, seen});
    }};
  });
  // The doubler fails on 13 once; its supervisor-less restart is by hand
  // below: what matters here is the crash report's trace tail.
  auto make_doubler = [summer](bool fragile) {
    return [summer, fragile](troupe::actor& self) -> troupe::behavior {
      return {[&self, summer, fragile](number n) {
        if (fragile && n.value == 13) throw std::runtime_error("unlucky number");
        self.send(summer, number{2 * n.value});
      }};
    };
  };
  auto doubler = rt.spawn(make_doubler(true));
  for (long i = 0; i < count; ++i) {
    if (i == 13) {
      // The fragile doubler dies on 13; a sturdy one takes over from there.
      main_actor.send(doubler, number{i});
      while (rt.is_alive(doubler)) std::this_thread::yield();
      doubler = rt.spawn(make_doubler(false));
    }
    main_actor.send(doubler, number{i});
  }
  auto result = main_actor.receive<total>(std::chrono::seconds(10));
  troupe::tracing::stop(rt);
  const long expected = 2 * (count * (count - 1) / 2);
  if (!result || result->sum != expected || result->count != count) {
    std::cerr << "troupe_trace: the pipeline lost numbers\n";
    return 1;
  }

  auto events = troupe::tracing::snapshot(rt);
  auto stats = troupe::tracing::counts(rt);
  std::ofstream out(path);
  troupe::tracing::write_chrome_json(events, out, stats.overwritten + stats.rate_limited);
  out.close();
  if (!out) {
    std::cerr << "troupe_trace: cannot write " << path << '\n';
    return 1;
  }
  std::cout << "sum " << result->sum << " of " << result->count << " numbers; " << events.size()
            << " events written to " << path << " (open it in https://ui.perfetto.dev)\n";
  return 0;
}
