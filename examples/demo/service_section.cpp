// Demo section 8: a client made of filters over a flaky backend actor.
//
// The backend is an actor that fails about 30% of the requests it sees (a
// seeded RNG: the same attempts fail on every run), answers about 1% of
// them late, and goes down altogether for a short outage half-way through.
// It answers through a response_promise and fails with deliver_error(), so
// a failure reaches the client as an error while the actor lives on (a
// handler that threw would end it). The client:
//
//   stats_filter(stats) | timeout(timers, 20ms) | retry(timers, {...})
//                       | breaker(timers, {...}) | actor_service(backend)
//
// stats sees each call once, as the caller does; the timeout bounds the
// whole call, retries included (a late answer is abandoned, and its attempt
// interrupted); retry sends a failed attempt again after a jittered backoff,
// within its budget; the breaker, next to the backend, fails attempts fast
// while the backend keeps failing.
//
// The demo's main thread is not an actor, so it may block on each reply
// (outcome()); inside an actor one would co_await or attach a continuation.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <utility>

#include "troupe/async.hpp"
#include "troupe/troupe.hpp"

using namespace std::chrono_literals;

namespace {

struct lookup {
  int key;
};
// The backend's reminder to answer a request it held back.
struct answer_late {
  std::uint64_t ticket;
};
struct outage {
  troupe::duration length;
};

constexpr std::uint32_t backend_seed = 42;
constexpr troupe::duration slow_delay = 50ms;

troupe::pid spawn_flaky_backend(troupe::runtime& rt) {
  return rt.spawn([](troupe::actor& self) -> troupe::behavior {
    struct held_back {
      troupe::response_promise answer;
      int value;
    };
    struct backend_state {
      std::mt19937 rng{backend_seed};
      troupe::time_point down_until{};
      std::uint64_t next_ticket = 0;
      std::map<std::uint64_t, held_back> late;
    };
    auto st = std::make_shared<backend_state>();
    return {
        [&self, st](lookup req) {
          troupe::response_promise answer = self.make_response_promise();
          const unsigned roll = static_cast<unsigned>(st->rng() % 100);
          const bool down = self.system().now() < st->down_until;
          if (down || roll < 30) {
            // Retryable: the backend did nothing with the request.
            answer.deliver_error(troupe::error(troupe::errc::overloaded,
                                               down ? "backend down" : "backend hiccup")
                                     .mark_retryable());
            return;
          }
          if (roll == 99) {  // slow: answer after slow_delay
            const std::uint64_t ticket = st->next_ticket++;
            st->late.emplace(ticket, held_back{std::move(answer), req.key * 2});
            self.send_after(slow_delay, self.pid(), answer_late{ticket});
            return;
          }
          answer.deliver(req.key * 2);
        },
        [st](answer_late a) {
          auto it = st->late.find(a.ticket);
          if (it == st->late.end()) return;
          it->second.answer.deliver(it->second.value);
          st->late.erase(it);
        },
        [&self, st](outage o) { st->down_until = self.system().now() + o.length; },
    };
  });
}

const char* state_name(troupe::breaker_state s) {
  switch (s) {
    case troupe::breaker_state::closed:
      return "closed";
    case troupe::breaker_state::open:
      return "open";
    case troupe::breaker_state::half_open:
      return "half-open";
  }
  return "?";
}

}  // namespace

void service_section(troupe::runtime& rt) {
  constexpr int calls = 1000;
  const troupe::pid backend = spawn_flaky_backend(rt);
  troupe::runtime_timers timers(rt);  // outlives every call below

  auto call_stats = std::make_shared<troupe::stats>();
  troupe::retry_filter retrier = troupe::retry(
      timers, {.max_retries = 3,
               .backoff_base = 1ms,
               .backoff_max = 10ms,
               .budget = {.percent = 0.5, .min_per_second = 50, .max_balance = 100},
               // The default predicate: error::retryable(). The backend marks
               // its refusals, the breaker its fast failures.
               .seed = 7});
  troupe::breaker_filter fuse =
      troupe::breaker(timers, {.failures_to_open = 5, .open_for = 30ms, .max_open_for = 200ms});
  troupe::service<lookup, int> backend_service =
      troupe::actor_service<lookup, int>(rt, backend, 1s);
  troupe::service<lookup, int> client = troupe::stats_filter(call_stats) |
                                        troupe::timeout(timers, 20ms) | retrier | fuse |
                                        backend_service;

  int ok = 0;
  int wrong = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) {
    if (i == calls / 2) rt.send(backend, outage{60ms});
    const troupe::result<int> reply = client(lookup{i}).outcome();
    if (reply) {
      ++ok;
      if (*reply != 2 * i) ++wrong;
    }
  }
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  std::printf("   %d calls in %.0f ms: %d answered (%s), %d failed\n", calls, ms, ok,
              wrong == 0 ? "all correct" : "SOME WRONG", calls - ok);
  std::printf("   stats: %s\n", call_stats->summary().c_str());
  const troupe::retry_core& r = retrier.core();
  std::printf("   retries: %llu (budget left %.1f, exhausted %llu times)\n",
              static_cast<unsigned long long>(r.retries()), r.balance(),
              static_cast<unsigned long long>(r.budget_exhausted()));
  const troupe::breaker_core& b = fuse.core();
  std::printf("   breaker: %s now; opened %llu times, %llu attempts failed fast\n",
              state_name(b.state()), static_cast<unsigned long long>(b.times_opened()),
              static_cast<unsigned long long>(b.rejected()));
  rt.send_exit(backend, troupe::exit_reason::shutdown());
}
