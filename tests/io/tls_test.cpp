// TLS 1.3 on socket actors: encrypted round trips, big messages split
// across records and writes, and every refusal: a certificate from another
// CA, none at all, an expired one, a peer that speaks plain TCP. The
// certificates are made for each test (test_certs.hpp).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "raw_socket.hpp"
#include "test_certs.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io.hpp"
#include "troupe/io/tls.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
namespace io = troupe::io;
using io::testing::pem_pair;
using io::testing::test_ca;

using troupe::test_support::eventually;

io::socket_options tls_socket(const pem_pair& who, const std::string& trusted,
                              bool require_client_certificate = true) {
  io::socket_options opts;
  opts.connection.tls = io::tls_context::make({.certificate = who.certificate,
                                               .private_key = who.private_key,
                                               .trusted = trusted,
                                               .require_client_certificate = require_client_certificate});
  return opts;
}

// What one side of a refused connection saw.
struct outcome {
  std::mutex mu;
  std::vector<std::string> lines;
  std::string reason;
  bool closed = false, error = false;
  void add(const std::string& line) {
    std::lock_guard lock(mu);
    lines.push_back(line);
  }
  void close(const io::closed& c) {
    std::lock_guard lock(mu);
    closed = true;
    error = c.error;
    reason = c.reason;
  }
  bool is_closed() {
    std::lock_guard lock(mu);
    return closed;
  }
};

auto recorder(outcome& out, const char* first_line = nullptr) {
  return [&out, first_line](actor&, io::connection<io::line_codec> conn) -> behavior {
    if (first_line) conn.write(first_line);  // waits for the handshake
    return {[&out](std::string& line) { out.add(line); }, [&out](const io::closed& c) { out.close(c); }};
  };
}

struct Tls : ::testing::Test {
  // Before the runtime: socket actors may still report to them while it stops.
  outcome server_side, client_side;
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
  test_ca ca{"troupe test CA"};
  pem_pair server_cert = ca.issue("server");
  pem_pair client_cert = ca.issue("client");
};

TEST_F(Tls, RequestsAndRepliesCrossEncrypted) {
  auto echo = troupe::service<std::string, std::string>(
      [](std::string s) { return troupe::make_value<std::string>("echo: " + s); });
  io::serve_options<std::string> serving;
  serving.socket = tls_socket(server_cert, ca.certificate());
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, echo, serving);
  auto call = io::client<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port},
                                         tls_socket(client_cert, ca.certificate()))
                  .get();
  // Called before the handshake can have ended: the lines wait for it.
  std::vector<troupe::future<std::string>> replies;
  for (int i = 0; i < 500; ++i) replies.push_back(call("line " + std::to_string(i)));
  for (int i = 0; i < 500; ++i) ASSERT_EQ(replies[i].get(), "echo: line " + std::to_string(i));
}

TEST_F(Tls, TheBytesOnTheWireAreNotThePlaintext) {
  // A plain socket in the server's place records what the TLS client sends.
  std::mutex mu;
  std::string seen;
  int listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listen_fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", ntohs(addr.sin_port)},
                              recorder(client_side, "the secret plaintext"), tls_socket(client_cert, ca.certificate()));
  int fd = ::accept(listen_fd, nullptr, nullptr);
  ASSERT_GE(fd, 0);
  pollfd p{fd, POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 10000), 0);
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 5);
  {
    std::lock_guard lock(mu);
    seen.assign(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(seen[0], 0x16) << "a TLS handshake record";
  EXPECT_EQ(seen.find("the secret plaintext"), std::string::npos);
  ::close(fd);
  ::close(listen_fd);
  EXPECT_TRUE(eventually([&] { return client_side.is_closed(); }));
  std::lock_guard lock(client_side.mu);
  EXPECT_TRUE(client_side.lines.empty());
}

TEST_F(Tls, LargeMessagesSpanManyRecordsAndWrites) {
  // 66 messages of 256 KiB: records are 16 KiB, writes partial.
  const std::string big(256 * 1024, 'x');
  auto echo = troupe::service<std::string, std::string>(
      [](std::string s) { return troupe::make_value<std::string>(std::to_string(s.size()) + ":" + s.substr(0, 8)); });
  io::serve_options<std::string> serving;
  serving.socket = tls_socket(server_cert, ca.certificate());
  auto server = io::serve<io::length_prefixed_codec>(reactor, {"127.0.0.1", 0}, echo, serving);
  auto call = io::client<io::length_prefixed_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port},
                                                    tls_socket(client_cert, ca.certificate()))
                  .get();
  // Three at a time: more would pass the client's high watermark (1 MiB).
  for (int wave = 0; wave < 64; wave += 3) {
    std::vector<troupe::future<std::string>> replies;
    for (int i = wave; i < wave + 3; ++i) {
      std::string msg = big;
      msg.replace(0, 8, std::to_string(10000000 + i));
      replies.push_back(call(msg));
    }
    for (int i = 0; i < 3; ++i)
      ASSERT_EQ(replies[i].get(), std::to_string(big.size()) + ":" + std::to_string(10000000 + wave + i));
  }
}

