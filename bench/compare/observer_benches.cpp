// observe_cost and observe_scale: what being observed costs.
//
//   troupe_compare observe_cost [scale]
//
// pingpong and fanin (troupe_compare.cpp) three ways, alternating for five
// rounds: no observer; an I/O reactor only (the server needs one, a node
// has one anyway); and the admin server serving the runtime while a client
// polls it as the dashboard does, once a second (/metrics, /api/overview,
// /api/schedulers and the first page of /api/processes by mailbox). Prints
// each run, and each median as a ratio of the one without (time per round
// trip, or fanin's time for its messages: higher is slower), and observed
// against reactor only. Each run checks its count, and the poller
// that every poll was answered 200, before a figure is used.
//
//   troupe_compare observe_scale [scale]
//
// A runtime with 1,000,000 x scale idle actors: the time to answer
// /metrics, the first page of /api/processes sorted by mailbox, and a page
// 99,900 rows in (by id), and how much the process's peak memory grew for
// them. Each answer is checked to count every actor.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "../../tools/troupe/admin_client.hpp"
#include "report.hpp"
#include "troupe/io.hpp"
#include "troupe/observer/admin.hpp"
#include "troupe/troupe.hpp"
#include "workloads.hpp"

namespace troupe_bench {
namespace {

// An admin server on the runtime and a thread polling it once a second.
struct observed {
  troupe::io::reactor io;
  troupe::observer::admin_server server;
  std::atomic<bool> stop{false};
  std::atomic<int> polls{0};
  std::thread poller;

  explicit observed(troupe::runtime& rt) : io(rt) {
    server = troupe::observer::serve(rt, io, {.token = "bench"});
    poller = std::thread([this] {
      const std::string at = server.address().to_string();
      while (!stop) {
        const auto next = bench_clock::now() + std::chrono::seconds(1);
        for (const char* path : {"/metrics", "/api/overview", "/api/schedulers", "/api/processes?sort=mailbox&limit=50"}) {
          try {
            const auto r = troupe::cli::admin_request(at, "GET", path, "");
            if (r.status != 200) fail("observe_cost", std::string(path) + " answered " + std::to_string(r.status));
          } catch (const std::exception& e) {
            fail("observe_cost", std::string(path) + ": " + e.what());
          }
        }
        ++polls;
        while (!stop && bench_clock::now() < next) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
    });
  }
  ~observed() {
    stop = true;
    poller.join();
    if (polls.load() < 1) fail("observe_cost", "the poller never completed a poll");
    server.close();
    io.stop();
  }
};

}  // namespace

int observe_cost(double scale) {
  // "reactor": an I/O reactor on the runtime and nothing else, since the
  // admin server needs one (a node has one anyway): it tells the cost of
  // the I/O threads from the cost of serving and polling.
  const std::vector<mode> modes = {
      {"off", {}},
      {"reactor", [](troupe::runtime& rt) { return std::static_pointer_cast<void>(std::make_shared<troupe::io::reactor>(rt)); }},
      {"observed", [](troupe::runtime& rt) { return std::static_pointer_cast<void>(std::make_shared<observed>(rt)); }},
  };
  const mode_medians m = compare_modes("observe_cost", modes, scale, 5);
  // Serving and polling alone, over a runtime that has a reactor either way.
  emit("observe_cost", "pingpong_time_ratio@observed_vs_reactor", m.ping[2] / m.ping[1]);
  emit("observe_cost", "fanin_time_ratio@observed_vs_reactor", m.fan[1] / m.fan[2]);
  return 0;
}

int observe_scale(double scale) {
  using json = nlohmann::json;
  const std::size_t actors = static_cast<std::size_t>(1'000'000 * scale);
  troupe::runtime rt;
  troupe::io::reactor io(rt);
  auto server = troupe::observer::serve(rt, io, {.token = "bench"});
  const std::string at = server.address().to_string();
  struct wake {};
  std::vector<troupe::pid> idle;
  idle.reserve(actors);
  for (std::size_t i = 0; i < actors; ++i) idle.push_back(rt.spawn([](troupe::actor&) -> troupe::behavior { return {[](wake) {}}; }));
  if (rt.live_actors() < actors) fail("observe_scale", "actors did not all spawn");
  emit("observe_scale", "actors", static_cast<double>(actors));
  auto timed = [&](const char* name, const std::string& path, auto check) {
    const long peak_before = status_kib("VmHWM:");
    const auto t0 = bench_clock::now();
    const auto r = troupe::cli::admin_request(at, "GET", path, "", std::chrono::minutes(5));
    const double ms = seconds_since(t0) * 1e3;
    if (r.status != 200) fail("observe_scale", path + " answered " + std::to_string(r.status));
    check(r.body);
    emit("observe_scale", std::string(name) + "_ms", ms);
    emit("observe_scale", std::string(name) + "_bytes", static_cast<double>(r.body.size()));
    emit("observe_scale", std::string(name) + "_peak_growth_kib", static_cast<double>(status_kib("VmHWM:") - peak_before));
  };
  timed("metrics", "/metrics", [&](const std::string& body) {
    const auto at_alive = body.find("\ntroupe_actors_alive ");
    if (at_alive == std::string::npos || std::stod(body.substr(at_alive + 21)) < static_cast<double>(actors))
      fail("observe_scale", "/metrics does not count every actor");
  });
  auto counts_all = [&](const std::string& body) {
    const auto j = json::parse(body);
    if (j["total"].get<std::size_t>() < actors || j["processes"].size() != 100)
      fail("observe_scale", "/api/processes did not walk every actor");
  };
  timed("processes_by_mailbox", "/api/processes?sort=mailbox&limit=100", counts_all);
  timed("processes_deep_page", "/api/processes?sort=id&offset=99900&limit=100", counts_all);
  server.close();
  io.stop();
  return 0;
}

}  // namespace troupe_bench
