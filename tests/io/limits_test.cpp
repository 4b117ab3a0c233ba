// What a listener does at its limits: a cap on open connections (accept
// pauses and resumes), running out of file descriptors (retries without
// spinning, resumes when one closes), and the defaults servers get.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../eventually.hpp"
#include "raw_socket.hpp"
#include "troupe/io.hpp"
#include "troupe/io/codecs/http.hpp"
#include "troupe/io/codecs/length_prefixed.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
namespace io = troupe::io;
using io::testing::raw_socket;
using troupe::test_support::eventually;

struct log_lines {
  std::mutex m;
  std::vector<std::string> lines;
  std::size_t count(const std::string& part) {
    std::lock_guard lock(m);
    std::size_t n = 0;
    for (auto& l : lines) n += l.find(part) != std::string::npos;
    return n;
  }
};

struct Limits : ::testing::Test {
  std::shared_ptr<log_lines> log = std::make_shared<log_lines>();
  troupe::runtime rt{[this] {
    troupe::config cfg{.workers = 2, .warn_unhandled = false};
    cfg.log_sink = [log = log](const troupe::log_record& record) {
    const std::string_view text = record.text;
      std::lock_guard lock(log->m);
      log->lines.emplace_back(text);
    };
    return cfg;
  }()};
  io::reactor reactor{rt};
};

// Each connection's actor greets its peer as it starts: a peer that reads
// the greeting was accepted.
auto greeter = [](actor&, io::connection<io::line_codec> conn) -> behavior {
  conn.write("hello");
  return {[](std::string&) {}};
};

TEST_F(Limits, AListenerStopsAcceptingAtMaxConnectionsAndResumesWhenOneCloses) {
  io::socket_options opts;
  opts.max_connections = 2;
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, greeter, opts);
  auto first = std::make_unique<raw_socket>(server.local().port);
  raw_socket second(server.local().port);
  EXPECT_EQ(first->read_exactly(6), "hello\n");
  EXPECT_EQ(second.read_exactly(6), "hello\n");
  // The kernel completes the third handshake (the backlog), but the
  // listener does not accept it while two are open.
  raw_socket third(server.local().port);
  EXPECT_EQ(third.read_exactly(6, 300ms), "") << "accepted past max_connections";
  EXPECT_EQ(log->count("max_connections"), 1u);
  first.reset();
  EXPECT_EQ(third.read_exactly(6), "hello\n") << "accepting did not resume when one closed";
}

// Out of file descriptors: the listener retries every 50 ms (one log line,
// not a line a retry), and accepts as soon as one of its connections
// closes and frees a descriptor.
TEST_F(Limits, RunningOutOfFileDescriptorsPausesAcceptingWithoutSpinning) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, greeter);
  auto held = std::make_unique<raw_socket>(server.local().port);
  ASSERT_EQ(held->read_exactly(6), "hello\n");

  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  // Every descriptor this process may open from now on is taken: the
  // lowest free one is the next to be handed out, so the limit is set to it.
  const int probe = ::dup(0);
  ASSERT_GE(probe, 0);
  ::close(probe);
  // The client's socket comes first; accept then has no descriptor left.
  rlimit tight = saved;
  tight.rlim_cur = static_cast<rlim_t>(probe + 1);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &tight), 0);
  std::unique_ptr<raw_socket> waiting;
  try {
    waiting = std::make_unique<raw_socket>(server.local().port);
  } catch (...) {
    ::setrlimit(RLIMIT_NOFILE, &saved);
    FAIL() << "the client could not open its socket";
  }
  EXPECT_EQ(waiting->read_exactly(6, 500ms), "");
  EXPECT_TRUE(eventually([&] { return log->count("failed: ") >= 1; }));
  EXPECT_EQ(log->count("failed: "), 1u) << "each retry logged: it spins";
  held.reset();  // frees the server's descriptor for that connection
  EXPECT_EQ(waiting->read_exactly(6), "hello\n");
  ::setrlimit(RLIMIT_NOFILE, &saved);
}

// Partial messages held by a listener's connections are bounded in total
// (max_buffered_input): the connection whose buffer would pass it is closed
// and logged; the others go on and complete their messages. Three clients
// each send most of a 400 KB frame: a buffer for it takes 512 KiB, so two
// fit in 1 MiB and whichever grows third is closed.
TEST_F(Limits, BufferedPartialInputIsBoundedOverAListenersConnections) {
  io::socket_options opts;
  opts.max_buffered_input = 1u << 20;
  auto sizes = [](actor&, io::connection<io::length_prefixed_codec> conn) -> behavior {
    return {[conn](std::string& frame) mutable { conn.write(std::to_string(frame.size())); }};
  };
  auto server = io::listen<io::length_prefixed_codec>(reactor, {"127.0.0.1", 0}, sizes, opts);
  auto header = [](std::uint32_t n) {
    return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                       static_cast<char>(n)};
  };
  constexpr std::uint32_t frame = 400'000;
  std::vector<std::unique_ptr<raw_socket>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<raw_socket>(server.local().port));
    clients.back()->send(header(frame) + std::string(300'000, 'a'));  // the closed one's may fail
  }
  // One of them is closed, once the server has read enough of all three.
  std::size_t closed = clients.size();
  const auto until = std::chrono::steady_clock::now() + 30s;
  while (closed == clients.size() && std::chrono::steady_clock::now() < until) {
    for (std::size_t i = 0; i < clients.size() && closed == clients.size(); ++i) {
      std::string rest;
      if (clients[i]->read_to_end(rest, 20ms)) closed = i;
    }
  }
  ASSERT_LT(closed, clients.size()) << "no connection was closed for the budget";
  const std::string reply = header(6) + "400000";
  for (std::size_t i = 0; i < clients.size(); ++i) {
    if (i == closed) continue;
    ASSERT_TRUE(clients[i]->send(std::string(frame - 300'000, 'b')));
    EXPECT_EQ(clients[i]->read_exactly(reply.size()), reply) << "client " << i;
  }
  EXPECT_EQ(log->count("max_buffered_input"), 1u);
}

// serve() gives servers timeouts by default (a slow-loris peer cannot hold
// a connection forever) and the automatic connection cap.
TEST_F(Limits, ServeDefaultsCloseSlowAndIdleConnectionsAndCapConnections) {
  io::serve_options<io::http::response> defaults;
  EXPECT_EQ(defaults.socket.connection.read_timeout, std::chrono::seconds(30));
  EXPECT_EQ(defaults.socket.connection.idle_timeout, std::chrono::minutes(5));
  EXPECT_EQ(defaults.socket.max_connections, 0u);  // automatic, from RLIMIT_NOFILE
  EXPECT_EQ(defaults.socket.max_buffered_input, std::size_t{256} << 20);
  const auto plain = io::socket_options{};
  EXPECT_EQ(plain.connection.read_timeout, troupe::duration::zero());  // listen() itself stays neutral
}

}  // namespace
