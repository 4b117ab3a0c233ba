// The troupe side of bench/compare/remote.py: two processes on loopback.
//
//   troupe_remote serve                     a node b@127.0.0.1 on a free port;
//                                           prints "listening <port>", serves
//                                           until stdin closes
//   troupe_remote pingpong PORT N           N round trips, one at a time
//   troupe_remote fanin PORT M              4 senders, M messages each
//   (env TROUPE_REMOTE_TLS=DIR: the same over TLS; see bench_tls;
//    env TROUPE_REMOTE_PARK_SPIN_US=N: workers spin N us before parking)
//
// pingpong: an actor on a sends an integer to b's "echo", which sends it
// back; the next goes when the last came back. Prints us_per_roundtrip.
// fanin: 4 actors on a send M integers each to b's "sink", as fast as the
// connection takes them; b's sink tells a's waiter when it has 4M. Prints
// msgs_per_sec. Both check their result (every value back, the sum) and exit
// non-zero without printing on a mismatch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include "troupe/io/reactor.hpp"
#include "troupe/io/tls.hpp"
#include "troupe/net/node.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

const char* const cookie = "troupe-remote-bench-cookie";

struct start_count {
  std::int64_t expected = 0;
  pid report_to;
};
struct counted {
  std::int64_t count = 0, sum = 0;
};
struct ping {
  std::int64_t n = 0;
  pid from;
};

// TROUPE_REMOTE_TLS=DIR: links over TLS 1.3, both nodes with DIR/node.pem
// and DIR/node.key, trusting DIR/ca.pem; results say runtime "troupe_tls".
std::shared_ptr<const io::tls_context> bench_tls() {
  const char* dir = std::getenv("TROUPE_REMOTE_TLS");
  if (!dir) return nullptr;
  std::string d(dir);
  return io::tls_context::make(
      {.certificate = d + "/node.pem", .private_key = d + "/node.key", .trusted = d + "/ca.pem"});
}
// TROUPE_REMOTE_PARK_SPIN_US=N: config::park_spin of N microseconds in
// both processes; results say runtime "troupe_spin".
const char* runtime_name() {
  if (std::getenv("TROUPE_REMOTE_TLS")) return "troupe_tls";
  return std::getenv("TROUPE_REMOTE_PARK_SPIN_US") ? "troupe_spin" : "troupe";
}

// TROUPE_REMOTE_WORKERS: worker threads per process (default: one per core).
// TROUPE_REMOTE_LEND=0: no lending; TROUPE_REMOTE_STALL_MS=N: stall threshold.
config bench_config() {
  config cfg{.warn_unhandled = false};
  if (const char* w = std::getenv("TROUPE_REMOTE_WORKERS")) cfg.workers = static_cast<unsigned>(std::atoi(w));
  if (const char* us = std::getenv("TROUPE_REMOTE_PARK_SPIN_US")) cfg.park_spin = std::chrono::microseconds(std::atoi(us));
  if (const char* lend = std::getenv("TROUPE_REMOTE_LEND")) cfg.lend_io_threads = std::atoi(lend) != 0;
  // TROUPE_REMOTE_STALL_MS: config::stall_threshold (0: no stall monitor).
  if (const char* ms = std::getenv("TROUPE_REMOTE_STALL_MS")) cfg.stall_threshold = std::chrono::milliseconds(std::atoi(ms));
  return cfg;
}

const bool registered = [] {
  net::register_type<start_count>("bench.start_count");
  net::register_type<counted>("bench.counted");
  net::register_type<ping>("bench.ping");
  return true;
}();

