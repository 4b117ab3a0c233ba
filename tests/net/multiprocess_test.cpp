// Real processes on loopback: `troupe node` children (tools/troupe) and this
// test as a node of its own. Remote send, request, monitor and link across
// processes, pids in messages, the mesh, kill -9 (noconnection, node_down),
// SIGSTOP/SIGCONT (temp_fail, then ok), a restarted node's new incarnation,
// and `troupe ping` with the right and a wrong cookie.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <iterator>

#include <cstdio>
#include <fstream>

#include "net_testing.hpp"

#include <mutex>
#include <thread>
#include <vector>

#include "troupe/core/scoped_actor.hpp"
#include "troupe/core/trace_file.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
using troupe::pid;
namespace net = troupe::net;
namespace io = troupe::io;
using troupe::net::testing::spawn_watcher;

const char* const cookie = "multiprocess-cookie";

// A child process with its stdin and stdout on pipes. Closing its stdin
// (the destructor) asks a node to stop; SIGKILL follows if it lingers.
class child {
 public:
  explicit child(std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    args.insert(args.begin(), TROUPE_CLI);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, TROUPE_CLI, &fa, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start " + std::string(TROUPE_CLI));
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~child() {
    if (stdin_ >= 0) close(stdin_);
    if (!reaped_) {
      for (int i = 0; i < 200 && waitpid(pid_, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(10ms);
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    close(stdout_);
  }
  // The first line (from now on) that starts with `prefix`; "" on timeout or end.
  std::string line_starting(const std::string& prefix, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (line.rfind(prefix, 0) == 0) return line;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{stdout_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char buf[4096];
      ssize_t n = read(stdout_, buf, sizeof buf);
      if (n <= 0) return {};
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }
  void signal(int sig) { ::kill(pid_, sig); }
  int wait_exit() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  void kill9() {
    ::kill(pid_, SIGKILL);
    wait_exit();
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
  bool reaped_ = false;
  std::string buffer_;
};

// Starts `troupe node` and returns the address it listens at.
io::endpoint start(child& c) {
  std::string line = c.line_starting("listening ");
  if (line.empty()) throw std::runtime_error("the node did not start");
  auto addr = line.substr(std::string("listening ").size());
  auto colon = addr.rfind(':');
  return {addr.substr(0, colon), static_cast<std::uint16_t>(std::stoi(addr.substr(colon + 1)))};
}

std::vector<std::string> node_args(const std::string& name, std::uint16_t port = 0) {
  return {"node", "--name", name, "--cookie", cookie, "--listen", "127.0.0.1:" + std::to_string(port),
          "--heartbeat-ms", "50", "--temp-fail-ms", "300", "--perm-fail-ms", "3000"};
}

struct here {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
  net::node node{rt, reactor,
                 {.name = "t@127.0.0.1", .cookie = cookie, .heartbeat = 50ms,
                  .temp_fail_after = 300ms, .perm_fail_after = 3s}};
  std::mutex mu;
  std::vector<net::node_event> events;
  here() {
    node.watch([this](const net::node_event& e) {
      std::lock_guard lock(mu);
      events.push_back(e);
    });
  }
  bool saw(const std::string& who, net::fault_state state, std::chrono::milliseconds timeout = 10s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mu);
        for (auto& e : events)
          if (e.node == who && e.state == state) return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
};

TEST(Multiprocess, ThreeNodesMeshServeAndFailLikeNodesShould) {
  here t;
  child b(node_args("b@127.0.0.1"));
  auto b_addr = start(b);
  auto c_args = node_args("c@127.0.0.1");
  c_args.insert(c_args.end(), {"--connect", b_addr.to_string()});
  child c(c_args);
  start(c);
  ASSERT_FALSE(b.line_starting("node_up c@127.0.0.1").empty());

  ASSERT_EQ(t.node.connect(b_addr).get(), "b@127.0.0.1");
  // b tells c about t; c (the smaller name) dials t.
  ASSERT_TRUE(t.saw("c@127.0.0.1", net::fault_state::ok));

  troupe::scoped_actor me(t.rt);
  pid b_echo = t.node.whereis("troupe://b@127.0.0.1/echo").get();
  pid c_echo = t.node.whereis("troupe://c@127.0.0.1/echo").get();
  ASSERT_TRUE(b_echo && c_echo);
  auto r1 = me.request<std::string>(b_echo, std::string("to b"), 5s);
  auto r2 = me.request<std::int64_t>(c_echo, std::int64_t{42}, 5s);
  ASSERT_TRUE(r1 && r2);
  EXPECT_EQ(*r1, "to b");
  EXPECT_EQ(*r2, 42);
  me.send(c_echo, me.pid());  // our pid travels; c sends "pong" to it
  auto pong = me.receive<std::string>(5s);
  ASSERT_TRUE(pong);
  EXPECT_EQ(*pong, "pong");

  // A monitored remote actor's crash arrives with its reason.
  troupe::scoped_actor watcher(t.rt);
  pid b_crash = t.node.whereis("troupe://b@127.0.0.1/crash").get();
  spawn_watcher(t.rt, b_crash, watcher.pid(), false);
  std::this_thread::sleep_for(100ms);
  me.send(b_crash, std::string("boom"));
  auto d = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->reason, troupe::exit_reason::error("boom"));

  // kill -9 c: its links and monitors fire with noconnection; b notices too.
  troupe::scoped_actor partner(t.rt);
  spawn_watcher(t.rt, c_echo, watcher.pid(), false);
  spawn_watcher(t.rt, c_echo, partner.pid(), true);
  std::this_thread::sleep_for(100ms);
  c.kill9();
  auto d2 = watcher.receive<troupe::down>(5s);
  ASSERT_TRUE(d2);
  EXPECT_EQ(d2->reason, net::noconnection());
  auto e = partner.receive<troupe::exit_signal>(5s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->reason, net::noconnection());
  EXPECT_TRUE(t.saw("c@127.0.0.1", net::fault_state::perm_fail));
  EXPECT_FALSE(b.line_starting("node_down c@127.0.0.1").empty());
  EXPECT_EQ(me.send(c_echo, std::string("anyone?")), troupe::send_status::dead_letter);

  // SIGSTOP b: silent, so suspected; SIGCONT: ok again, still connected.
  b.signal(SIGSTOP);
  EXPECT_TRUE(t.saw("b@127.0.0.1", net::fault_state::temp_fail));
  b.signal(SIGCONT);
  std::this_thread::sleep_for(200ms);
  {
    std::lock_guard lock(t.mu);
    ASSERT_FALSE(t.events.empty());
    EXPECT_EQ(t.events.back().node, "b@127.0.0.1");
    EXPECT_EQ(t.events.back().state, net::fault_state::ok);
  }
  auto r3 = me.request<std::string>(b_echo, std::string("still there?"), 5s);
  ASSERT_TRUE(r3);
  EXPECT_EQ(*r3, "still there?");
}

TEST(Multiprocess, ARestartedNodeIsANewIncarnation) {
  here t;
  auto d = std::make_unique<child>(node_args("d@127.0.0.1"));
  auto addr = start(*d);
  t.node.connect(addr).get();
  pid old_echo = t.node.whereis("troupe://d@127.0.0.1/echo").get();
  ASSERT_TRUE(old_echo);
  d->kill9();
  ASSERT_TRUE(t.saw("d@127.0.0.1", net::fault_state::perm_fail));
  d = std::make_unique<child>(node_args("d@127.0.0.1", addr.port));
  start(*d);
  ASSERT_EQ(t.node.connect(addr).get(), "d@127.0.0.1");
  pid new_echo = t.node.whereis("troupe://d@127.0.0.1/echo").get();
  ASSERT_TRUE(new_echo);
  EXPECT_NE(new_echo, old_echo);
  troupe::scoped_actor me(t.rt);
  // The old pid names an actor of the old run: nothing reaches the new one.
  EXPECT_EQ(me.send(old_echo, std::string("hello?")), troupe::send_status::dead_letter);
  auto r = me.request<std::string>(new_echo, std::string("hello"), 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "hello");
}

TEST(Multiprocess, PingWithTheRightAndAWrongCookie) {
  child b(node_args("b@127.0.0.1"));
  auto addr = start(b);
  child good({"ping", "b@127.0.0.1", "--cookie", cookie, "--connect", addr.to_string()});
  EXPECT_FALSE(good.line_starting("pong b@127.0.0.1").empty());
  EXPECT_EQ(good.wait_exit(), 0);
  child bad({"ping", "b@127.0.0.1", "--cookie", "a-wrong-cookie-of-24-bytes", "--connect", addr.to_string()});
  EXPECT_FALSE(bad.line_starting("pang b@127.0.0.1").empty());
  EXPECT_EQ(bad.wait_exit(), 1);
  // The cookie from a file (its first line) works as --cookie does.
  std::string path = "/tmp/troupe-multiprocess-cookie-" + std::to_string(getpid());
  {
    std::ofstream f(path);
    f << cookie << "\n";
  }
  child from_file({"ping", "b@127.0.0.1", "--cookie-file", path, "--connect", addr.to_string()});
  EXPECT_FALSE(from_file.line_starting("pong b@127.0.0.1").empty());
  EXPECT_EQ(from_file.wait_exit(), 0);
  std::remove(path.c_str());
  // A short cookie is refused before anything is sent, unless forced.
  child weak({"ping", "b@127.0.0.1", "--cookie", "short", "--connect", addr.to_string()});
  EXPECT_EQ(weak.wait_exit(), 2);
  child forced({"ping", "b@127.0.0.1", "--cookie", "short", "--weak-cookie", "--connect", addr.to_string()});
  EXPECT_FALSE(forced.line_starting("pang b@127.0.0.1").empty());  // the wrong cookie, but it was tried
  EXPECT_EQ(forced.wait_exit(), 1);
}

// `troupe trace` asks a running node's trace service for a window while
// this process keeps its echo busy: the file is Chrome trace-event JSON
// with the echo's handlings in it. A node that serves no traces answers
// with an error, and the tool says so.
TEST(Multiprocess, TraceFetchesAWindowOfARunningNode) {
  child b(node_args("b@127.0.0.1"));
  auto addr = start(b);
  here t;
  ASSERT_EQ(t.node.connect(addr).get(), "b@127.0.0.1");
  pid echo = t.node.whereis("troupe://b@127.0.0.1/echo").get();
  ASSERT_TRUE(echo);
  const std::string path = "/tmp/troupe-multiprocess-trace-" + std::to_string(getpid()) + ".json";
  child tracer({"trace", "b@127.0.0.1", "--cookie", cookie, "--connect", addr.to_string(), "--for", "1500ms",
                "-o", path});
  troupe::scoped_actor me(t.rt);
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  int answered = 0;
  while (std::chrono::steady_clock::now() < until) {
    auto r = me.request<std::string>(echo, std::string("traced?"), 5s);
    if (r && *r == "traced?") ++answered;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_GT(answered, 10);
  std::string line = tracer.line_starting("traced b@127.0.0.1");
  EXPECT_FALSE(line.empty()) << "troupe trace did not report a trace";
  EXPECT_EQ(tracer.wait_exit(), 0);
  std::ifstream in(path);
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  EXPECT_EQ(json.rfind("{\"displayTimeUnit\"", 0), 0u) << json.substr(0, 200);
  EXPECT_NE(json.find("\"traceEvents\""), std::string::npos);
  // A message from another node is named by its wire name.
  EXPECT_NE(json.find("{\"ph\":\"X\",\"name\":\"string\""), std::string::npos)
      << "the echo's handlings of strings are not in the trace";
}

// `troupe trace` with a filter (one actor by its registered name, one
// message type) and --format jsonl; then `troupe trace check` on the saved
// file: a rule that holds (exit 0), one that is broken (exit 1), a spec
// that does not parse and a file that is not JSON lines (exit 2). An actor
// name the node does not know is an error from the node.
TEST(Multiprocess, TraceOneActorAsJsonLinesThenCheckTheFile) {
  child b(node_args("b@127.0.0.1"));
  auto addr = start(b);
  here t;
  ASSERT_EQ(t.node.connect(addr).get(), "b@127.0.0.1");
  pid echo = t.node.whereis("troupe://b@127.0.0.1/echo").get();
  ASSERT_TRUE(echo);
  const std::string path = "/tmp/troupe-multiprocess-trace-" + std::to_string(getpid()) + ".jsonl";
  child tracer({"trace", "b@127.0.0.1", "--cookie", cookie, "--connect", addr.to_string(), "--for", "1500ms",
                "--actor", "echo", "--type", "string", "--format", "jsonl", "-o", path});
  troupe::scoped_actor me(t.rt);
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    (void)me.request<std::string>(echo, std::string("traced?"), 5s);
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_FALSE(tracer.line_starting("traced b@127.0.0.1").empty());
  EXPECT_EQ(tracer.wait_exit(), 0);
  std::vector<troupe::tracing::event> events;
  {
    std::ifstream in(path);
    events = troupe::tracing::read_jsonl(in);
  }
  std::uint64_t echo_there = 0;
  for (auto& e : events)
    if (e.kind == troupe::tracing::event_kind::begin) echo_there = e.actor;
  ASSERT_NE(echo_there, 0u) << "no handling in the trace";
  for (auto& e : events) {
    EXPECT_TRUE(e.actor == echo_there || e.other == echo_there) << troupe::tracing::to_string(e);
    if (e.kind == troupe::tracing::event_kind::begin) EXPECT_NE(e.what.find("string"), std::string::npos);
  }

  child holds({"trace", "check", path, "--spec", R"("echo answers": respond(begin("string"), end("string"), 5s, actor))"});
  EXPECT_FALSE(holds.line_starting("checked ").empty());
  EXPECT_EQ(holds.wait_exit(), 0);
  child broken({"trace", "check", path, "--spec", R"("echo is never asked": !begin("string"))"});
  EXPECT_FALSE(broken.line_starting("rule \"echo is never asked\" broken").empty());
  // Read to the end (a violation a line): a full pipe would stop it.
  EXPECT_NE(broken.line_starting("checked ", 30s).find(" violation(s)"), std::string::npos);
  EXPECT_EQ(broken.wait_exit(), 1);
  child bad_spec({"trace", "check", path, "--spec", R"("x": begin &&)"});
  EXPECT_EQ(bad_spec.wait_exit(), 2);
  const std::string not_jsonl = path + ".json";
  {
    std::ofstream f(not_jsonl);
    f << "{\"traceEvents\":[]}\n";
  }
  child bad_file({"trace", "check", not_jsonl, "--spec", R"("r": true)"});
  EXPECT_EQ(bad_file.wait_exit(), 2);
  std::remove(not_jsonl.c_str());
  std::remove(path.c_str());

  child unknown({"trace", "b@127.0.0.1", "--cookie", cookie, "--connect", addr.to_string(), "--for", "10ms",
                 "--actor", "nobody-here", "-o", path});
  EXPECT_NE(unknown.line_starting("trace failed").find("no actor is registered as nobody-here"), std::string::npos);
  EXPECT_EQ(unknown.wait_exit(), 1);
}

}  // namespace
