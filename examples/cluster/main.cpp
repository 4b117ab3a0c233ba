// cluster: three nodes on loopback, three processes. This process is node
// a; it starts b and c by running itself again (`troupe_cluster member`),
// sends messages across them, links and monitors across nodes, then kills
// c with SIGKILL and shows what fires: node_down on a and b, the link's
// exit signal and the monitor's down, both with reason noconnection.
//
//   troupe_cluster            the tour (scripts/demo runs it)
//   troupe_cluster member N   one member node named N (prints its events)
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

extern char** environ;

namespace {

const char* const cookie = "cluster-demo-cookie-0123456789";

struct greeting {
  std::string text;
  pid reply_to;
};
const bool registered = [] {
  net::register_type<greeting>("cluster.greeting");
  return true;
}();

std::mutex out_mu;
void say(const std::string& who, const std::string& line) {
  std::lock_guard lock(out_mu);
  std::cout << "  [" << who << "] " << line << std::endl;
}

// A member: answers greetings, registers "greeter" and "worker", prints its
// node events, and serves until stdin closes.
int member(const std::string& name) {
  runtime rt(config{.warn_unhandled = false, .log_level = log_level::off});
  io::reactor reactor(rt);
  net::node node(rt, reactor, {.name = name + "@127.0.0.1", .cookie = cookie});
  node.watch([name](const net::node_event& e) {
    if (e.state == net::fault_state::perm_fail) say(name, "node_down " + e.node + " (" + e.reason + ")");
  });
  rt.register_name("greeter", rt.spawn([name](actor& self) -> behavior {
    return {[&self, name](const greeting& g) {
      say(name, "got \"" + g.text + "\"");
      self.send(g.reply_to, "hello back from " + name);
    }};
  }));
  rt.register_name("worker", rt.spawn([](actor&) -> behavior { return {[](int) {}}; }));
  std::cout << node.address().port << std::endl;  // the parent reads the port first
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  return 0;
}

struct child {
  pid_t pid;
  int to_stdin;
  std::uint16_t port;
};

child start_member(const std::string& name) {
  int in[2], out[2];
  if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclose(&fa, in[1]);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  std::string self_exe = "/proc/self/exe", mode = "member", n = name;
  char* argv[] = {self_exe.data(), mode.data(), n.data(), nullptr};
  pid_t pid;
  if (posix_spawn(&pid, "/proc/self/exe", &fa, nullptr, argv, environ) != 0)
    throw std::runtime_error("cannot start a member");
  posix_spawn_file_actions_destroy(&fa);
  close(in[0]);
  close(out[1]);
  // The first line is the port; the rest of its output follows ours.
  std::string port;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') port += c;
  std::thread([fd = out[0]] {
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
      std::lock_guard lock(out_mu);
      std::cout.write(buf, n);
      std::cout.flush();
    }
    close(fd);
  }).detach();
  return {pid, in[1], static_cast<std::uint16_t>(std::stoi(port))};
}

int tour() {
  std::cout << "  three nodes, three processes: a (this one), b and c on loopback\n";
  child b = start_member("b"), c = start_member("c");
  runtime rt(config{.warn_unhandled = false, .log_level = log_level::off});
  io::reactor reactor(rt);
  net::node a(rt, reactor, {.name = "a@127.0.0.1", .cookie = cookie});
  a.watch([](const net::node_event& e) {
    if (e.state == net::fault_state::ok) say("a", "node_up " + e.node);
    if (e.state == net::fault_state::perm_fail) say("a", "node_down " + e.node + " (" + e.reason + ")");
  });
  a.connect({"127.0.0.1", b.port}).get();
  a.connect({"127.0.0.1", c.port}).get();
  std::this_thread::sleep_for(200ms);  // b and c meet through a (the mesh)

  scoped_actor me(rt);
  for (const char* n : {"b", "c"}) {
    pid greeter = a.whereis(std::string("troupe://") + n + "@127.0.0.1/greeter").get();
    me.send(greeter, greeting{"hello from a", me.pid()});  // our pid travels with it
    auto reply = me.receive<std::string>(5s);
    say("a", "reply: \"" + (reply ? *reply : reply.error().message()) + "\"");
  }

  // Link and monitor c's worker from a; then kill c.
  pid worker = a.whereis("troupe://c@127.0.0.1/worker").get();
  pid reporter = me.pid();
  rt.spawn([worker, reporter](actor& self) -> behavior {
    self.trap_exit(true);
    self.link(worker);
    self.monitor(worker);
    return {
        [&self, reporter](const exit_signal& e) {
          self.send(reporter, "a linked actor got exit_signal(" + e.reason.to_string() + ")");
        },
        [&self, reporter](const down& d) { self.send(reporter, "a monitor got down(" + d.reason.to_string() + ")"); },
    };
  });
  std::this_thread::sleep_for(200ms);
  say("a", "kill -9 c");
  ::kill(c.pid, SIGKILL);
  waitpid(c.pid, nullptr, 0);
  int fired = 0;
  for (int i = 0; i < 2; ++i) {
    auto what = me.receive<std::string>(5s);
    if (what && what->find("noconnection") != std::string::npos) ++fired;
    say("a", what ? *what : "nothing: " + what.error().message());
  }
  std::this_thread::sleep_for(300ms);  // b's report of c
  bool dead = me.send(worker, 1) == send_status::dead_letter;
  say("a", std::string("a send to c's worker now: ") + (dead ? "a dead letter" : "sent") +
               " (dead letters: " + std::to_string(rt.dead_letter_count()) + ")");
  close(b.to_stdin);
  waitpid(b.pid, nullptr, 0);
  return fired == 2 && dead ? 0 : 1;  // the demo doubles as a test (ctest integration.cluster)
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2 && std::string(argv[1]) == "member") return member(argv[2]);
  return tour();
}
