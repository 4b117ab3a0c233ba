// troupe_request_tree: one request across three nodes, traced on all three
// and written as one file; then the Pathfinder rule over a recorded trace.
//
//   troupe_request_tree [request.json]
//
// Three nodes in this process (each its own runtime, reactor and net::node
// over loopback): a asks b's front, which asks c's store and answers. The
// request starts a trace, so every message of it carries the trace and a
// span of its own; the three nodes' recordings are written as one Chrome
// trace-event file (open it in https://ui.perfetto.dev: a process per node,
// arrows from each send to its handling across nodes) and the request's
// tree is printed.
//
// Then the Mars Pathfinder scenario: three SCHED_FIFO threads on one core
// share the bus (low holds it, high waits, medium computes). The rule "high
// never waits on low's bus while medium runs" is checked on the trace of a
// run with a plain mutex (broken: the inversion) and with pi_mutex (holds).
// Where real-time scheduling is refused, that part says so and is skipped.
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "troupe/async/request_context.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/core/trace_check.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"
#include "troupe/net/wire_type.hpp"
#include "troupe/sync/pi_mutex.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

struct lookup {
  std::string key;
};

struct node_site {
  explicit node_site(const std::string& name) : rt(config{.workers = 1}), io(rt) {
    net::node_options o;
    o.name = name;
    o.cookie = "the request tree demo's cookie";
    node = std::make_unique<net::node>(rt, io, o);
  }
  runtime rt;
  io::reactor io;
  std::unique_ptr<net::node> node;
};

void request_across_three_nodes(const char* file) {
  node_site a("a@127.0.0.1"), b("b@127.0.0.1"), c("c@127.0.0.1");
  c.rt.register_name("store", c.rt.spawn([](actor&) -> behavior {
    return {[](const lookup& q) { return "value of " + q.key; }};
  }));
  b.node->connect(c.node->address()).get();
  a.node->connect(b.node->address()).get();
  pid store = b.node->whereis("troupe://c@127.0.0.1/store").get();
  b.rt.register_name("front", b.rt.spawn([store](actor& self) -> behavior {
    return {[&self, store](const lookup& q) {
      auto answer = std::make_shared<response_promise>(self.make_response_promise());
      self.request<std::string>(store, q, 5s).then([answer](const std::string& v) { answer->deliver(v); },
                                                    [answer](const error& e) { answer->deliver_error(e); });
    }};
  }));
  pid front = a.node->whereis("troupe://b@127.0.0.1/front").get();

  for (auto* s : {&a, &b, &c}) tracing::start(s->rt);
  scoped_actor me(a.rt);
  auto root = request_context::new_trace();
  auto reply = with_context(root, [&] { return me.request<std::string>(front, lookup{"answer"}, 5s); });
  std::this_thread::sleep_for(50ms);  // the last events land in the rings
  std::printf("  a asked b's front, which asked c's store: %s\n",
              reply ? reply->c_str() : reply.error().message().c_str());

  std::vector<tracing::node_trace> nodes;
  for (auto* s : {&a, &b, &c}) {
    tracing::stop(s->rt);
    nodes.push_back({s->node->name(), tracing::snapshot(s->rt), 0});
  }
  // The tree, from the send events: each message's span and its parent.
  std::map<std::uint64_t, std::pair<std::string, const tracing::event*>> sends;  // span -> (node, send)
  for (auto& n : nodes)
    for (auto& e : n.events)
      if (e.kind == tracing::event_kind::send && e.trace_id == root->trace_id && e.parent_span_id != 0)
        sends.try_emplace(e.span_id, n.node, &e);
  std::printf("  trace %016llx: %zu messages, each a span whose parent is the handling it was sent from:\n",
              static_cast<unsigned long long>(root->trace_id), sends.size());
  auto print = [&](auto& self, std::uint64_t parent, int depth) -> void {
    for (auto& [span, sent] : sends)
      if (sent.second->parent_span_id == parent) {
        std::printf("  %*s%s sends %s (span %04llx)\n", 2 * depth, "", sent.first.c_str(), sent.second->what.c_str(),
                    static_cast<unsigned long long>(span & 0xffff));
        self(self, span, depth + 1);
      }
  };
  print(print, root->span_id, 1);
  std::ofstream out(file);
  tracing::write_chrome_json(nodes, out);
  std::printf("  wrote %s: open it in https://ui.perfetto.dev\n", file);
}

