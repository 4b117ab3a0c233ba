// troupe_demo --observe [HOST:PORT] [--token TOKEN]: after the tour, a small
// application keeps running under a supervisor, with the observer's admin
// server and dashboard on it, until SIGINT or SIGTERM.
//
//   demo.app (supervisor, one_for_one)
//     squarer         answers x * x; a negative x crashes it
//     ticker          counts ticks of its own timer (registered: demo.ticker)
//     pool (supervisor)
//       p1, p2        idle workers
#include <cstdio>
#include <random>
#include <string>

#include "troupe/core/stop_signals.hpp"
#include "troupe/io.hpp"
#include "troupe/observer/admin.hpp"
#include "troupe/observer/metrics.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct tick {};

std::string random_token() {
  std::random_device rd;
  static const char digits[] = "0123456789abcdef";
  std::string t;
  for (int i = 0; i < 24; ++i) t += digits[rd() % 16];
  return t;
}
}  // namespace

int observe_section(runtime& rt, const std::string& address, std::string token) {
  // Shared with the ticker, which may outlive this function (the tree is
  // stopped without waiting for it).
  auto metrics = std::make_shared<observer::metrics>();
  auto& ticks = metrics->counter("demo_ticks_total", "Ticks the demo's ticker handled.");
  auto worker = [](actor& a) -> behavior {
    return {[](int x) -> int {
              if (x < 0) throw std::runtime_error("negative input " + std::to_string(x));
              return x * x;
            },
            [&a](const std::string&) { a.quit(); }};
  };
  auto ticker = [metrics, &ticks](actor& self) -> behavior {
    self.send_interval(10ms, self.pid(), tick{});
    return {[metrics, &ticks](tick) { ticks.add(); }};
  };
  auto app = spawn_supervisor(
      rt, {.strategy = strategy::one_for_one, .intensity = 10, .period = 10s},
      {child_spec::of("squarer", worker), child_spec::of("ticker", spawn_options{.name = "demo.ticker"}, ticker),
       child_spec::supervisor("pool", {}, {child_spec::of("p1", worker), child_spec::of("p2", worker)})});
  rt.register_name("demo.app", app);

  io::reactor io(rt);
  observer::admin_options opts;
  const auto colon = address.rfind(':');
  opts.bind = address.substr(0, colon);
  opts.port = static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1)));
  opts.token = token.empty() ? random_token() : std::move(token);
  opts.user_metrics = metrics.get();
  opts.supervisors = {"demo.app"};
  observer::admin_server admin;
  try {
    admin = observer::serve(rt, io, opts);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "troupe_demo: cannot serve the dashboard at %s: %s\n", address.c_str(), e.what());
    rt.send_exit(app, exit_reason::shutdown());
    return 1;
  }
  std::printf("\ndashboard: %s\n", admin.url().c_str());
  std::printf("admin token (for actions such as kill): %s\n", opts.token.c_str());
  std::printf("try: troupe ps %s --sort mailbox | troupe tree %s | curl %smetrics\n",
              admin.address().to_string().c_str(), admin.address().to_string().c_str(), admin.url().c_str());
  std::printf("serving until interrupted (Ctrl-C)\n");
  std::fflush(stdout);
  const int sig = wait_for_stop_signal();
  std::printf("stopping (signal %d)\n", sig);
  admin.close();
  rt.send_exit(app, exit_reason::shutdown());
  io.stop();
  return 0;
}
