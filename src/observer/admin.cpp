// The admin server: routes, the security checks in front of them, and the
// collector thread that runs what walks every actor.
//
// A request passes, in order: the Host check (an address this server is
// reached by: refuses DNS rebinding), the Origin check (a browser page of
// another origin: refused, so no cross-site reads or actions), the method
// (GET/HEAD read, POST acts), then the token where the route needs it.
// Only then is it routed.
#include "troupe/observer/admin.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "admin_api.hpp"
#include "troupe/async/future.hpp"
#include "troupe/async/service.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/runtime_stats.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/io/codecs/http.hpp"
#include "troupe/io/server.hpp"
#include "troupe/observer/metrics.hpp"

namespace troupe::observer {

extern const char dashboard_html[];  // dashboard.cpp, made from dashboard.html at build time

namespace {

namespace http = io::http;

// One thread for the work that walks every actor or waits on supervisors:
// it never takes a worker from the actors, and a burst of scrapes queues
// here (at most `max_queued`) instead of running at once.
class collector {
 public:
  static constexpr std::size_t max_queued = 16;
  collector() : thread_([this] { run(); }) {}
  ~collector() { stop(); }
  // Waits for the job under way; the queued ones are dropped (their
  // promises break: the clients get a 500) and later posts refused.
  // Idempotent; not from a job.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    std::lock_guard join_lock(join_mutex_);
    if (thread_.joinable()) thread_.join();
  }
  // False when full or stopping.
  bool post(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || jobs_.size() >= max_queued) return false;
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) break;  // jobs left are dropped: their promises break, the clients get a 500
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      job = nullptr;
      lock.lock();
    }
    jobs_.clear();
  }
  std::mutex mutex_;
  std::mutex join_mutex_;  // stop() from two threads joins once
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: started once the rest is built
};

// What the routes need; shared by the server and its connections' service.
struct context {
  runtime& rt;
  admin_options opts;
  std::vector<std::string> hosts;  // Host values accepted; written once, before `serving`
  std::atomic<bool> serving{false};  // release after `hosts` is set, acquire by route()
  std::atomic<bool> closed{false};   // set by admin_server::close: everything is 503 after
  // Collector thread only (its jobs run one at a time):
  std::uint64_t trace_session = 0;    // the tracing session this server started, 0: none
  detail::restart_cache restarts;     // /metrics' supervisor figures, refreshed now and then
  collector work;                     // last: jobs that use the members above end before they go
  context(runtime& r, admin_options o) : rt(r), opts(std::move(o)) {}
};

http::response json_reply(detail::answer a) {
  if (a.status != 200) return http::response::text(a.status, std::move(a.body) + "\n");
  auto rep = http::response::text(200, std::move(a.body), "application/json");
  rep.headers.push_back({"Cache-Control", "no-store"});
  return rep;
}

