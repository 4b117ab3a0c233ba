// The admin server over real sockets: its routes, its security checks, and
// what it does with bad input.
#include "troupe/observer/admin.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "../eventually.hpp"
#include "../io/raw_socket.hpp"
#include "troupe/fault/supervisor.hpp"
#include "troupe/io.hpp"
#include "troupe/net/node.hpp"
#include "troupe/observer/metrics.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;
using troupe::test_support::eventually;
using json = nlohmann::json;

namespace {

struct work {};

struct reply {
  int status = 0;
  std::string head;
  std::string body;
};

// One request on a fresh connection (Connection: close); `extra` headers
// end in \r\n. Host defaults to the server's own address.
reply call(std::uint16_t port, const std::string& method, const std::string& target, const std::string& extra = "",
           const std::string* host = nullptr) {
  io::testing::raw_socket s(port);
  const std::string host_line = host ? *host : "127.0.0.1:" + std::to_string(port);
  s.send(method + " " + target + " HTTP/1.1\r\nHost: " + host_line + "\r\nConnection: close\r\n" + extra +
         (method == "POST" ? "Content-Length: 0\r\n" : "") + "\r\n");
  std::string raw;
  s.read_to_end(raw);
  reply r;
  const auto split = raw.find("\r\n\r\n");
  if (raw.size() < 12 || split == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, split);
  r.body = raw.substr(split + 4);
  return r;
}

config quiet() {
  config cfg{.workers = 2};
  cfg.log_level = log_level::off;
  return cfg;
}

class admin : public ::testing::Test {
 protected:
  runtime rt{quiet()};
  io::reactor io{rt};
  observer::admin_server server;
  std::uint16_t port = 0;

  void start(observer::admin_options opts = {}) {
    if (opts.token.empty()) opts.token = "s3cret";
    server = observer::serve(rt, io, opts);
    port = server.address().port;
    ASSERT_NE(port, 0);
  }
  void TearDown() override {
    server.close();
    io.stop();
  }
};

}  // namespace