TEST_F(Tls, ACertificateFromAnotherCaIsRefusedOnBothSides) {
  test_ca rogue("rogue CA");
  pem_pair intruder = rogue.issue("client");
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side),
                                           tls_socket(server_cert, ca.certificate()));
  // The intruder trusts our CA, so it accepts the server; the server does
  // not accept it, and never hears its line.
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port}, recorder(client_side, "let me in"),
                              tls_socket(intruder, ca.certificate()));
  ASSERT_TRUE(eventually([&] { return server_side.is_closed() && client_side.is_closed(); }));
  std::lock_guard a(server_side.mu), b(client_side.mu);
  EXPECT_TRUE(server_side.error);
  EXPECT_NE(server_side.reason.find("certificate verify failed"), std::string::npos) << server_side.reason;
  EXPECT_NE(server_side.reason.find("unable to get local issuer certificate"), std::string::npos)
      << server_side.reason;
  EXPECT_TRUE(server_side.lines.empty());
  EXPECT_TRUE(client_side.error);
  EXPECT_NE(client_side.reason.find("tls: "), std::string::npos) << client_side.reason;
  EXPECT_NE(client_side.reason.find("alert"), std::string::npos) << client_side.reason;
}

TEST_F(Tls, AServerFromAnotherCaIsRefusedByTheClient) {
  test_ca rogue("rogue CA");
  pem_pair impostor = rogue.issue("server");
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side, "trust me"),
                                           tls_socket(impostor, ca.certificate()));
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port}, recorder(client_side, "secret"),
                              tls_socket(client_cert, ca.certificate()));
  ASSERT_TRUE(eventually([&] { return server_side.is_closed() && client_side.is_closed(); }));
  std::lock_guard a(server_side.mu), b(client_side.mu);
  EXPECT_NE(client_side.reason.find("certificate verify failed"), std::string::npos) << client_side.reason;
  EXPECT_TRUE(client_side.lines.empty());
  EXPECT_TRUE(server_side.lines.empty());
}

TEST_F(Tls, AClientWithoutACertificateIsRefused) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side),
                                           tls_socket(server_cert, ca.certificate()));
  io::socket_options anonymous;
  anonymous.connection.tls = io::tls_context::make({.trusted = ca.certificate()});
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port}, recorder(client_side, "hello"),
                              anonymous);
  ASSERT_TRUE(eventually([&] { return server_side.is_closed() && client_side.is_closed(); }));
  std::lock_guard a(server_side.mu), b(client_side.mu);
  EXPECT_NE(server_side.reason.find("certificate"), std::string::npos) << server_side.reason;
  EXPECT_TRUE(server_side.lines.empty());
  EXPECT_TRUE(client_side.error);
}

TEST_F(Tls, WithoutRequiringOneAServerTakesClientsWithoutCertificates) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side, "welcome"),
                                           tls_socket(server_cert, ca.certificate(), false));
  io::socket_options anonymous;
  anonymous.connection.tls = io::tls_context::make({.trusted = ca.certificate()});
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port}, recorder(client_side, "hello"),
                              anonymous);
  ASSERT_TRUE(eventually([&] {
    std::scoped_lock lock(server_side.mu, client_side.mu);
    return server_side.lines.size() == 1 && client_side.lines.size() == 1;
  }));
  std::lock_guard a(server_side.mu), b(client_side.mu);
  EXPECT_EQ(server_side.lines[0], "hello");
  EXPECT_EQ(client_side.lines[0], "welcome");
}

TEST_F(Tls, AnExpiredCertificateIsRefused) {
  pem_pair expired = ca.issue("client", -1);
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side),
                                           tls_socket(server_cert, ca.certificate()));
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port}, recorder(client_side, "hello"),
                              tls_socket(expired, ca.certificate()));
  ASSERT_TRUE(eventually([&] { return server_side.is_closed() && client_side.is_closed(); }));
  std::lock_guard a(server_side.mu);
  EXPECT_NE(server_side.reason.find("certificate has expired"), std::string::npos) << server_side.reason;
  EXPECT_TRUE(server_side.lines.empty());
}

