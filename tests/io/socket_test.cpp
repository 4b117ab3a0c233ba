// Socket actors over real loopback sockets: delivery, order, closing,
// back pressure both ways, timeouts, UDP, name resolution, serve/client.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "raw_socket.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io.hpp"
#include "troupe/io/codecs/http.hpp"
#include "troupe/io/codecs/resp.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
namespace io = troupe::io;
using io::testing::raw_socket;

using troupe::test_support::eventually;

struct fixture : ::testing::Test {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
};

using Sockets = fixture;

auto echo_lines = [](actor&, io::connection<io::line_codec> conn) -> behavior {
  return {[conn](std::string& line) mutable { conn.write("echo: " + line); }};
};

TEST_F(Sockets, LinesAreParsedDeliveredAndAnsweredInOrder) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines);
  raw_socket peer(server.local().port);
  std::string request, expected;
  for (int i = 0; i < 200; ++i) {
    request += "line " + std::to_string(i) + (i % 2 ? "\r\n" : "\n");
    expected += "echo: line " + std::to_string(i) + "\n";
  }
  // Byte by byte for the first lines: parse() sees every split point.
  for (std::size_t i = 0; i < 40; ++i) ASSERT_TRUE(peer.send(request.substr(i, 1)));
  ASSERT_TRUE(peer.send(request.substr(40)));
  EXPECT_EQ(peer.read_exactly(expected.size()), expected);
}

TEST_F(Sockets, ThePeerClosingDeliversClosedAndEndsTheActor) {
  std::atomic<int> closed_count{0};
  std::mutex mu;
  std::string reason;
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor&, io::connection<io::line_codec>) -> behavior {
        return {[](std::string&) {},
                [&](const io::closed& c) {
                  std::lock_guard lock(mu);
                  reason = c.reason + (c.error ? " (error)" : "");
                  ++closed_count;
                }};
      });
  std::size_t before = rt.live_actors();
  {
    raw_socket peer(server.local().port);
    ASSERT_TRUE(eventually([&] { return rt.live_actors() == before + 1; }));
  }
  ASSERT_TRUE(eventually([&] { return closed_count == 1; }));
  EXPECT_TRUE(eventually([&] { return rt.live_actors() == before; }));
  std::lock_guard lock(mu);
  EXPECT_EQ(reason, "peer closed");
}

TEST_F(Sockets, RepliesAfterThePeerHalfClosesAreStillWritten) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("a\nb\n"));
  peer.shutdown_send();
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  EXPECT_EQ(got, "echo: a\necho: b\n");
}

TEST_F(Sockets, MalformedInputClosesThatConnectionOnlyWithTheCodecsReply) {
  std::vector<std::string> logs;
  std::mutex mu;
  troupe::runtime logged(troupe::config{.workers = 2, .log_sink = [&](const troupe::log_record& record) {
    const std::string_view line = record.text;
                                          std::lock_guard lock(mu);
                                          logs.emplace_back(line);
                                        }});
  io::reactor r(logged);
  io::line_codec small;
  small.max_line = 16;
  auto server = io::listen<io::line_codec>(r, {"127.0.0.1", 0}, echo_lines, {}, small);
  raw_socket good(server.local().port), bad(server.local().port);
  ASSERT_TRUE(bad.send(std::string(100, 'x')));
  std::string rest;
  EXPECT_TRUE(bad.read_to_end(rest));  // closed by the server
  ASSERT_TRUE(good.send("still here\n"));
  EXPECT_EQ(good.read_exactly(17), "echo: still here\n");
  std::lock_guard lock(mu);
  bool found = false;
  for (auto& l : logs) found = found || l.find("line longer than 16 bytes") != std::string::npos;
  EXPECT_TRUE(found);
}

