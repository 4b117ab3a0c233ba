// `troupe node` and `troupe ping`: a node from the command line.
//
//   troupe node --name b@127.0.0.1 --cookie-file FILE --listen 127.0.0.1:9101 \
//               [--connect 127.0.0.1:9100]... [--heartbeat-ms 200]
//               [--temp-fail-ms 1000] [--perm-fail-ms 5000]
//               [--tls-cert FILE --tls-key FILE --tls-ca FILE]
//   troupe ping b@127.0.0.1 --cookie-file FILE --connect 127.0.0.1:9101 \
//               [--tls-cert FILE --tls-key FILE --tls-ca FILE]
//   troupe trace b@127.0.0.1 --cookie-file FILE --connect 127.0.0.1:9101 \
//               -o trace.json [--for 5s] [--rate N] [--max-bytes N]
//
// The cookie: --cookie-file FILE (its first line) or --cookie SECRET (seen
// by anyone who lists processes). It must be 16 bytes or longer unless
// --weak-cookie is given: a short cookie falls to online guessing. A node
// given none makes one (128 random bits, 32 hex digits) and says it on
// stderr, for the other nodes' --cookie-file.
//
// With --tls-cert, --tls-key and --tls-ca (PEM files; all three or none),
// links are TLS 1.3 and both sides must present a certificate that chains
// to the CA in --tls-ca (io/tls.hpp); a peer whose certificate does not is
// refused before the cookie handshake. Files that do not load: exit 2.
//
// With --admin HOST:PORT the node also serves the observer's admin API and
// dashboard there (observer/admin.hpp) and prints "admin <url>"; actions
// take the token in --admin-token-file, else one made and printed on
// stderr; --admin-allowed-host NAME:PORT (repeatable) adds a Host name the
// server answers to (it answers only to its own address and localhost).
//
// A node serves until stdin closes or it gets SIGINT/SIGTERM. It registers
// "echo" (a string or integer request is answered with itself; a pid
// received is sent "pong") and "crash" (ends with error(<text>) on a string,
// so that links and monitors across nodes can be shown), and prints one line
// per event on stdout: "listening <addr>", "node_up <name>",
// "node_fault <name> <state>", "node_down <name> <reason>".
// ping asks the node itself (node::ping: any node answers, whatever it
// runs) and prints "pong <name> <round trip µs>" and exits 0, or
// "pang <name>: <why>" and 1. trace asks the node's trace service
// (net/trace_service.hpp) to record for --for (default 1 s), writes the
// Chrome trace-event JSON to -o for Perfetto UI, and prints "traced <name>
// <n> events, <m> lost, to <file>" (exit 0) or "trace failed <name>: <why>"
// (exit 1).
#include <csignal>
#include <cstdio>
#include <cctype>
#include <cstring>
#include <fstream>
#include <random>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "troupe/io/reactor.hpp"
#include "troupe/io/tls.hpp"
#include "troupe/net/node.hpp"
#include "troupe/net/trace_service.hpp"
#include "troupe/observer/admin.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {

io::endpoint parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("expected HOST:PORT, got " + text);
  int port = std::stoi(text.substr(colon + 1));
  if (port < 0 || port > 65535) throw std::invalid_argument("no such port: " + text);
  return {text.substr(0, colon), static_cast<std::uint16_t>(port)};
}

constexpr std::size_t min_cookie = net::node_options::min_cookie_bytes;

std::string read_cookie_file(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) throw std::invalid_argument("cannot read a cookie from " + path);
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
  if (line.empty()) throw std::invalid_argument(path + " holds an empty cookie");
  return line;
}

std::string generated_cookie() {
  std::random_device urandom;  // /dev/urandom
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 4; ++i) {
    std::uint32_t word = urandom();
    for (int j = 0; j < 8; ++j, word >>= 4) out += hex[word & 15];
  }
  return out;
}

struct node_args {
  bool weak_cookie = false;
  net::node_options options;
  std::vector<io::endpoint> connect;
  std::string target;  // ping, trace
  io::tls_options tls;  // --tls-cert, --tls-key, --tls-ca: all three or none
  net::trace_request trace;  // trace: --for, --rate, --max-bytes
  std::string output;        // trace: -o FILE
  std::string admin;         // node: --admin HOST:PORT (the observer's admin server)
  std::string admin_token;   // node: --admin-token-file FILE (else one is made and printed)
  std::vector<std::string> admin_hosts;  // node: --admin-allowed-host NAME:PORT (repeatable)
};

// "5s", "500ms", "2m", or milliseconds.
std::int64_t parse_millis(const std::string& text) {
  std::size_t used = 0;
  const long long n = std::stoll(text, &used);
  const std::string unit = text.substr(used);
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "m") return n * 60'000;
  throw std::invalid_argument("expected a duration such as 5s or 500ms, got " + text);
}

// "send,begin,end": kind_bit()s or'ed.
std::uint32_t parse_kinds(const std::string& text) {
  std::uint32_t bits = 0;
  std::size_t from = 0;
  while (from <= text.size()) {
    const std::size_t comma = std::min(text.find(',', from), text.size());
    const std::string name = text.substr(from, comma - from);
    tracing::event_kind kind;
    if (!tracing::kind_from_string(name.c_str(), kind))
      throw std::invalid_argument("--kinds: no event kind is called \"" + name + "\"");
    bits |= tracing::kind_bit(kind);
    from = comma + 1;
  }
  return bits;
}

