// CAF 0.17 middleman (libcaf_io) for bench/compare/remote.py: the same
// benches and output as troupe_remote.
//
// Build: g++ -O2 -std=c++17 remote.cpp -o caf_remote -lcaf_io -lcaf_core -lpthread
//   caf_remote serve               publishes "echo" and "sink" on free ports;
//                                  prints "listening <echo port> <sink port>",
//                                  serves until stdin closes
//   caf_remote pingpong PORT N     (PORT: the echo's) N round trips, one at a time
//   caf_remote fanin PORT M        (PORT: the sink's) 4 actors, M integers each
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <memory>
#include <string>

using namespace caf;
using i64 = std::int64_t;

namespace {

using start_atom = atom_constant<atom("rstart")>;
using counted_atom = atom_constant<atom("rcounted")>;

behavior echo(event_based_actor*) {
  return {[](i64 i) { return i; }};
}

struct sink_state {
  i64 expected = 0, count = 0, sum = 0;
  actor report_to;
};

behavior sink(stateful_actor<sink_state>* self) {
  return {
      [=](start_atom, i64 expected, actor to) {
        self->state.expected = expected;
        self->state.count = self->state.sum = 0;
        self->state.report_to = to;
      },
      [=](i64 v) {
        auto& s = self->state;
        ++s.count;
        s.sum += v;
        if (s.count == s.expected) self->send(s.report_to, counted_atom::value, s.count, s.sum);
      },
  };
}

int serve(actor_system& sys) {
  auto e = sys.spawn(echo);
  auto s = sys.spawn(sink);
  auto ep = sys.middleman().publish(e, 0, "127.0.0.1");
  auto sp = sys.middleman().publish(s, 0, "127.0.0.1");
  if (!ep || !sp) {
    std::cerr << "caf_remote: cannot publish\n";
    return 1;
  }
  std::cout << "listening " << *ep << " " << *sp << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  anon_send_exit(e, exit_reason::user_shutdown);
  anon_send_exit(s, exit_reason::user_shutdown);
  return 0;
}

// The actor published at `port` on this host; an empty handle if none.
actor remote_at(actor_system& sys, std::uint16_t port) {
  auto remote = sys.middleman().remote_actor("127.0.0.1", port);
  if (!remote) {
    std::cerr << "caf_remote: cannot connect\n";
    return {};
  }
  return *remote;
}

int pingpong(actor_system& sys, std::uint16_t port, i64 n) {
  auto server = remote_at(sys, port);
  if (!server) return 1;
  auto result = std::make_shared<std::promise<i64>>();
  auto run = [&](i64 rounds) {
    auto done = std::make_shared<std::promise<i64>>();
    auto f = done->get_future();
    sys.spawn([=](event_based_actor* self) -> behavior {
      self->send(server, i64{0});
      return {[=](i64 got) {
        if (got + 1 == rounds) {
          done->set_value(got + 1);
          self->quit();
        } else {
          self->send(server, got + 1);
        }
      }};
    });
    return f.get();
  };
  run(1000);
  auto t0 = std::chrono::steady_clock::now();
  i64 got = run(n);
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  if (got != n) return 1;
  std::printf("{\"bench\":\"remote_pingpong\",\"runtime\":\"caf\",\"metric\":\"us_per_roundtrip\",\"value\":%.3f}\n",
              us / static_cast<double>(n));
  return 0;
}

int fanin(actor_system& sys, std::uint16_t port, i64 m) {
  auto sink_actor = remote_at(sys, port);
  if (!sink_actor) return 1;
  scoped_actor self{sys};
  self->send(sink_actor, start_atom::value, 4 * m, actor{self});
  auto t0 = std::chrono::steady_clock::now();
  for (int s = 0; s < 4; ++s)
    sys.spawn([=](event_based_actor* a) {
      for (i64 i = 1; i <= m; ++i) a->send(sink_actor, i);
    });
  i64 count = 0, sum = 0;
  self->receive([&](counted_atom, i64 c, i64 s) {
    count = c;
    sum = s;
  });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (count != 4 * m || sum != 4 * (m * (m + 1) / 2)) {
    std::cerr << "fanin: wrong sum\n";
    return 1;
  }
  std::printf("{\"bench\":\"remote_fanin\",\"runtime\":\"caf\",\"metric\":\"msgs_per_sec\",\"value\":%.0f}\n",
              static_cast<double>(4 * m) / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  actor_system_config cfg;
  cfg.load<io::middleman>();
  actor_system sys{cfg};
  if (mode == "serve") return serve(sys);
  if (mode == "pingpong" && argc > 3)
    return pingpong(sys, static_cast<std::uint16_t>(std::atoi(argv[2])), std::atoll(argv[3]));
  if (mode == "fanin" && argc > 3) return fanin(sys, static_cast<std::uint16_t>(std::atoi(argv[2])), std::atoll(argv[3]));
  std::cerr << "usage: caf_remote serve | pingpong PORT N | fanin PORT M\n";
  return 2;
}
