// troupe: the command-line tool. It reports what this build of the runtime
// is and checks it on this machine, and runs nodes; process inspection and
// the observer (capability 21 of docs/architecture.md) will live here.
//
//   troupe version      the library version and build settings
//   troupe selftest     spawns actors on every core, checks a ring and a
//                       request/response exchange, prints what it measured
//   troupe node ...     runs a node (node_cmd.cpp)
//   troupe ping NODE    checks that a node answers
//   troupe trace NODE   records a node for a while, writes a trace for Perfetto UI
//                       (or JSON lines: --format jsonl)
//   troupe trace check FILE --spec ...   checks a saved trace against rules
//   troupe ps|info|tree|kill|metrics|top ADMIN   a node through its admin API
//                       (troupe node --admin ADDR; observe_cmd.cpp)
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct token {
  long hops;
};

int selftest() {
  runtime rt;
  scoped_actor self(rt);
  auto me = self.pid();
  constexpr int ring_size = 100;
  constexpr long hops = 1'000'000;
  auto first = std::make_shared<pid>();
  pid next;
  for (int i = ring_size - 1; i >= 0; --i) {
    auto target = i == ring_size - 1 ? first : std::make_shared<pid>(next);
    next = rt.spawn([target, me](actor& a) -> behavior {
      return {[&a, target, me](token t) {
        if (t.hops == 0)
          a.send(me, std::string("done"));
        else
          a.send(*target, token{t.hops - 1});
      }};
    });
  }
  *first = next;
  auto t0 = std::chrono::steady_clock::now();
  self.send(next, token{hops});
  auto done = self.receive<std::string>(60s);
  auto ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
  auto echo = rt.spawn([](actor&) -> behavior { return {[](int x) { return x + 1; }}; });
  auto reply = self.request<int>(echo, 41, 5s);
  bool ok = done && reply && *reply == 42;
  std::printf("workers:            %u\n", rt.worker_count());
  std::printf("ring (%d actors):   %s, %.1f ns per hop\n", ring_size, done ? "ok" : "FAILED",
              ns / hops);
  std::printf("request/response:   %s\n", reply && *reply == 42 ? "ok" : "FAILED");
  std::printf("live actors:        %zu\n", rt.live_actors());
  std::printf("selftest:           %s\n", ok ? "passed" : "FAILED");
  return ok ? 0 : 1;
}

}  // namespace

int run_node(int argc, char** argv);
int run_ping(int argc, char** argv);
int run_trace(int argc, char** argv);
int run_trace_check(int argc, char** argv);
int run_observer_command(int argc, char** argv);

int main(int argc, char** argv) {
  const char* command = argc > 1 ? argv[1] : "help";
  if (std::strcmp(command, "version") == 0) {
    std::printf("troupe 0.1.0 (C++%ld, %u cores by default)\n", __cplusplus / 100 % 100,
                default_worker_count());
    return 0;
  }
  if (std::strcmp(command, "selftest") == 0) return selftest();
  try {
    if (std::strcmp(command, "node") == 0) return run_node(argc, argv);
    if (std::strcmp(command, "ping") == 0) return run_ping(argc, argv);
    if (std::strcmp(command, "trace") == 0 && argc > 2 && std::strcmp(argv[2], "check") == 0)
      return run_trace_check(argc, argv);
    if (std::strcmp(command, "trace") == 0) return run_trace(argc, argv);
    for (const char* observer : {"ps", "info", "tree", "kill", "metrics", "top"})
      if (std::strcmp(command, observer) == 0) return run_observer_command(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe %s: %s\n", command, e.what());
    return 2;
  }
  std::printf("usage: troupe <version|selftest|node|ping|trace|trace check|ps|info|tree|kill|metrics|top> ...\n"
              "       troupe COMMAND --help (ps, info, tree, kill, metrics, top)\n");
  return std::strcmp(command, "help") == 0 ? 0 : 2;
}
