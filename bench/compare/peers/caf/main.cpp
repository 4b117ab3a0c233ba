// CAF 0.17 peer for the troupe comparison benchmarks.
//
// Usage: caf_bench <bench> [scale]   (scale multiplies N, default 1.0)
// Build: g++ -O2 -std=c++17 main.cpp -o caf_bench -lcaf_core -lpthread
//
// Benches (all actors are event-based, default work-stealing scheduler):
//   pingpong  two actors, N=1e6 round trips; ponger counts pings (check == N).
//   fanin     4 senders x 2.5e6 ints (0..n-1) to one counter; senders send
//             batches of 1000 and continue via a message to themselves.
//             Check: count == 4n and sum == 4 * n(n-1)/2.
//   spawn     the root (main's scoped_actor) spawns N=1e6 actors; each sends
//             its index to the root and terminates; root sums (check ==
//             N(N-1)/2). Reports seconds and peak RSS growth / N.
//   ring      503 actors pass a token 1e7 hops (token = remaining hops);
//             every actor counts its forwards, the sum must equal 1e7.
//   idle      1e5 actors that wait for a message (each acks once started);
//             RSS growth / 1e5, then stop all and count stop acks.
// Output: one JSON line per metric on stdout; on a failed check, a message on
// stderr and exit status 1.

#include <caf/all.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

using namespace caf;
using i64 = std::int64_t;

namespace {

using ping_atom = atom_constant<atom("bping")>;
using pong_atom = atom_constant<atom("bpong")>;
using count_atom = atom_constant<atom("bcount")>;
using done_atom = atom_constant<atom("bdone")>;
using cont_atom = atom_constant<atom("bcont")>;
using token_atom = atom_constant<atom("btoken")>;
using next_atom = atom_constant<atom("bnext")>;
using stop_atom = atom_constant<atom("bstop")>;
using ready_atom = atom_constant<atom("bready")>;

using clk = std::chrono::steady_clock;

double secs_since(clk::time_point t0) {
  return std::chrono::duration<double>(clk::now() - t0).count();
}

// Reads a "Vm...:  <n> kB" field from /proc/self/status, in bytes.
i64 proc_status_bytes(const std::string& key) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.compare(0, key.size() + 1, key + ":") == 0)
      return std::atoll(line.c_str() + key.size() + 1) * 1024;
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0); best effort.
void reset_peak_rss() {
  std::ofstream f("/proc/self/clear_refs");
  f << "5";
}

void emit(const std::string& bench, const char* metric, double value) {
  std::printf("{\"bench\":\"%s\",\"runtime\":\"caf\",\"metric\":\"%s\","
              "\"value\":%.9g}\n",
              bench.c_str(), metric, value);
  std::fflush(stdout);
}

[[noreturn]] void fail(const std::string& msg) {
  std::cerr << "caf: check failed: " << msg << std::endl;
  std::exit(1);
}

// ---------------------------------------------------------------- pingpong

struct ponger_state {
  i64 pings = 0;
};

behavior ponger(stateful_actor<ponger_state>* self) {
  return {
    [=](ping_atom) {
      ++self->state.pings;
      return pong_atom::value;
    },
    [=](count_atom) {
      self->quit();
      return self->state.pings;
    },
  };
}

behavior pinger(event_based_actor* self, actor pong, actor main, i64 n) {
  auto left = std::make_shared<i64>(n);
  self->send(pong, ping_atom::value);
  return {
    [=](pong_atom) {
      if (--*left > 0) {
        self->send(pong, ping_atom::value);
      } else {
        self->send(main, done_atom::value);
        self->quit();
      }
    },
  };
}

void bench_pingpong(actor_system& sys, const std::string& name, i64 n) {
  scoped_actor self{sys};
  auto t0 = clk::now();
  auto pong = sys.spawn(ponger);
  sys.spawn(pinger, pong, actor{self}, n);
  self->receive([](done_atom) {});
  double t = secs_since(t0);
  i64 pings = -1;
  self->request(pong, infinite, count_atom::value)
    .receive([&](i64 c) { pings = c; }, [](error&) {});
  if (pings != n)
    fail("ponger counted " + std::to_string(pings) + " pings, expected "
         + std::to_string(n));
  emit(name, "ns_per_roundtrip", t * 1e9 / n);
}

// ------------------------------------------------------------------- fanin

struct counter_state {
  i64 count = 0;
  i64 sum = 0;
};

behavior counter(stateful_actor<counter_state>* self, actor main, i64 total) {
  return {
    [=](i64 x) {
      auto& st = self->state;
      st.sum += x;
      if (++st.count == total) {
        self->send(main, st.count, st.sum);
        self->quit();
      }
    },
  };
}

behavior sender(event_based_actor* self, actor dst, i64 n) {
  auto next = std::make_shared<i64>(0);
  self->send(self, cont_atom::value);
  return {
    [=](cont_atom) {
      i64 end = std::min(*next + 1000, n);
      for (i64 i = *next; i < end; ++i)
        self->send(dst, i);
      *next = end;
      if (end < n)
        self->send(self, cont_atom::value);
      else
        self->quit();
    },
  };
}