node_args parse(int argc, char** argv, int first) {
  node_args a;
  for (int i = first; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
      return argv[++i];
    };
    auto ms = [&] { return std::chrono::milliseconds(std::stoi(value())); };
    auto file = [&] {
      std::string path = value();
      if (path.empty()) throw std::invalid_argument(flag + " needs a file");
      return path;
    };
    if (flag == "--name") a.options.name = value();
    else if (flag == "--cookie") a.options.cookie = value();
    else if (flag == "--cookie-file") a.options.cookie = read_cookie_file(file());
    else if (flag == "--weak-cookie") a.weak_cookie = a.options.allow_weak_cookie = true;
    else if (flag == "--listen") a.options.listen = parse_endpoint(value());
    else if (flag == "--admin") a.admin = value();
    else if (flag == "--admin-token-file") a.admin_token = read_cookie_file(file());
    else if (flag == "--admin-allowed-host") a.admin_hosts.push_back(value());
    else if (flag == "--connect") a.connect.push_back(parse_endpoint(value()));
    else if (flag == "--heartbeat-ms") a.options.heartbeat = ms();
    else if (flag == "--temp-fail-ms") a.options.temp_fail_after = ms();
    else if (flag == "--perm-fail-ms") a.options.perm_fail_after = ms();
    else if (flag == "--tls-cert") a.tls.certificate = file();
    else if (flag == "--tls-key") a.tls.private_key = file();
    else if (flag == "--tls-ca") a.tls.trusted = file();
    else if (flag == "--for") a.trace.duration_ms = parse_millis(value());
    else if (flag == "--rate") a.trace.max_events_per_second = std::stoull(value());
    else if (flag == "--max-bytes") a.trace.max_bytes = std::stoull(value());
    else if (flag == "--actor") a.trace.actors.push_back(value());
    else if (flag == "--with-spawned") a.trace.with_spawned = true;
    else if (flag == "--type") a.trace.message_types.push_back(value());
    else if (flag == "--kinds") a.trace.kinds = parse_kinds(value());
    else if (flag == "--format") {
      a.trace.format = value();
      if (a.trace.format != "chrome" && a.trace.format != "jsonl")
        throw std::invalid_argument("--format is chrome or jsonl, not " + a.trace.format);
    }
    else if (flag == "-o") a.output = file();
    else if (flag.rfind("--", 0) != 0 && a.target.empty()) a.target = flag;
    else throw std::invalid_argument("unknown option " + flag);
  }
  std::string missing;
  if (a.tls.certificate.empty()) missing += " --tls-cert";
  if (a.tls.private_key.empty()) missing += " --tls-key";
  if (a.tls.trusted.empty()) missing += " --tls-ca";
  bool no_tls = a.tls.certificate.empty() && a.tls.private_key.empty() && a.tls.trusted.empty();
  if (!no_tls && !missing.empty())
    throw std::invalid_argument(
        "--tls-cert FILE --tls-key FILE --tls-ca FILE: all three or none; missing" + missing);
  if (!a.options.cookie.empty() && a.options.cookie.size() < min_cookie && !a.weak_cookie)
    throw std::invalid_argument("a cookie of " + std::to_string(a.options.cookie.size()) +
                                " bytes is easy to guess: use " + std::to_string(min_cookie) +
                                " or more (say, head -c16 /dev/urandom | xxd -p > cookie), or --weak-cookie");
  return a;
}

// Loads the --tls-* files into options.tls; false (after saying why on
// stderr) when they do not load.
bool load_tls(node_args& a) {
  if (a.tls.certificate.empty()) return true;  // none given: plain TCP
  try {
    a.options.tls = io::tls_context::make(a.tls);
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "troupe: %s\n", e.what());
    return false;
  }
  return true;
}

std::mutex print_mu;
void say(const std::string& line) {
  std::lock_guard lock(print_mu);
  std::cout << line << std::endl;
}

void register_services(runtime& rt) {
  auto echo = rt.spawn([](actor& self) -> behavior {
    return {
        [](const std::string& s) { return s; },
        [](std::int64_t n) { return n; },
        [&self](const pid& who) { self.send(who, std::string("pong")); },
    };
  });
  auto crash = rt.spawn([](actor& self) -> behavior {
    return {[&self](const std::string& why) { self.quit(exit_reason::error(why)); }};
  });
  rt.register_name("echo", echo);
  rt.register_name("crash", crash);
}

// A short-lived node (named PREFIX-<pid>@127.0.0.1 unless --name) that
// connects to --connect, checks the node there is a.target, and runs
// `ask(rt, node)`; connecting's failures are thrown.
template <class F>
int with_node_connected_to_target(node_args& a, const char* prefix, F ask) {
  if (a.options.name.empty()) a.options.name = std::string(prefix) + "-" + std::to_string(getpid()) + "@127.0.0.1";
  runtime rt(config{.workers = 1, .warn_unhandled = false});
  io::reactor reactor(rt);
  net::node node(rt, reactor, a.options);
  auto name = node.connect(a.connect.front()).outcome();
  if (!name) throw std::runtime_error(name.error().message());
  if (*name != a.target) throw std::runtime_error("the node there is " + *name);
  return ask(rt, node);
}

}  // namespace