// Compares in time independent of where they differ.
bool same_secret(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool has_token(const context& ctx, const http::request& req) {
  if (ctx.opts.token.empty()) return false;
  const std::string* auth = req.find_header("Authorization");
  const std::string prefix = "Bearer ";
  if (!auth || auth->size() <= prefix.size() || auth->compare(0, prefix.size(), prefix) != 0) return false;
  return same_secret(auth->substr(prefix.size()), ctx.opts.token);
}

// Runs `fn` on the collector; 503 when it is full.
future<http::response> on_collector(const std::shared_ptr<context>& ctx, std::function<detail::answer()> fn) {
  promise<http::response> reply;
  auto answer = reply.get_future();
  const bool posted = ctx->work.post([reply, fn = std::move(fn)]() mutable {
    try {
      reply.try_set_value(json_reply(fn()));
    } catch (const std::exception& e) {
      reply.try_set_value(http::response::text(500, std::string("observer: ") + e.what() + "\n"));
    }
  });
  if (!posted) return make_value<http::response>(http::response::text(503, "observer busy (or closed): try again later\n"));
  return answer;
}

future<http::response> ready(http::response r) { return make_value<http::response>(std::move(r)); }

future<http::response> route(const std::shared_ptr<context>& ctx, http::request& req) {
  runtime& rt = ctx->rt;
  const admin_options& opts = ctx->opts;
  // The port is known only once listening: refuse until the hosts are set.
  if (!ctx->serving.load(std::memory_order_acquire))
    return ready(http::response::text(503, "starting: try again\n"));
  if (ctx->closed.load(std::memory_order_acquire)) return ready(http::response::text(503, "closed\n"));
  // 1. Host: one of ours (a rebinding name pointing at loopback is not).
  const std::string* host = req.find_header("Host");
  if (!host || std::find(ctx->hosts.begin(), ctx->hosts.end(), *host) == ctx->hosts.end())
    return ready(http::response::text(403, "host not served here\n"));
  // 2. Origin: a browser sends it on cross-origin requests and on POSTs.
  if (const std::string* origin = req.find_header("Origin"); origin && *origin != "http://" + *host)
    return ready(http::response::text(403, "cross-origin requests are refused\n"));
  if (const std::string* site = req.find_header("Sec-Fetch-Site"); site && *site == "cross-site")
    return ready(http::response::text(403, "cross-site requests are refused\n"));
  // 3. Method.
  const bool read = req.method == "GET" || req.method == "HEAD";
  if (!read && req.method != "POST") {
    auto rep = http::response::text(405, "GET, HEAD or POST\n");
    rep.headers.push_back({"Allow", "GET, HEAD, POST"});
    return ready(std::move(rep));
  }
  const auto question = req.target.find('?');
  const std::string path = req.target.substr(0, question);
  auto q = detail::parse_query(question == std::string::npos ? std::string_view{}
                                                             : std::string_view(req.target).substr(question + 1));
  if (!q) return ready(http::response::text(400, "malformed query string\n"));
  if (read && path == "/") {
    auto rep = http::response::text(200, dashboard_html, "text/html; charset=utf-8");
    // The page runs only its own script and talks only to this server.
    rep.headers.push_back({"Content-Security-Policy",
                           "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; frame-ancestors 'none'"});
    rep.headers.push_back({"X-Content-Type-Options", "nosniff"});
    return ready(std::move(rep));
  }
  // 4. The token: actions always, reads when protected.
  if ((!read || opts.protect_reads) && !has_token(*ctx, req)) {
    auto rep = http::response::text(401, opts.token.empty() ? "actions are off: the server has no token\n"
                                                            : "a token is needed: Authorization: Bearer TOKEN\n");
    rep.headers.push_back({"WWW-Authenticate", "Bearer"});
    return ready(std::move(rep));
  }
  const std::string procs = "/api/processes/";
  // Actions run on the collector too: close() waits for the one under way
  // and refuses the rest, so none lands after it returns.
  context* const c = ctx.get();  // outlives its collector's jobs (see context)
  if (!read && path == "/api/trace/start") {
    const std::string actor = q->find("actor") ? *q->find("actor") : "";
    const bool with_spawned = q->find("with_spawned") && *q->find("with_spawned") == "1";
    const bool replace = q->find("replace") && *q->find("replace") == "1";
    return on_collector(ctx, [c, actor, with_spawned, replace] { return detail::trace_start(c->rt, c->trace_session, actor, with_spawned, replace); });
  }
  if (!read && path == "/api/trace/stop")
    return on_collector(ctx, [c] { return detail::trace_stop(c->rt, c->trace_session); });
  if (!read) {
    const std::string kill = "/kill";
    if (path.rfind(procs, 0) == 0 && path.size() > procs.size() + kill.size() &&
        path.compare(path.size() - kill.size(), kill.size(), kill) == 0) {
      const auto which = detail::percent_decode(path.substr(procs.size(), path.size() - procs.size() - kill.size()), false);
      if (!which) return ready(http::response::text(400, "malformed escape in the path\n"));
      return on_collector(ctx, [&rt, which = *which] { return detail::kill(rt, which); });
    }
    return ready(http::response::text(404, "no such action\n"));
  }
  if (path == "/metrics") {
    return on_collector(ctx, [c] {
             return detail::answer{200, prometheus_text(c->rt, c->opts.user_metrics, c->opts.node) +
                                            detail::supervisor_metrics(c->rt, c->opts, c->restarts)};
           })
        .map([](http::response r) {
          // Not JSON: the text format's own type.
          for (auto& h : r.headers)
            if (h.name == "Content-Type") h.value = "text/plain; version=0.0.4; charset=utf-8";
          return r;
        });
  }
  if (path == "/api/overview") return on_collector(ctx, [&rt, &opts] { return detail::overview_json(rt, opts); });
  if (path == "/api/processes")
    return on_collector(ctx, [&rt, &opts, q = *q] { return detail::processes_json(rt, opts, q); });
  if (path.rfind(procs, 0) == 0) {
    // Browsers send <0.4.0> as %3C0.4.0%3E.
    const auto which = detail::percent_decode(path.substr(procs.size()), false);
    if (!which) return ready(http::response::text(400, "malformed escape in the path\n"));
    return on_collector(ctx, [&rt, which = *which] { return detail::process_json(rt, detail::resolve_pid(rt, which)); });
  }
  if (path == "/api/schedulers") return on_collector(ctx, [&rt] { return detail::schedulers_json(rt); });
  if (path == "/api/tree") return on_collector(ctx, [&rt, &opts] { return detail::tree_json(rt, opts); });
  if (path == "/api/nodes") return on_collector(ctx, [&opts] { return detail::nodes_json(opts); });
  if (path == "/api/dead_letters") return on_collector(ctx, [&rt] { return detail::dead_letters_json(rt); });
  if (path == "/api/trace") {
    // What the rings hold now, as Chrome trace-event JSON for Perfetto UI.
    // It carries what the program's messages and exits said, and can be
    // large: the token is needed even where other reads are open.
    if (!has_token(*ctx, req)) {
      auto rep = http::response::text(401, "the trace needs the token: Authorization: Bearer TOKEN\n");
      rep.headers.push_back({"WWW-Authenticate", "Bearer"});
      return ready(std::move(rep));
    }
    return on_collector(ctx, [&rt] { return detail::trace_json(rt); }).map([](http::response r) {
      if (r.status == 200) r.headers.push_back({"Content-Disposition", "attachment; filename=\"troupe-trace.json\""});
      return r;
    });
  }
  return ready(http::response::text(404, "not found: " + path + "\n"));
}

bool is_loopback(const std::string& host) {
  return host.rfind("127.", 0) == 0 || host == "::1" || host == "localhost";
}

}  // namespace