TEST_F(Tls, APlainTcpPeerIsRefusedAndItsBytesNeverParsed) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side),
                                           tls_socket(server_cert, ca.certificate()));
  io::testing::raw_socket plain(server.local().port);
  ASSERT_TRUE(plain.send("GET / HTTP/1.1\r\n\r\nhello\n"));
  std::string answer;
  EXPECT_TRUE(plain.read_to_end(answer));  // closed on us
  ASSERT_TRUE(eventually([&] { return server_side.is_closed(); }));
  std::lock_guard lock(server_side.mu);
  EXPECT_TRUE(server_side.error);
  EXPECT_NE(server_side.reason.find("tls: "), std::string::npos) << server_side.reason;
  EXPECT_TRUE(server_side.lines.empty());
}

TEST_F(Tls, BadCertificatesAndKeysAreReportedByName) {
  auto fails_with = [](const io::tls_options& o) {
    try {
      io::tls_context::make(o);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  pem_pair other = ca.issue("other");
  EXPECT_NE(fails_with({.certificate = "/nonexistent/cert.pem", .private_key = server_cert.private_key,
                        .trusted = ca.certificate()})
                .find("certificate: cannot read /nonexistent/cert.pem"),
            std::string::npos);
  EXPECT_NE(fails_with({.certificate = server_cert.certificate, .private_key = other.private_key,
                        .trusted = ca.certificate()})
                .find("does not match"),
            std::string::npos);
  EXPECT_NE(fails_with({.certificate = server_cert.certificate, .private_key = server_cert.private_key,
                        .trusted = "-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"})
                .find("trusted"),
            std::string::npos);
  EXPECT_NE(fails_with({.certificate = server_cert.certificate, .private_key = server_cert.private_key})
                .find("trusted: not given"),
            std::string::npos);
}

// For ThreadSanitizer: writers on several threads and the I/O thread's
// reads share one TLS session; every line comes back once.
TEST_F(Tls, ManyThreadsWriteThroughOneSessionWhileItReads) {
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [](actor&, io::connection<io::line_codec> conn) -> behavior {
        return {[conn](std::string& line) mutable { conn.write(line); }};
      },
      tls_socket(server_cert, ca.certificate()));
  std::mutex mu;
  std::optional<io::connection<io::line_codec>> handle;
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port},
      [&](actor&, io::connection<io::line_codec> conn) -> behavior {
        {
          std::lock_guard lock(mu);
          handle = conn;
        }
        return {[&](std::string& line) {
          sum += std::stoll(line);
          ++count;
        }};
      },
      tls_socket(client_cert, ca.certificate()));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lock(mu);
    return handle.has_value();
  }));
  auto conn = [&] {
    std::lock_guard lock(mu);
    return *handle;
  }();
  const int threads = 4, per_thread = 5000;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([conn, t]() mutable {
      for (int i = 0; i < per_thread; ++i) {
        while (conn.write(std::to_string(t * per_thread + i)) == io::write_status::full)
          std::this_thread::sleep_for(100us);
      }
    });
  for (auto& w : writers) w.join();
  const long long n = threads * per_thread;
  ASSERT_TRUE(eventually([&] { return count.load() == n; }, 60s)) << count.load();
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

}  // namespace

namespace {

TEST_F(Tls, BytesWrittenThenClosedBeforeTheHandshakeEndsStillArrive) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side),
                                           tls_socket(server_cert, ca.certificate()));
  (void)io::connect<io::line_codec>(reactor, io::endpoint{"127.0.0.1", server.local().port},
      [](actor&, io::connection<io::line_codec> conn) -> behavior {
        conn.write("first");
        conn.write("last");
        conn.close();  // graceful: after the handshake and these lines
        return {[](std::string&) {}};
      },
      tls_socket(client_cert, ca.certificate()));
  ASSERT_TRUE(eventually([&] { return server_side.is_closed(); }));
  std::lock_guard lock(server_side.mu);
  EXPECT_EQ(server_side.lines, (std::vector<std::string>{"first", "last"}));
  // Our close sent close_notify: the server tells it from a cut stream.
  EXPECT_FALSE(server_side.error) << server_side.reason;
}

TEST_F(Tls, AHandshakeLeftHalfwayHitsTheReadTimeout) {
  auto opts = tls_socket(server_cert, ca.certificate());
  opts.connection.read_timeout = 200ms;
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, recorder(server_side), opts);
  io::testing::raw_socket slow(server.local().port);
  ASSERT_TRUE(slow.send(std::string("\x16\x03\x01", 3)));  // the start of a record, never the rest
  ASSERT_TRUE(eventually([&] { return server_side.is_closed(); }));
  std::lock_guard lock(server_side.mu);
  EXPECT_EQ(server_side.reason, "read timeout");
}

}  // namespace