// ---- the Pathfinder rule ----

std::string go_realtime(int priority) {
  sched_param p{};
  p.sched_priority = priority;
  if (int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p); rc != 0)
    return std::string("SCHED_FIFO: ") + std::strerror(rc);
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  if (int rc = pthread_setaffinity_np(pthread_self(), sizeof one, &one); rc != 0)
    return std::string("affinity: ") + std::strerror(rc);
  return {};
}

void busy(std::chrono::milliseconds d) {
  for (auto until = std::chrono::steady_clock::now() + d; std::chrono::steady_clock::now() < until;) {
  }
}

// Low holds the bus and works; high wakes and waits for it; medium then
// computes on the same core. Returns what the rule found, or why it could
// not run.
template <class Mutex>
std::string run_pathfinder(Mutex& bus) {
  runtime rt(config{.workers = 1});
  tracing::start(rt);
  std::atomic<int> stage{0};  // 1 low holds, 2 high about to wait, 3 medium started
  std::string refused;
  std::thread low([&] {
    if (auto why = go_realtime(10); !why.empty()) {
      refused = why;
      stage = 3;
      return;
    }
    std::lock_guard hold(bus);
    stage = 1;
    while (stage.load() < 3) std::this_thread::yield();
    busy(20ms);
  });
  while (stage.load() < 1) std::this_thread::yield();
  std::thread high([&] {
    if (go_realtime(30).empty()) {
      stage = 2;
      std::lock_guard hold(bus);
    } else {
      stage = 2;
    }
  });
  while (stage.load() < 2) std::this_thread::yield();
  std::this_thread::sleep_for(2ms);
  std::thread medium([&] {
    sched_param p{};
    p.sched_priority = 20;
    pthread_setschedparam(pthread_self(), SCHED_FIFO, &p);
    stage = 3;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    pthread_setaffinity_np(pthread_self(), sizeof one, &one);
    tracing::mark("medium running");
    busy(300ms);
    tracing::mark("medium done");
  });
  low.join();
  high.join();
  medium.join();
  tracing::stop(rt);
  if (!refused.empty()) return "skipped (" + refused + ")";

  using tracing::event;
  using tracing::event_kind;
  using tracing::formula;
  auto on_bus = [](const event& e, event_kind k) { return e.kind == k && e.what == "bus"; };
  formula high_waits("high waits", [=](const event& e) { return on_bus(e, event_kind::lock_wait) && e.value >= 30; });
  formula high_takes("high takes", [=](const event& e) { return on_bus(e, event_kind::lock_acquire) && e.value >= 30; });
  formula low_takes("low takes", [=](const event& e) { return on_bus(e, event_kind::lock_acquire) && e.value <= 10; });
  formula low_frees("low frees", [=](const event& e) { return on_bus(e, event_kind::lock_release) && e.value <= 10; });
  formula medium_runs("medium runs", [](const event& e) { return e.what == "medium running"; });
  formula medium_ends("medium ends", [](const event& e) { return e.what == "medium done"; });
  tracing::rule pathfinder("pathfinder", !(tracing::since(!high_takes, high_waits) &&
                                           tracing::since(!low_frees, low_takes) &&
                                           tracing::since(!medium_ends, medium_runs)));
  auto found = tracing::check(tracing::snapshot(rt), {pathfinder});
  if (found.empty()) return "the rule holds";
  return "the rule is broken: high waits for the bus held by low while medium runs";
}

}  // namespace

int main(int argc, char** argv) {
  net::register_type<lookup>("request_tree.lookup");
  const char* file = argc > 1 ? argv[1] : "request.json";
  std::printf("== a request across three nodes, as one trace\n");
  request_across_three_nodes(file);

  std::printf("\n== the Pathfinder rule, checked on recorded traces\n");
  named_mutex plain("bus");
  std::printf("  with a plain mutex: %s\n", run_pathfinder(plain).c_str());
  pi_mutex inheriting("bus");
  std::printf("  with pi_mutex (priority inheritance): %s\n", run_pathfinder(inheriting).c_str());
}
