// HTTP framing rules across real sockets: methods a server does not
// implement get 501, and a client reads the response to its HEAD without a
// body (RFC 9110 9.3.2, 15.6.2; RFC 9112 6.3).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "raw_socket.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io.hpp"
#include "troupe/io/codecs/http.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
namespace io = troupe::io;
namespace http = troupe::io::http;
using io::testing::raw_socket;

struct HttpFraming : ::testing::Test {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
  troupe::service<http::request, http::response> echo_method = [](http::request req) {
    return http::response::text(200, req.method + " " + req.target);
  };
};

TEST_F(HttpFraming, AnUnknownMethodIsAnswered501AndTheConnectionCloses) {
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, echo_method);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                        "BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got)) << "the connection stayed open";
  EXPECT_NE(got.find("GET /a"), std::string::npos) << got;  // what came before is answered
  EXPECT_NE(got.find("HTTP/1.1 501 Not Implemented"), std::string::npos) << got;
  EXPECT_EQ(got.find("BREW"), std::string::npos) << "the handler saw the unknown method";
  EXPECT_EQ(got.find("GET /b"), std::string::npos) << "requests after it were served";
}

TEST_F(HttpFraming, AServerCanTakeExtensionMethods) {
  http::server_codec any;
  any.accepts_method = nullptr;  // a WebDAV server, say
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, echo_method, {}, any);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("PROPFIND /dav HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  EXPECT_NE(got.find("200 OK"), std::string::npos) << got;
  EXPECT_NE(got.find("PROPFIND /dav"), std::string::npos) << got;
}

// The response to a HEAD has the Content-Length its GET would have, and no
// body: a client that read that many bytes as its body would take the next
// response's bytes for it.
TEST_F(HttpFraming, AClientReadsTheResponseToItsHeadWithoutABody) {
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, echo_method);
  auto web = io::client<http::client_codec>(reactor, {"127.0.0.1", server.local().port}).get();
  auto ask = [&](const char* method, const char* target) {
    http::request q;
    q.method = method;
    q.target = target;
    q.headers.push_back({"Host", "test"});
    return web(q);
  };
  std::vector<troupe::future<http::response>> replies;  // pipelined on one connection
  replies.push_back(ask("HEAD", "/first"));
  replies.push_back(ask("GET", "/second"));
  replies.push_back(ask("HEAD", "/third"));
  replies.push_back(ask("GET", "/fourth"));
  const http::response head = replies[0].get();
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  ASSERT_NE(head.find_header("Content-Length"), nullptr);
  EXPECT_EQ(*head.find_header("Content-Length"), "11");  // "HEAD /first"
  EXPECT_EQ(replies[1].get().body, "GET /second");
  EXPECT_EQ(replies[2].get().body, "");
  EXPECT_EQ(replies[3].get().body, "GET /fourth");
}

}  // namespace

namespace {
// A request whose body comes in a second segment, a moment after its head,
// on a keep-alive connection, again and again: each read that finds the
// head alone is short, and the connection must still hear the body (it
// waits for readiness after a short read; an edge consumed while Asio's
// read completion was queued must not leave it waiting forever).
TEST_F(HttpFraming, BodiesThatArriveInASecondSegmentAreAlwaysHeard) {
  troupe::service<http::request, http::response> echo_body = [](http::request req) {
    return http::response::text(200, req.body);
  };
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, echo_body);
  raw_socket peer(server.local().port);
  for (int i = 0; i < 200; ++i) {
    const std::string body = "body " + std::to_string(i);
    ASSERT_TRUE(peer.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\n\r\n"));
    if (i % 2 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 7)));
    ASSERT_TRUE(peer.send(body));
    std::string got;
    ASSERT_TRUE(peer.read_until(got, body)) << "request " << i << " was not answered: " << got;
  }
}
}  // namespace