TEST_F(Sockets, AnyActorCanSendTheSocketAMessageToWrite) {
  std::atomic<bool> ready{false};
  troupe::pid conn_pid;
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor& self, io::connection<io::line_codec>) -> behavior {
        conn_pid = self.pid();
        ready = true;
        return {[](std::string&) {}};
      });
  raw_socket peer(server.local().port);
  ASSERT_TRUE(eventually([&] { return ready.load(); }));
  rt.send(conn_pid, io::outbound<std::string>{"pushed"});
  EXPECT_EQ(peer.read_exactly(7), "pushed\n");
  rt.send(conn_pid, io::close_socket{});
  std::string rest;
  EXPECT_TRUE(peer.read_to_end(rest));
}

TEST_F(Sockets, WritesAreRefusedAtTheHighWatermarkAndWritableFollowsTheDrain) {
  // The server pushes 32 MiB at a peer that reads nothing for a while: the
  // kernel's buffers fill, then the queue reaches the high watermark and
  // write() refuses; each writable{} lets it go on. Everything arrives, and
  // the queue never held more than the watermark plus one message.
  const std::size_t total_chunks = 512, chunk_size = 64 * 1024;
  std::atomic<int> refused{0}, writable{0};
  std::atomic<std::size_t> worst_queue{0};
  io::socket_options opts;
  opts.connection.high_watermark = 256 * 1024;
  opts.connection.low_watermark = 64 * 1024;
  auto server = io::listen<io::length_prefixed_codec>(reactor, {"127.0.0.1", 0},
      [&](actor& self, io::connection<io::length_prefixed_codec> conn) -> behavior {
        struct fill {};
        auto sent = std::make_shared<std::size_t>(0);
        auto push = [&, conn, sent]() mutable {
          std::string chunk(chunk_size, 'z');
          while (*sent < total_chunks) {
            if (conn.write(chunk) != io::write_status::ok) {
              ++refused;
              break;
            }
            ++*sent;
            worst_queue = std::max(worst_queue.load(), conn.queued_bytes());
          }
        };
        self.send(self.pid(), fill{});
        return {
            [push](fill) mutable { push(); },
            [&, push](const io::writable&) mutable {
              ++writable;
              push();
            },
            [](std::string&) {},
        };
      },
      opts);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(eventually([&] { return refused >= 1; }));
  // Nobody reads: once the kernel's buffers are full, nothing moves.
  bool stalled = false;
  for (int i = 0; i < 50 && !stalled; ++i) {
    int before = writable;
    std::this_thread::sleep_for(100ms);
    stalled = writable == before;
  }
  EXPECT_TRUE(stalled);
  std::string got = peer.read_exactly(total_chunks * (chunk_size + 4), 30s);
  EXPECT_EQ(got.size(), total_chunks * (chunk_size + 4));
  EXPECT_GE(writable.load(), 1);
  EXPECT_LE(worst_queue.load(), 256u * 1024 + chunk_size + 4);
}

TEST_F(Sockets, ReadsPauseWhileTheActorsMailboxIsOverItsLimit) {
  std::atomic<bool> release{false};
  std::atomic<std::size_t> worst{0}, handled{0};
  troupe::pid conn_pid;
  std::atomic<bool> have_pid{false};
  io::socket_options opts;
  opts.connection.max_mailbox = 64;
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor& self, io::connection<io::line_codec>) -> behavior {
        conn_pid = self.pid();
        have_pid = true;
        return {[&](std::string&) {
          while (!release) std::this_thread::sleep_for(1ms);  // a slow consumer
          ++handled;
        }};
      },
      opts);
  raw_socket peer(server.local().port);
  std::thread watcher([&] {
    while (handled < 20000) {
      if (have_pid) worst = std::max(worst.load(), rt.mailbox_size(conn_pid));
      std::this_thread::sleep_for(100us);
    }
  });
  std::string lots;
  for (int i = 0; i < 20000; ++i) lots += "x\n";
  std::thread sender([&] { peer.send(lots); });
  std::this_thread::sleep_for(200ms);
  release = true;
  sender.join();
  ASSERT_TRUE(eventually([&] { return handled == 20000; }));
  watcher.join();
  // One read's worth past the limit at most (a 16 KiB read is 8192 lines).
  EXPECT_LT(worst.load(), 64u + 8192u + 1);
  EXPECT_GT(worst.load(), 0u);
}

