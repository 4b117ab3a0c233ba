// The admin server: a runtime's metrics, process table, supervision trees,
// nodes and a web dashboard over HTTP, served by troupe's own io layer.
//
//   troupe::observer::admin_options opts;
//   opts.port = 9090;
//   opts.token = "s3cret";                  // needed by actions (kill)
//   opts.supervisors = {"app.sup"};         // roots of the tree view
//   auto admin = troupe::observer::serve(rt, io, opts);
//   std::cout << admin.url() << '\n';       // http://127.0.0.1:9090/
//
// Routes (JSON unless said):
//   GET  /                          the dashboard (HTML, embedded in the library)
//   GET  /metrics                   Prometheus text (metrics.hpp)
//   GET  /api/overview              uptime, actors, messages, dead letters, workers
//   GET  /api/processes             ?offset=&limit=&sort=id|mailbox|handled|received|memory|name&name=
//   GET  /api/processes/P           one actor (P: <0.N.0>, N, or a registered name),
//                                   with its last traced events when tracing
//   POST /api/processes/P/kill      ends it with reason kill (token)
//   POST /api/trace/start           tracing on (token): ?actor=P[&with_spawned=1], or everything
//                                   (at most 100,000 events/s); 409 while tracing that
//                                   someone else started runs, unless &replace=1
//   POST /api/trace/stop            stops the tracing this server started (token; 409 otherwise)
//   GET  /api/trace                 what the trace rings hold, the newest 200,000 events, as
//                                   Chrome JSON for Perfetto UI (token, even for reads)
//   GET  /api/schedulers            each worker's counters
//   GET  /api/tree                  the supervision trees under opts.supervisors
//   GET  /api/nodes                 this node and its peers' fault states (with opts.node)
//   GET  /api/dead_letters          the latest dead letters
//
// Security, by default: it binds to loopback. An action needs the token in
// `Authorization: Bearer TOKEN`; with no token set, actions are refused.
// With protect_reads, every route but the dashboard's page needs it too.
// A request whose Origin is not the server itself, or whose Host is not an
// address it serves (DNS rebinding), is refused (403): a page in a browser
// tab cannot read or act on it. Headers, bodies and page sizes are bounded.
//
// Work. What walks every actor (/metrics, /api/processes, /api/overview)
// runs on one detached collector thread, not on a worker; at most 16 such
// requests wait for it, the next are answered 503.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "troupe/core/fwd.hpp"
#include "troupe/io/endpoint.hpp"

namespace troupe::io {
class reactor;
}
namespace troupe::net {
class node;
}

namespace troupe::observer {

class metrics;

// How serve() listens and what it shows.
struct admin_options {
  // The address to listen on: loopback unless told otherwise.
  std::string bind = "127.0.0.1";
  // The port; 0 picks a free one (see admin_server::address).
  std::uint16_t port = 0;
  // Needed by actions (and reads, with protect_reads); empty: actions refused.
  std::string token;
  // Reads need the token too (the dashboard's page itself does not).
  bool protect_reads = false;
  // Host header values accepted besides the bound address and
  // localhost:PORT (a name the server is reached by, "admin.example:9090").
  std::vector<std::string> allowed_hosts;
  // The program's own metrics, appended to /metrics (kept alive by the caller).
  const observer::metrics* user_metrics = nullptr;
  // The node this runtime serves, for /api/nodes and node metrics (kept
  // alive by the caller, longer than the server).
  const net::node* node = nullptr;
  // Registered names of the supervisors whose trees /api/tree shows.
  std::vector<std::string> supervisors;
  // The most processes one page returns (`limit`).
  std::size_t max_page = 1000;
  // How far into a sorted table a page may start (`offset` + `limit`).
  std::size_t max_window = 100000;
};

// A running admin server; closing it (or destroying it) stops listening.
class admin_server {
 public:
  // An empty server (not listening).
  admin_server() = default;
  // Takes over `other`'s server; `other` is left empty.
  admin_server(admin_server&& other) noexcept;
  // Closes this server (if any), then takes over `other`'s.
  admin_server& operator=(admin_server&& other) noexcept;
  // Closes the server, as close() does.
  ~admin_server();

  // Where it listens.
  io::endpoint address() const;
  // "http://127.0.0.1:PORT/".
  std::string url() const;
  // Stops accepting and waits for the request being collected, if any;
  // connections still open are answered 503 from then on. After it (or
  // the destructor) the server reads neither options.node nor
  // options.user_metrics: they may go.
  void close();

  struct state;  // implementation

  // Made by serve().
  explicit admin_server(std::shared_ptr<state> s);

 private:
  std::shared_ptr<state> state_;
};

// Starts an admin server for `rt` on `io`. Throws std::system_error when
// the address cannot be bound, std::invalid_argument for bad options.
admin_server serve(runtime& rt, io::reactor& io, admin_options options = {});

}  // namespace troupe::observer