struct admin_server::state {
  std::shared_ptr<context> ctx;
  io::listener listener;
  io::endpoint at;
  // After this, nothing reads the runtime's node or metrics any more:
  // connections still open are answered 503.
  void shut() {
    ctx->closed.store(true, std::memory_order_release);
    listener.close();
    ctx->work.stop();
  }
  ~state() { shut(); }
};

admin_server::admin_server(std::shared_ptr<state> s) : state_(std::move(s)) {}
admin_server::admin_server(admin_server&&) noexcept = default;
admin_server& admin_server::operator=(admin_server&&) noexcept = default;
admin_server::~admin_server() = default;

io::endpoint admin_server::address() const { return state_ ? state_->at : io::endpoint{}; }

std::string admin_server::url() const {
  if (!state_) return {};
  return "http://" + state_->at.to_string() + "/";
}

void admin_server::close() {
  if (state_) state_->shut();
}

admin_server serve(runtime& rt, io::reactor& io, admin_options options) {
  if (options.max_page == 0 || options.max_window < options.max_page)
    throw std::invalid_argument("observer: max_page must be at least 1 and at most max_window");
  if (options.protect_reads && options.token.empty())
    throw std::invalid_argument("observer: protect_reads needs a token");
  if (!is_loopback(options.bind) && options.token.empty())
    throw std::invalid_argument("observer: binding to " + options.bind +
                                " (not loopback) needs a token; set protect_reads to guard the reads too");
  auto ctx = std::make_shared<context>(rt, std::move(options));
  service<http::request, http::response> svc = [ctx](http::request req) { return route(ctx, req); };
  io::serve_options<http::response> sopts;
  sopts.max_in_flight = 4;  // a client pipelining scrapes waits for its own
  sopts.socket.max_connections = 64;
  sopts.on_error = [](const error& e) { return http::response::text(500, "observer: " + e.message() + "\n"); };
  http::server_codec codec;
  codec.lim.max_body_bytes = 4096;  // actions carry no body worth more
  auto st = std::make_shared<admin_server::state>();
  st->ctx = ctx;
  st->listener = io::serve<http::server_codec>(io, {ctx->opts.bind, ctx->opts.port}, svc, sopts, codec);
  st->at = st->listener.local();
  const std::string port = std::to_string(st->at.port);
  ctx->hosts = {st->at.to_string(), "localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port};
  for (const auto& h : ctx->opts.allowed_hosts) ctx->hosts.push_back(h);
  ctx->serving.store(true, std::memory_order_release);
  return admin_server(std::move(st));
}

}  // namespace troupe::observer