TEST_F(Sockets, IdleAndReadTimeoutsClose) {
  io::socket_options opts;
  opts.connection.idle_timeout = 100ms;
  std::atomic<int> idle_closes{0};
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor&, io::connection<io::line_codec>) -> behavior {
        return {[](std::string&) {},
                [&](const io::closed& c) { if (c.reason == "idle timeout" && c.error) ++idle_closes; }};
      },
      opts);
  raw_socket idle(server.local().port);
  std::string rest;
  EXPECT_TRUE(idle.read_to_end(rest, 5s));
  EXPECT_TRUE(eventually([&] { return idle_closes == 1; }));

  io::socket_options slow;
  slow.connection.read_timeout = 100ms;
  auto server2 = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines, slow);
  raw_socket loris(server2.local().port);
  ASSERT_TRUE(loris.send("complete\n"));
  EXPECT_EQ(loris.read_exactly(15), "echo: complete\n");
  ASSERT_TRUE(loris.send("incompl"));  // never finished
  EXPECT_TRUE(loris.read_to_end(rest, 5s));
}

TEST_F(Sockets, GracefulCloseFlushesEverythingQueued) {
  const std::size_t total = 4u << 20;
  auto server = io::listen<io::length_prefixed_codec>(reactor, {"127.0.0.1", 0},
      [&](actor&, io::connection<io::length_prefixed_codec> conn) -> behavior {
        return {[conn, total](std::string&) mutable {
          io::connection<io::length_prefixed_codec> c = conn;
          std::string chunk(64 * 1024, 'q');
          for (std::size_t sent = 0; sent < total; sent += chunk.size() + 4) {
            if (c.write(chunk) != io::write_status::ok) break;
          }
          c.close();
        }};
      },
      io::socket_options{.connection = {.high_watermark = 64u << 20}});
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send(std::string("\0\0\0\0", 4)));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got, 20s));
  EXPECT_EQ(got.size(), (total / (64 * 1024 + 4) + 1) * (64 * 1024 + 4));
}

TEST_F(Sockets, TheActorEndingClosesTheSocket) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor& self, io::connection<io::line_codec> conn) -> behavior {
        return {[&self, conn](std::string& line) mutable {
          conn.write("bye " + line);
          if (line == "crash") throw std::runtime_error("boom");
          self.quit();
        }};
      });
  for (std::string how : {"quit", "crash"}) {
    raw_socket peer(server.local().port);
    ASSERT_TRUE(peer.send(how + "\n"));
    std::string got;
    ASSERT_TRUE(peer.read_to_end(got));
    EXPECT_EQ(got, "bye " + how + "\n");
  }
}

TEST_F(Sockets, ConnectAndClientMatchRepliesToRequests) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines);
  auto call = io::client<io::line_codec>(reactor, {"localhost", server.local().port}).get();
  std::vector<troupe::future<std::string>> replies;
  for (int i = 0; i < 500; ++i) replies.push_back(call(std::to_string(i)));
  for (int i = 0; i < 500; ++i) EXPECT_EQ(replies[i].get(), "echo: " + std::to_string(i));
}

TEST_F(Sockets, ConnectingToAClosedPortFailsWithIoError) {
  std::uint16_t port;
  {
    auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines);
    port = server.local().port;
  }
  std::this_thread::sleep_for(50ms);
  auto attempt = io::client<io::line_codec>(reactor, {"127.0.0.1", port}).outcome();
  ASSERT_FALSE(attempt);
  EXPECT_EQ(attempt.error().code(), troupe::errc::io_error);
}

TEST_F(Sockets, ListeningOnATakenPortThrowsNamingTheAddress) {
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0}, echo_lines);
  try {
    auto again = io::listen<io::line_codec>(reactor, server.local(), echo_lines);
    FAIL() << "bound twice";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find(server.local().to_string()), std::string::npos);
  }
}