int run_node(int argc, char** argv) {
  node_args a = parse(argc, argv, 2);
  if (!load_tls(a)) return 2;
  if (a.options.cookie.empty()) {
    a.options.cookie = generated_cookie();
    std::fprintf(stderr, "troupe node: no --cookie-file or --cookie; this node's cookie is %s\n",
                 a.options.cookie.c_str());
  }
  runtime rt(config{.warn_unhandled = false});
  io::reactor reactor(rt);
  net::node node(rt, reactor, a.options);
  node.watch([](const net::node_event& e) {
    if (e.state == net::fault_state::ok)
      say("node_up " + e.node);
    else if (e.state == net::fault_state::temp_fail)
      say("node_fault " + e.node + " temp_fail");
    else
      say("node_down " + e.node + " " + e.reason);
  });
  register_services(rt);
  say("listening " + node.address().to_string());
  observer::admin_server admin;
  if (!a.admin.empty()) {
    observer::admin_options opts;
    const io::endpoint at = parse_endpoint(a.admin);
    opts.bind = at.host;
    opts.port = at.port;
    // Actions need a token: the one given, else a new one printed on stderr
    // (as a generated cookie is). Never the cookie itself: the token travels
    // in a header, and an operator who may kill an actor need not be able
    // to join the cluster.
    opts.token = a.admin_token;
    if (opts.token.empty()) {
      opts.token = generated_cookie();
      std::fprintf(stderr, "troupe node: no --admin-token-file; the admin token is %s\n", opts.token.c_str());
    }
    opts.allowed_hosts = a.admin_hosts;
    opts.node = &node;
    admin = observer::serve(rt, reactor, opts);
    say("admin " + admin.url());
  }
  for (auto& to : a.connect) {
    auto r = node.connect(to).outcome();
    if (!r) say("connect_failed " + to.to_string() + " " + r.error().message());
  }
  // Serve until stdin closes or a signal asks us to stop.
  troupe::stop_signals stop;
  std::thread stdin_watch([] {
    std::string line;
    while (std::getline(std::cin, line)) {
    }
    kill(getpid(), SIGTERM);
  });
  stdin_watch.detach();
  stop.wait();
  say("stopping");
  return 0;
}

int run_ping(int argc, char** argv) {
  node_args a = parse(argc, argv, 2);
  if (a.target.empty() || a.connect.empty() || a.options.cookie.empty()) {
    std::fprintf(stderr,
                 "usage: troupe ping NODE --cookie-file FILE|--cookie C --connect HOST:PORT"
                 " [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n");
    return 2;
  }
  if (!load_tls(a)) return 2;
  try {
    return with_node_connected_to_target(a, "ping", [&](runtime&, net::node& node) {
      auto answered = node.ping(a.target);  // answered by the node, whatever it runs
      if (!answered.wait_for(5s)) throw std::runtime_error("no answer in 5 s");
      auto rtt = answered.outcome();
      if (!rtt) throw std::runtime_error(rtt.error().message());
      auto us = std::chrono::duration<double, std::micro>(*rtt).count();
      say("pong " + a.target + " " + std::to_string(static_cast<long>(us)));
      return 0;
    });
  } catch (const std::exception& e) {
    say("pang " + a.target + ": " + e.what());
    return 1;
  }
}

int run_trace(int argc, char** argv) {
  node_args a = parse(argc, argv, 2);
  if (a.target.empty() || a.connect.empty() || a.options.cookie.empty() || a.output.empty()) {
    std::fprintf(stderr,
                 "usage: troupe trace NODE --cookie-file FILE|--cookie C --connect HOST:PORT -o FILE"
                 " [--for 5s] [--rate EVENTS_PER_SECOND] [--max-bytes N] [--actor NAME|PID]..."
                 " [--with-spawned] [--type SUBSTRING]... [--kinds send,begin,...] [--format chrome|jsonl]"
                 " [--tls-cert FILE --tls-key FILE --tls-ca FILE]\n");
    return 2;
  }
  if (!load_tls(a)) return 2;
  a.options.serve_traces = false;  // this one only asks
  try {
    return with_node_connected_to_target(a, "trace", [&](runtime& rt, net::node& node) {
      auto reply = net::fetch_trace(rt, node, a.target, a.trace).outcome();
      if (!reply) throw std::runtime_error(reply.error().message());
      std::ofstream out(a.output);
      out << reply->json;
      out.close();
      if (!out) throw std::runtime_error("cannot write " + a.output);
      say("traced " + a.target + " " + std::to_string(reply->events) + " events, " +
          std::to_string(reply->lost) + " lost, to " + a.output);
      return 0;
    });
  } catch (const std::exception& e) {
    say("trace failed " + a.target + ": " + e.what());
    return 1;
  }
}