int serve() {
  runtime rt(bench_config());
  io::reactor reactor(rt);
  net::node node(rt, reactor, {.name = "b@127.0.0.1", .cookie = cookie, .tls = bench_tls()});
  rt.register_name("echo", rt.spawn([](actor& self) -> behavior {
    return {[&self](const ping& p) { self.send(p.from, p.n); }};
  }));
  rt.register_name("sink", rt.spawn([](actor& self) -> behavior {
    auto st = std::make_shared<std::pair<start_count, counted>>();
    return {
        [st](const start_count& s) {
          st->first = s;
          st->second = {};
        },
        [st, &self](std::int64_t v) {
          auto& c = st->second;
          ++c.count;
          c.sum += v;
          if (c.count == st->first.expected) self.send(st->first.report_to, c);
        },
    };
  }));
  std::cout << "listening " << node.address().port << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

int pingpong(std::uint16_t port, long n) {
  runtime rt(bench_config());
  io::reactor reactor(rt);
  net::node node(rt, reactor, {.name = "a@127.0.0.1", .cookie = cookie, .tls = bench_tls()});
  node.connect({"127.0.0.1", port}).get();
  pid echo = node.whereis("troupe://b@127.0.0.1/echo").get();
  scoped_actor me(rt);
  auto warm = [&](long rounds) {
    for (long i = 0; i < rounds; ++i) {
      me.send(echo, ping{i, me.pid()});
      auto back = me.receive<std::int64_t>(10s);
      if (!back || *back != i) return false;
    }
    return true;
  };
  if (!warm(1000)) return 1;
  // The round trips run inside an actor, as the peers' do (not a blocked thread).
  auto done = std::make_shared<std::promise<long>>();
  auto t0 = std::chrono::steady_clock::now();
  rt.spawn([echo, n, done](actor& self) -> behavior {
    self.send(echo, ping{0, self.pid()});
    return {[&self, echo, n, done, next = std::int64_t{0}](std::int64_t got) mutable {
      if (got != next) {
        done->set_value(-1);
        self.quit();
        return;
      }
      if (++next == n) {
        done->set_value(next);
        self.quit();
        return;
      }
      self.send(echo, ping{next, self.pid()});
    }};
  });
  long got = done->get_future().get();
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  if (got != n) return 1;
  std::printf("{\"bench\":\"remote_pingpong\",\"runtime\":\"%s\",\"metric\":\"us_per_roundtrip\",\"value\":%.3f}\n",
              runtime_name(),
              us / static_cast<double>(n));
  return 0;
}

int fanin(std::uint16_t port, long m) {
  runtime rt(bench_config());
  io::reactor reactor(rt);
  net::node node(rt, reactor, {.name = "a@127.0.0.1", .cookie = cookie, .tls = bench_tls()});
  node.connect({"127.0.0.1", port}).get();
  pid sink = node.whereis("troupe://b@127.0.0.1/sink").get();
  constexpr int senders = 4;
  scoped_actor me(rt);
  me.send(sink, start_count{senders * m, me.pid()});
  auto t0 = std::chrono::steady_clock::now();
  // Each sender is an actor on the workers: it sends its integers in
  // slices of 1000 and continues with a message to itself (as the local
  // fanin bench does), so the four run side by side.
  struct next_slice {
    long from;
  };
  for (int s = 0; s < senders; ++s) {
    pid sender = rt.spawn([sink, m](actor& self) -> behavior {
      return {[&self, sink, m](const next_slice& n) {
        long end = std::min(m, n.from + 999);
        for (long i = n.from; i <= end; ++i) {
          // A full connection says so; wait and send again (nothing dropped).
          while (self.send(sink, static_cast<std::int64_t>(i)) == send_status::mailbox_full)
            std::this_thread::sleep_for(50us);
        }
        if (end < m)
          self.send(self.pid(), next_slice{end + 1});
        else
          self.quit();
      }};
    });
    rt.send(sender, next_slice{1});
  }
  auto result = me.receive<counted>(120s);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::int64_t want_sum = senders * (m * (m + 1) / 2);
  if (!result || result->count != senders * m || result->sum != want_sum) {
    std::fprintf(stderr, "fanin: wrong result\n");
    return 1;
  }
  std::printf("{\"bench\":\"remote_fanin\",\"runtime\":\"%s\",\"metric\":\"msgs_per_sec\",\"value\":%.0f}\n",
              runtime_name(),
              static_cast<double>(senders * m) / secs);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "serve") return serve();
  if (mode == "pingpong" && argc > 3) return pingpong(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atol(argv[3]));
  if (mode == "fanin" && argc > 3) return fanin(static_cast<std::uint16_t>(std::atoi(argv[2])), std::atol(argv[3]));
  std::fprintf(stderr, "usage: troupe_remote serve | pingpong PORT N | fanin PORT M\n");
  return 2;
}