TEST_F(Sockets, IPv6Loopback) {
  io::listener server;
  try {
    server = io::listen<io::line_codec>(reactor, {"::1", 0}, echo_lines);
  } catch (const std::system_error&) {
    GTEST_SKIP() << "no IPv6 loopback here";
  }
  auto call = io::client<io::line_codec>(reactor, {"::1", server.local().port}).get();
  EXPECT_EQ(call("six").get(), "echo: six");
}

TEST_F(Sockets, ServeWritesRepliesInRequestOrderAndMapsFailures) {
  troupe::service<std::string, std::string> svc = [this](std::string req) -> troupe::future<std::string> {
    if (req == "fail") return troupe::make_failed<std::string>(troupe::error(troupe::errc::overloaded));
    // Later requests finish first: the reply order must still be the request order.
    int delay = 20 - std::min(20, std::stoi(req.empty() ? "0" : req));
    troupe::promise<std::string> p;
    auto f = p.get_future();
    reactor.call_after(std::chrono::milliseconds(delay), [p, req]() mutable { p.set_value("r" + req); });
    return f;
  };
  io::serve_options<std::string> opts;
  opts.on_error = [](const troupe::error& e) { return "error: " + e.message(); };
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, svc, opts);
  raw_socket peer(server.local().port);
  std::string req, expected;
  for (int i = 0; i < 20; ++i) {
    req += std::to_string(i) + "\n";
    expected += "r" + std::to_string(i) + "\n";
  }
  req += "fail\n";
  expected += "error: overloaded\n";
  ASSERT_TRUE(peer.send(req));
  EXPECT_EQ(peer.read_exactly(expected.size()), expected);
}

TEST_F(Sockets, StoppingTheReactorClosesEverySocket) {
  std::atomic<int> stopped{0};
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](actor&, io::connection<io::line_codec>) -> behavior {
        return {[](std::string&) {},
                [&](const io::closed& c) { if (c.reason == "reactor stopped") ++stopped; }};
      });
  raw_socket a(server.local().port), b(server.local().port);
  ASSERT_TRUE(eventually([&] { return rt.live_actors() >= 2; }));
  reactor.stop();
  EXPECT_TRUE(eventually([&] { return stopped == 2; }));
  std::string rest;
  EXPECT_TRUE(a.read_to_end(rest));
}

TEST_F(Sockets, UdpDatagramsAreMessages) {
  std::atomic<std::uint16_t> echo_port{0};
  auto echo = io::open_udp(reactor, {"127.0.0.1", 0}, [&](actor&, io::udp_socket sock) -> behavior {
    echo_port = sock.local().port;
    return {[sock](io::datagram& d) mutable { sock.send_to(d.peer, "echo " + d.data); }};
  });
  std::atomic<bool> got{false};
  std::mutex mu;
  std::string answer;
  auto probe = io::open_udp(reactor, {"127.0.0.1", 0}, [&](actor&, io::udp_socket) -> behavior {
    return {[&](io::datagram& d) {
      std::lock_guard lock(mu);
      answer = d.data;
      got = true;
    }};
  });
  ASSERT_TRUE(eventually([&] { return echo_port != 0; }));
  // UDP may drop a datagram; try a few times.
  for (int attempt = 0; attempt < 50 && !got; ++attempt) {
    rt.send(probe, io::outbound<io::datagram>{{{"127.0.0.1", echo_port}, "ping"}});
    eventually([&] { return got.load(); }, 100ms);
  }
  ASSERT_TRUE(got);
  std::lock_guard lock(mu);
  EXPECT_EQ(answer, "echo ping");
  (void)echo;
}

TEST_F(Sockets, ResolvesLocalhost) {
  auto found = reactor.resolve("localhost", 80).get();
  ASSERT_FALSE(found.empty());
  bool loopback = false;
  for (auto& e : found) loopback = loopback || e.host == "127.0.0.1" || e.host == "::1";
  EXPECT_TRUE(loopback);
  auto missing = reactor.resolve("no-such-host.invalid", 80).outcome();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), troupe::errc::io_error);
}

}  // namespace