TEST_F(admin, serves_metrics_and_the_dashboard) {
  start();
  auto m = call(port, "GET", "/metrics");
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_NE(m.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << m.head;
  EXPECT_NE(m.body.find("# TYPE troupe_actors_alive gauge\n"), std::string::npos);
  auto page = call(port, "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_NE(page.head.find("text/html"), std::string::npos);
  EXPECT_NE(page.head.find("Content-Security-Policy"), std::string::npos);
  EXPECT_NE(page.body.find("troupe observer"), std::string::npos);
  EXPECT_EQ(server.url(), "http://127.0.0.1:" + std::to_string(port) + "/");
}

TEST_F(admin, lists_pages_and_describes_processes) {
  start();
  auto named = rt.spawn(spawn_options{.name = "observer.target"}, [](actor&) -> behavior { return {[](work) {}}; });
  std::vector<pid> many;
  for (int i = 0; i < 250; ++i) many.push_back(rt.spawn([](actor&) -> behavior { return {[](work) {}}; }));
  auto found = call(port, "GET", "/api/processes?name=observer.target");
  ASSERT_EQ(found.status, 200) << found.body;
  auto j = json::parse(found.body);
  ASSERT_EQ(j["processes"].size(), 1u) << found.body;
  EXPECT_EQ(j["processes"][0]["pid"], named.to_string());
  EXPECT_EQ(j["processes"][0]["name"], "observer.target");
  EXPECT_GE(j["total"].get<std::size_t>(), 251u);
  // Pages by id: the second page follows the first, in order.
  auto first = json::parse(call(port, "GET", "/api/processes?sort=id&limit=100").body);
  auto second = json::parse(call(port, "GET", "/api/processes?sort=id&limit=100&offset=100").body);
  ASSERT_EQ(first["processes"].size(), 100u);
  ASSERT_EQ(second["processes"].size(), 100u);
  std::uint64_t last = 0;
  for (const auto& page : {first, second})
    for (const auto& p : page["processes"]) {
      EXPECT_GT(p["id"].get<std::uint64_t>(), last);
      last = p["id"].get<std::uint64_t>();
    }
  // One, by name, by pid text (escaped, as a browser sends it) and by id.
  for (const std::string& which : {std::string("observer.target"), std::string("%3C0.") + std::to_string(named.id()) + ".0%3E",
                                   std::to_string(named.id())}) {
    auto one = call(port, "GET", "/api/processes/" + which);
    ASSERT_EQ(one.status, 200) << which << ": " << one.body;
    auto d = json::parse(one.body);
    EXPECT_EQ(d["pid"], named.to_string());
    EXPECT_TRUE(d["last_events"].is_array());
  }
  auto by_text = call(port, "GET", "/api/processes/<0." + std::to_string(named.id()) + ".0>");
  EXPECT_EQ(by_text.status, 200) << by_text.body;
  auto overview = json::parse(call(port, "GET", "/api/overview").body);
  EXPECT_GE(overview["actors_alive"].get<std::size_t>(), 251u);
  auto sched = json::parse(call(port, "GET", "/api/schedulers").body);
  EXPECT_GE(sched["workers"].size(), 2u);
  auto nodes = json::parse(call(port, "GET", "/api/nodes").body);
  EXPECT_TRUE(nodes["node"].is_null());
  rt.send(named, std::string("no handler for this"));
  EXPECT_TRUE(eventually([&] {
    auto dead = json::parse(call(port, "GET", "/api/dead_letters").body);
    if (dead["count"].get<std::uint64_t>() < 1) return false;
    for (const auto& d : dead["recent"])
      if (d["reason"] == "no handler" && d["receiver"] == named.to_string()) return true;
    return false;
  }));
}

TEST_F(admin, sorts_by_mailbox) {
  start();
  // Shared with the handler, which may outlive this body if it fails.
  auto release = std::make_shared<std::atomic<bool>>(false);
  auto holding = std::make_shared<std::atomic<bool>>(false);
  auto stuck = rt.spawn([release, holding](actor&) -> behavior {
    return {[release, holding](int) {
              *holding = true;
              while (!*release) std::this_thread::sleep_for(1ms);
            },
            [](work) {}};
  });
  // However the test ends, the handler returns (or the runtime's
  // shutdown would wait for it).
  std::shared_ptr<void> let_go(nullptr, [release](void*) { *release = true; });
  rt.send(stuck, 1);
  ASSERT_TRUE(eventually([&] { return holding->load(); }));
  for (int i = 0; i < 40; ++i) rt.send(stuck, work{});
  auto r = call(port, "GET", "/api/processes?sort=mailbox&limit=3");
  ASSERT_EQ(r.status, 200) << r.head << r.body;
  auto j = json::parse(r.body);
  ASSERT_FALSE(j["processes"].empty());
  EXPECT_EQ(j["processes"][0]["pid"], stuck.to_string());
  EXPECT_EQ(j["processes"][0]["mailbox"], 40);
}

TEST_F(admin, kills_only_with_the_token_and_the_tree_shows_the_restart) {
  start();
  auto sup = spawn_supervisor(rt, {.strategy = strategy::one_for_one, .intensity = 5, .period = 5s},
                              {child_spec::of("alpha", [](actor&) -> behavior { return {[](work) {}}; }),
                               child_spec::of("beta", [](actor&) -> behavior { return {[](work) {}}; })});
  ASSERT_TRUE(rt.register_name("test.sup", sup));
  server.close();
  observer::admin_options opts;
  opts.supervisors = {"test.sup"};
  start(opts);
  auto tree = json::parse(call(port, "GET", "/api/tree").body);
  ASSERT_EQ(tree["supervisors"].size(), 1u) << tree.dump();
  auto& kids = tree["supervisors"][0]["children"];
  ASSERT_EQ(kids.size(), 2u) << tree.dump();
  EXPECT_EQ(kids[0]["id"], "alpha");
  const std::string alpha = kids[0]["pid"];
  // No token, a wrong one, then the right one.
  EXPECT_EQ(call(port, "POST", "/api/processes/" + alpha + "/kill").status, 401);
  EXPECT_EQ(call(port, "POST", "/api/processes/" + alpha + "/kill", "Authorization: Bearer s3creT\r\n").status, 401);
  auto killed = call(port, "POST", "/api/processes/" + alpha + "/kill", "Authorization: Bearer s3cret\r\n");
  ASSERT_EQ(killed.status, 200) << killed.body;
  ASSERT_TRUE(eventually([&] {
    auto t = json::parse(call(port, "GET", "/api/tree").body);
    const auto& k = t["supervisors"][0]["children"];
    return k.size() == 2 && k[0]["running"] == true && k[0]["pid"] != alpha && k[0]["restarts"] == 1 &&
           k[0]["last_exit"] == "killed";
  }));
  auto m = call(port, "GET", "/metrics");
  EXPECT_NE(m.body.find("troupe_supervisor_child_restarts_total{supervisor=\"test.sup\",child=\"alpha\"} 1\n"),
            std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("troupe_supervisor_child_restarts_total{supervisor=\"test.sup\",child=\"beta\"} 0\n"),
            std::string::npos);
  EXPECT_EQ(call(port, "POST", "/api/processes/99999999/kill", "Authorization: Bearer s3cret\r\n").status, 404);
}

TEST_F(admin, traces_an_actor_on_request_and_serves_the_trace) {
  start();
  auto echo = rt.spawn(spawn_options{.name = "observer.echo"}, [](actor&) -> behavior { return {[](work) {}}; });
  auto other = rt.spawn([](actor&) -> behavior { return {[](work) {}}; });
  const std::string bearer = "Authorization: Bearer s3cret\r\n";
  EXPECT_EQ(call(port, "GET", "/api/trace").status, 401);           // the trace needs the token
  EXPECT_EQ(call(port, "GET", "/api/trace", bearer).status, 404);   // nothing traced yet
  EXPECT_EQ(call(port, "POST", "/api/trace/start?actor=observer.echo").status, 401);
  EXPECT_EQ(call(port, "POST", "/api/trace/start?actor=nobody", bearer).status, 404);
  auto started = call(port, "POST", "/api/trace/start?actor=observer.echo", bearer);
  ASSERT_EQ(started.status, 200) << started.body;
  for (int i = 0; i < 5; ++i) {
    rt.send(echo, work{});
    rt.send(other, work{});
  }
  ASSERT_TRUE(eventually([&] {
    auto d = json::parse(call(port, "GET", "/api/processes/observer.echo").body);
    return d["last_events"].size() >= 5;
  }));
  auto trace = call(port, "GET", "/api/trace", bearer);
  ASSERT_EQ(trace.status, 200);
  EXPECT_NE(trace.head.find("attachment"), std::string::npos);
  auto doc = json::parse(trace.body);
  ASSERT_TRUE(doc.contains("traceEvents"));
  // Only the actor asked for: its track is there, the other one's is not.
  EXPECT_NE(trace.body.find("<0." + std::to_string(echo.id()) + ".0>"), std::string::npos);
  const std::string other_id = "<0." + std::to_string(other.id()) + ".0>";
  EXPECT_EQ(trace.body.find(other_id), std::string::npos);
  EXPECT_EQ(call(port, "POST", "/api/trace/stop", bearer).status, 200);
  EXPECT_FALSE(tracing::active(rt));
  // Tracing the program started itself is not the server's to change or stop.
  tracing::start(rt);
  EXPECT_EQ(call(port, "POST", "/api/trace/start?actor=observer.echo", bearer).status, 409);
  EXPECT_EQ(call(port, "POST", "/api/trace/stop", bearer).status, 409);
  EXPECT_TRUE(tracing::active(rt));
  EXPECT_EQ(call(port, "POST", "/api/trace/start?replace=1", bearer).status, 200);
  EXPECT_EQ(call(port, "POST", "/api/trace/stop", bearer).status, 200);
  EXPECT_FALSE(tracing::active(rt));
}

TEST_F(admin, refuses_other_hosts_and_origins) {
  start();
  const std::string evil = "evil.example:" + std::to_string(port);
  EXPECT_EQ(call(port, "GET", "/api/overview", "", &evil).status, 403);
  EXPECT_EQ(call(port, "GET", "/api/overview", "Origin: http://evil.example\r\n").status, 403);
  EXPECT_EQ(call(port, "GET", "/api/overview", "Sec-Fetch-Site: cross-site\r\n").status, 403);
  EXPECT_EQ(call(port, "GET", "/api/overview", "Origin: http://127.0.0.1:" + std::to_string(port) + "\r\n").status,
            200);
  const std::string local = "localhost:" + std::to_string(port);
  EXPECT_EQ(call(port, "GET", "/api/overview", "", &local).status, 200);
  EXPECT_EQ(call(port, "DELETE", "/api/overview").status, 405);
}

TEST_F(admin, without_a_token_actions_are_off_and_protected_reads_need_it) {
  observer::admin_options opts;
  opts.protect_reads = true;
  opts.token = "tok";
  start(opts);
  EXPECT_EQ(call(port, "GET", "/api/overview").status, 401);
  EXPECT_EQ(call(port, "GET", "/metrics").status, 401);
  EXPECT_EQ(call(port, "GET", "/").status, 200);  // the page asks for the token itself
  EXPECT_EQ(call(port, "GET", "/metrics", "Authorization: Bearer tok\r\n").status, 200);
}

TEST_F(admin, options_that_would_expose_it_are_refused) {
  observer::admin_options open;
  open.bind = "0.0.0.0";  // reachable from elsewhere, with nothing to guard actions
  EXPECT_THROW(observer::serve(rt, io, open), std::invalid_argument);
  observer::admin_options guarded_reads;
  guarded_reads.protect_reads = true;  // ... with no token to guard them
  EXPECT_THROW(observer::serve(rt, io, guarded_reads), std::invalid_argument);
}

TEST_F(admin, a_closed_server_answers_nothing_but_503) {
  start();
  // A connection accepted and served before the close, kept open.
  io::testing::raw_socket kept(port);
  kept.send("GET /nope HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n\r\n");
  std::string first;
  ASSERT_TRUE(kept.read_until(first, "not found: /nope\n")) << first;
  server.close();
  kept.send("POST /api/processes/1/kill HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
            "\r\nAuthorization: Bearer s3cret\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  std::string out;
  kept.read_to_end(out);
  EXPECT_EQ(out.rfind("HTTP/1.1 503", 0), 0u) << out;
}

TEST_F(admin, bad_input_gets_a_clear_error_and_the_server_keeps_serving) {
  start();
  for (const char* target :
       {"/api/processes?limit=abc", "/api/processes?limit=0", "/api/processes?limit=1000000",
        "/api/processes?offset=99999999999999999999999", "/api/processes?offset=100000&limit=1",
        "/api/processes?sort=bogus", "/api/processes?name=%zz", "/api/processes?limit=-1"})
    EXPECT_EQ(call(port, "GET", target).status, 400) << target;
  EXPECT_EQ(call(port, "GET", "/api/processes/%zz").status, 400);
  for (const char* target : {"/api/processes/nobody", "/api/processes/<0.99999999999999999999.0>",
                             "/api/processes/0", "/api/processes/", "/nope"})
    EXPECT_EQ(call(port, "GET", target).status, 404) << target;
  const std::string long_name(300, 'x');
  EXPECT_EQ(call(port, "GET", "/api/processes?name=" + long_name).status, 400);
  // A body over the limit, and garbage: the connection closes, the server lives.
  {
    io::testing::raw_socket s(port);
    s.send("GARBAGE\r\n\r\n");
    std::string out;
    s.read_to_end(out);
  }
  EXPECT_EQ(call(port, "GET", "/api/overview").status, 200);
}

TEST_F(admin, many_connections_are_bounded) {
  start();
  std::vector<std::unique_ptr<io::testing::raw_socket>> held;
  for (int i = 0; i < 80; ++i) held.push_back(std::make_unique<io::testing::raw_socket>(port));
  // Past the cap, connections are closed unread; the held ones still work.
  held.front()->send("GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                     "\r\nConnection: close\r\n\r\n");
  std::string out;
  held.front()->read_to_end(out);
  EXPECT_NE(out.find("200 OK"), std::string::npos) << out;
  held.clear();
  ASSERT_TRUE(eventually([&] { return call(port, "GET", "/api/overview").status == 200; }));
}

TEST_F(admin, user_metrics_and_a_node_appear_in_metrics) {
  observer::metrics mine;
  mine.counter("app_orders_total", "Orders.").add(9);
  const std::string cookie = "observer-admin-test-cookie-0123456789";
  net::node a(rt, io, {.name = "a@127.0.0.1", .cookie = cookie});
  runtime rt_b{quiet()};
  io::reactor io_b{rt_b};
  {
    net::node b(rt_b, io_b, {.name = "b@127.0.0.1", .cookie = cookie});
    ASSERT_TRUE(a.connect(b.address()).outcome());
    observer::admin_options opts;
    opts.user_metrics = &mine;
    opts.node = &a;
    start(opts);
    auto m = call(port, "GET", "/metrics");
    EXPECT_NE(m.body.find("app_orders_total 9\n"), std::string::npos) << m.body;
    EXPECT_NE(m.body.find("troupe_node_peer_up{peer=\"b@127.0.0.1\",state=\"ok\"} 1\n"), std::string::npos) << m.body;
    auto nodes = json::parse(call(port, "GET", "/api/nodes").body);
    EXPECT_EQ(nodes["node"], "a@127.0.0.1");
    ASSERT_EQ(nodes["peers"].size(), 1u) << nodes.dump();
    EXPECT_EQ(nodes["peers"][0]["name"], "b@127.0.0.1");
    EXPECT_EQ(nodes["peers"][0]["state"], "ok");
    server.close();
    server = {};  // it reads the node: gone before the node is
  }
  io_b.stop();
}