void bench_fanin(actor_system& sys, const std::string& name, i64 n) {
  constexpr int senders = 4;
  const i64 total = senders * n;
  const i64 expected_sum = senders * (n * (n - 1) / 2);
  scoped_actor self{sys};
  auto t0 = clk::now();
  auto cnt = sys.spawn(counter, actor{self}, total);
  for (int i = 0; i < senders; ++i)
    sys.spawn(sender, cnt, n);
  i64 count = 0, sum = 0;
  self->receive([&](i64 c, i64 s) {
    count = c;
    sum = s;
  });
  double t = secs_since(t0);
  if (count != total || sum != expected_sum)
    fail("fanin count " + std::to_string(count) + " sum "
         + std::to_string(sum) + ", expected " + std::to_string(total) + " / "
         + std::to_string(expected_sum));
  emit(name, "msgs_per_sec", total / t);
}

// ------------------------------------------------------------------- spawn

void child(event_based_actor* self, actor root, i64 index) {
  self->send(root, index);
  // no behavior returned: the actor terminates right away
}

// The root is the main thread's scoped actor. Spawning from outside the
// scheduler spreads the children round-robin over the workers' queues;
// spawning 1e6 actors from inside one event-based actor puts them all on
// that worker's queue, where CAF 0.17's work stealing (take_tail walks the
// list) is O(queue length) per steal and the run becomes quadratic.
void bench_spawn(actor_system& sys, const std::string& name, i64 n) {
  scoped_actor self{sys};
  reset_peak_rss();
  i64 rss0 = proc_status_bytes("VmRSS");
  auto t0 = clk::now();
  actor root{self};
  for (i64 i = 0; i < n; ++i)
    sys.spawn(child, root, i);
  i64 received = 0, sum = 0;
  self->receive_for(received, n)([&](i64 index) { sum += index; });
  double t = secs_since(t0);
  i64 peak = proc_status_bytes("VmHWM");
  if (received != n || sum != n * (n - 1) / 2)
    fail("spawn received " + std::to_string(received) + " sum "
         + std::to_string(sum));
  emit(name, "seconds", t);
  emit(name, "rss_bytes_per_actor",
       double(std::max<i64>(0, peak - rss0)) / n);
}

// -------------------------------------------------------------------- ring

struct node_state {
  actor next;
  i64 forwards = 0;
};

behavior ring_node(stateful_actor<node_state>* self, actor main) {
  return {
    [=](next_atom, actor next) { self->state.next = std::move(next); },
    [=](token_atom, i64 left) {
      if (left == 0) {
        self->send(main, done_atom::value);
      } else {
        ++self->state.forwards;
        self->send(self->state.next, token_atom::value, left - 1);
      }
    },
    [=](stop_atom) {
      self->state.next = nullptr;
      self->quit();
      return self->state.forwards;
    },
  };
}

void bench_ring(actor_system& sys, const std::string& name, i64 hops) {
  constexpr int size = 503;
  scoped_actor self{sys};
  std::vector<actor> nodes;
  for (int i = 0; i < size; ++i)
    nodes.push_back(sys.spawn(ring_node, actor{self}));
  for (int i = 0; i < size; ++i)
    self->send(nodes[i], next_atom::value, nodes[(i + 1) % size]);
  auto t0 = clk::now();
  self->send(nodes[0], token_atom::value, hops);
  self->receive([](done_atom) {});
  double t = secs_since(t0);
  i64 counted = 0;
  for (auto& nd : nodes)
    self->request(nd, infinite, stop_atom::value)
      .receive([&](i64 c) { counted += c; }, [](error&) {});
  if (counted != hops)
    fail("ring counted " + std::to_string(counted) + " hops");
  emit(name, "ns_per_hop", t * 1e9 / hops);
}

// -------------------------------------------------------------------- idle

behavior idle_actor(event_based_actor* self, actor main) {
  self->send(main, ready_atom::value);
  return {
    [=](stop_atom) {
      self->send(main, stop_atom::value);
      self->quit();
    },
  };
}

void bench_idle(actor_system& sys, const std::string& name, i64 n) {
  scoped_actor self{sys};
  i64 rss0 = proc_status_bytes("VmRSS");
  std::vector<actor> actors;
  actors.reserve(n);
  for (i64 i = 0; i < n; ++i)
    actors.push_back(sys.spawn(idle_actor, actor{self}));
  i64 ready = 0;
  self->receive_for(ready, n)([](ready_atom) {});
  i64 rss1 = proc_status_bytes("VmRSS");
  for (auto& a : actors)
    self->send(a, stop_atom::value);
  i64 acks = 0;
  self->receive_for(acks, n)([](stop_atom) {});
  if (acks != n)
    fail("idle acks " + std::to_string(acks));
  emit(name, "bytes_per_actor", double(rss1 - rss0) / n);
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: " << argv[0]
              << " pingpong|fanin|spawn|ring|idle [scale]\n";
    return 2;
  }
  std::string name = argv[1];
  double scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  auto scaled = [&](i64 n) { return std::max<i64>(1, i64(n * scale)); };
  actor_system_config cfg;
  actor_system sys{cfg};
  if (name == "pingpong")
    bench_pingpong(sys, name, scaled(1000000));
  else if (name == "fanin")
    bench_fanin(sys, name, scaled(2500000));
  else if (name == "spawn")
    bench_spawn(sys, name, scaled(1000000));
  else if (name == "ring")
    bench_ring(sys, name, scaled(10000000));
  else if (name == "idle")
    bench_idle(sys, name, scaled(100000));
  else {
    std::cerr << "unknown bench: " << name << "\n";
    return 2;
  }
  return 0;
}