namespace {

TEST_F(Sockets, MalformedInputIsAnsweredAfterTheRepliesDueBeforeIt) {
  // The reply to "a" comes late (20 ms); the malformed line right behind
  // it must not cost it: the client gets the reply, then the close.
  troupe::service<std::string, std::string> slow = [this](std::string req) {
    troupe::promise<std::string> p;
    auto f = p.get_future();
    reactor.call_after(20ms, [p, req]() mutable { p.set_value("late " + req); });
    return f;
  };
  io::line_codec small;
  small.max_line = 16;
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, slow, {}, small);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("a\n" + std::string(100, 'x')));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  EXPECT_EQ(got, "late a\n");
}

TEST_F(Sockets, ALastRequestEndsTheConnectionAndItsActorEvenWithMorePipelinedBehindIt) {
  std::atomic<int> calls{0};
  troupe::service<io::http::request, io::http::response> app = [&](io::http::request req) {
    ++calls;
    return io::http::response::text(200, "you asked for " + req.target);
  };
  std::size_t before = rt.live_actors();
  auto server = io::serve<io::http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("GET /one HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        "GET /two HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  EXPECT_NE(got.find("you asked for /one"), std::string::npos);
  EXPECT_EQ(got.find("/two"), std::string::npos);
  EXPECT_EQ(calls.load(), 1);  // the request after the last one never reached the service
  EXPECT_TRUE(eventually([&] { return rt.live_actors() == before; }));
}

// RFC 9110 9.3.2: a HEAD's response is the GET's head without the body. A
// body sent anyway is read as the start of the next response on a kept-
// alive or pipelined connection.
TEST_F(Sockets, AHeadResponseCarriesNoBodyAndThePipelineStaysFramed) {
  troupe::service<io::http::request, io::http::response> app = [](io::http::request req) {
    return io::http::response::text(200, "hello " + req.target);
  };
  auto server = io::serve<io::http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("HEAD /a HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  // The HEAD's head gives the length the body would have (8: "hello /a").
  auto first_end = got.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos);
  std::string head = got.substr(0, first_end);
  EXPECT_NE(head.find("Content-Length: 8"), std::string::npos) << head;
  std::string rest = got.substr(first_end + 4);
  EXPECT_EQ(rest.rfind("HTTP/1.1 200", 0), 0u) << "after the HEAD's head: " << rest;
  EXPECT_EQ(got.find("hello /a"), std::string::npos);
  EXPECT_NE(rest.find("hello /b"), std::string::npos);
}

TEST_F(Sockets, AnHttp10KeepAliveRequestIsAnsweredKeepAlive) {
  troupe::service<io::http::request, io::http::response> app = [](io::http::request) {
    return io::http::response::text(200, "ok");
  };
  auto server = io::serve<io::http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
                        "GET / HTTP/1.0\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));  // the second, without keep-alive, closes
  auto second = got.find("HTTP/1.1 200", 1);
  ASSERT_NE(second, std::string::npos) << got;
  EXPECT_NE(got.substr(0, second).find("Connection: keep-alive"), std::string::npos) << got;
  EXPECT_NE(got.substr(second).find("Connection: close"), std::string::npos) << got;
}

TEST_F(Sockets, AFailedCallWithoutAnErrorReplyResetsAndTheActorEnds) {
  troupe::service<std::string, std::string> failing = [](std::string) {
    return troupe::make_failed<std::string>(troupe::error(troupe::errc::overloaded));
  };
  std::size_t before = rt.live_actors();
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, failing);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("a\nb\nc\n"));
  std::string got;
  EXPECT_TRUE(peer.read_to_end(got));
  EXPECT_EQ(got, "");
  EXPECT_TRUE(eventually([&] { return rt.live_actors() == before; }));
}

}  // namespace

namespace {

TEST_F(Sockets, RespAndHttpClientsAreServices) {
  namespace resp = io::resp;
  namespace http = io::http;
  // A RESP server that answers a command with its arguments reversed.
  troupe::service<resp::value, resp::value> reverse = [](resp::value cmd) {
    std::reverse(cmd.elements.begin(), cmd.elements.end());
    return cmd;
  };
  auto resp_server = io::serve<resp::codec>(reactor, {"127.0.0.1", 0}, reverse);
  auto redis = io::client<resp::codec>(reactor, {"127.0.0.1", resp_server.local().port}).get();
  EXPECT_EQ(redis(resp::value::command({"a", "b", "c"})).get(), resp::value::command({"c", "b", "a"}));

  troupe::service<http::request, http::response> hello = [](http::request req) {
    return http::response::text(200, req.method + " " + req.target + " " + req.body);
  };
  auto http_server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, hello);
  auto web = io::client<http::client_codec>(reactor, {"127.0.0.1", http_server.local().port}).get();
  http::request post;
  post.method = "POST";
  post.target = "/x";
  post.headers.push_back({"Host", "test"});
  post.body = "body";
  std::vector<troupe::future<http::response>> replies;
  for (int i = 0; i < 10; ++i) replies.push_back(web(post));  // pipelined on one connection
  for (auto& r : replies) {
    auto rep = r.get();
    EXPECT_EQ(rep.status, 200);
    EXPECT_EQ(rep.body, "POST /x body");
  }
}

}  // namespace

namespace {

// Replies pile up past the high watermark (the peer reads nothing), the
// server stops writing and waits for writable{}; then the peer resets.
// No writable{} ever comes: the connection's actor must end anyway. The
// reset comes at several points: at once (a slow server has not filled its
// queue yet; the reset's error may be taken by a direct send, so the read
// sees an end of input and the actor hears closed{} before its writes
// fail), and once the server is surely blocked.
void reset_while_replies_pile_up(troupe::runtime& rt, io::reactor& reactor, std::chrono::microseconds wait) {
  troupe::service<std::string, std::string> big = [](std::string) { return std::string(64 * 1024, 'b'); };
  io::serve_options<std::string> opts;
  opts.socket.connection.high_watermark = 256 * 1024;
  opts.socket.connection.low_watermark = 64 * 1024;
  std::size_t before = rt.live_actors();
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, big, opts);
  {
    raw_socket peer(server.local().port);
    peer.set_receive_buffer(4096);
    std::string requests;
    for (int i = 0; i < 400; ++i) requests += "r\n";
    ASSERT_TRUE(peer.send(requests));
    ASSERT_TRUE(eventually([&] { return rt.live_actors() == before + 1; }));
    std::this_thread::sleep_for(wait);
    linger reset{1, 0};
    ::setsockopt(peer.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }  // closed with a reset
  EXPECT_TRUE(eventually([&] { return rt.live_actors() == before; })) << "reset after " << wait.count() << " us";
}

TEST_F(Sockets, AServerBlockedOnAFullQueueEndsWhenThePeerResets) {
  for (auto wait : {0us, 100us, 2000us, 20000us, 300000us}) reset_while_replies_pile_up(rt, reactor, wait);
}

// The peer half-closes (the actor hears closed{} and socket_ended{} while
// the connection can still write), the actor writes until it is refused
// `full`, and then the peer resets. The failed write must wake the actor
// (writable{}, then its write says `closed`), or it waits forever.
TEST_F(Sockets, AWriterWaitingForWritableAfterThePeersFinHearsOfTheReset) {
  struct blocked {};
  troupe::scoped_actor self(rt);
  auto me = self.pid();
  io::socket_options opts;
  opts.connection.high_watermark = 256 * 1024;
  opts.connection.low_watermark = 64 * 1024;
  std::size_t before = rt.live_actors();
  auto server = io::listen<io::line_codec>(
      reactor, {"127.0.0.1", 0},
      [me](actor& a, io::connection<io::line_codec> conn) -> behavior {
        auto fill = [conn, me, &a]() mutable {
          for (;;) {
            auto status = conn.write(std::string(64 * 1024, 'w'));
            if (status == io::write_status::closed) return a.quit();
            if (status == io::write_status::full) return (void)a.send(me, blocked{});
          }
        };
        return {[](const io::closed&) {},
                [fill](const io::socket_ended&) mutable { fill(); },  // keep writing after the peer's FIN
                [fill](const io::writable&) mutable { fill(); }};
      },
      opts);
  {
    raw_socket peer(server.local().port);
    peer.set_receive_buffer(4096);
    peer.shutdown_send();
    ASSERT_TRUE(self.receive<blocked>(10s));
    linger reset{1, 0};
    ::setsockopt(peer.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }  // closed with a reset
  EXPECT_TRUE(eventually([&] { return rt.live_actors() == before; }));
}

}  // namespace

// The I/O thread runs the turn its input made ready when the workers sleep
// (config::lend_io_threads), and both the spinning loop and the plain one
// (reactor_options::spin = 0) serve a request/response exchange.
namespace {
struct io_thread_turns {
  int total = 0, on_io_thread = 0;
};

io_thread_turns one_line_at_a_time(troupe::config cfg, io::reactor_options options) {
  troupe::runtime rt(cfg);
  io::reactor r(rt, options);
  std::promise<std::thread::id> io_thread;
  r.post([&] { io_thread.set_value(std::this_thread::get_id()); });
  const auto io_id = io_thread.get_future().get();
  auto turns = std::make_shared<std::atomic<int>>(0);
  auto on_io = std::make_shared<std::atomic<int>>(0);
  auto server = io::listen<io::line_codec>(r, {"127.0.0.1", 0},
      [turns, on_io, io_id](actor&, io::connection<io::line_codec> conn) -> behavior {
        return {[conn, turns, on_io, io_id](std::string& line) mutable {
          ++*turns;
          if (std::this_thread::get_id() == io_id) ++*on_io;
          conn.write("echo: " + line);
        }};
      });
  raw_socket peer(server.local().port);
  for (int i = 0; i < 100; ++i) {
    const std::string line = "line " + std::to_string(i);
    if (!peer.send(line + "\n")) break;
    if (peer.read_exactly(line.size() + 7) != "echo: " + line + "\n") break;
    if (i % 10 == 0) std::this_thread::sleep_for(2ms);  // the workers park
  }
  return {turns->load(), on_io->load()};
}
}  // namespace

TEST(Reactor, TheIoThreadRunsTheTurnsItsInputMadeReadyWhileTheWorkersSleep) {
  auto t = one_line_at_a_time(troupe::config{.workers = 2}, {});
  EXPECT_EQ(t.total, 100);
  EXPECT_GT(t.on_io_thread, 0);
}

TEST(Reactor, WithLendingOffEveryTurnRunsOnAWorker) {
  auto t = one_line_at_a_time(troupe::config{.workers = 2, .lend_io_threads = false}, {});
  EXPECT_EQ(t.total, 100);
  EXPECT_EQ(t.on_io_thread, 0);
}

TEST(Reactor, WithoutSpinningTheIoThreadServesAsWell) {
  auto t = one_line_at_a_time(troupe::config{.workers = 2}, {.spin = troupe::duration::zero()});
  EXPECT_EQ(t.total, 100);
  EXPECT_GT(t.on_io_thread, 0);
}

TEST(Reactor, ASpinOutsideZeroTo1msIsRefused) {
  troupe::runtime rt(troupe::config{.workers = 1});
  EXPECT_THROW(io::reactor(rt, {.spin = -1us}), std::invalid_argument);
  EXPECT_THROW(io::reactor(rt, {.spin = 2ms}), std::invalid_argument);
  EXPECT_NO_THROW(io::reactor(rt, {.spin = 1ms}));
}
