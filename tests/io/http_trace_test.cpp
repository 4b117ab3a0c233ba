// W3C traceparent: parsed and written exactly as the spec says, continued
// by a server's trace_context() filter, and written by a client inside a
// trace; over real sockets.
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "raw_socket.hpp"
#include "troupe/async/request_context.hpp"
#include "troupe/io.hpp"
#include "troupe/io/codecs/http_trace.hpp"
#include "troupe/troupe.hpp"

namespace {

using namespace std::chrono_literals;
namespace io = troupe::io;
namespace http = troupe::io::http;
using io::testing::raw_socket;
using troupe::request_context;

TEST(Traceparent, ParsesTheSpecsExampleAndKeepsTheLow64BitsOfTheTraceId) {
  auto ctx = http::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  ASSERT_TRUE(ctx);
  EXPECT_EQ(ctx->trace_id, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(ctx->span_id, 0x00f067aa0ba902b7ULL);
  EXPECT_EQ(http::traceparent_of(*ctx), "00-0000000000000000a3ce929d0e0e4736-00f067aa0ba902b7-01");
  // A later version may append fields; version 00 may not.
  EXPECT_TRUE(http::parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
  EXPECT_FALSE(http::parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST(Traceparent, RefusesWhatIsNotOne) {
  for (const char* bad : {"", "00", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
                          "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",        // version ff
                          "00-00000000000000000000000000000000-00f067aa0ba902b7-01",        // zero trace
                          "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",        // zero parent
                          "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",        // uppercase
                          "00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",        // not hex
                          "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})     // separator
    EXPECT_FALSE(http::parse_traceparent(bad)) << bad;
}

struct HttpTrace : ::testing::Test {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
  std::mutex mu;
  std::shared_ptr<const request_context> seen;  // the context the service ran in
  troupe::service<http::request, http::response> app =
      http::trace_context() | troupe::service<http::request, http::response>([this](http::request) {
        std::lock_guard lock(mu);
        seen = request_context::current();
        return http::response::text(200, "ok");
      });
};

TEST_F(HttpTrace, AServerContinuesTheCallersTraceInAChildSpan) {
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  raw_socket peer(server.local().port);  // as curl -H 'traceparent: ...' would
  ASSERT_TRUE(peer.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  ASSERT_NE(got.find("200 OK"), std::string::npos) << got;
  std::lock_guard lock(mu);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->trace_id, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(seen->parent_id, 0x00f067aa0ba902b7ULL);
  EXPECT_NE(seen->span_id, 0x00f067aa0ba902b7ULL);
}

TEST_F(HttpTrace, WithoutATraceparentTheServerStartsATrace) {
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  raw_socket peer(server.local().port);
  ASSERT_TRUE(peer.send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "traceparent: not-a-traceparent\r\n\r\n"));
  std::string got;
  ASSERT_TRUE(peer.read_to_end(got));
  std::lock_guard lock(mu);
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->trace_id, 0u);
  EXPECT_EQ(seen->parent_id, 0u);
}

TEST_F(HttpTrace, AClientInsideATraceSendsItsTraceparent) {
  auto server = io::serve<http::server_codec>(reactor, {"127.0.0.1", 0}, app);
  auto web = io::client<http::client_codec>(reactor, {"127.0.0.1", server.local().port}).get();
  http::request q;
  q.headers.push_back({"Host", "test"});
  auto root = request_context::new_trace();
  auto reply = troupe::with_context(root, [&] { return web(q); }).get();
  EXPECT_EQ(reply.status, 200);
  {
    std::lock_guard lock(mu);
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->trace_id, root->trace_id);  // the server continued the client's trace
    EXPECT_NE(seen->parent_id, 0u);
  }
  // Outside a trace: no traceparent, so the server starts its own.
  auto untraced = web(q).get();
  EXPECT_EQ(untraced.status, 200);
  std::lock_guard lock(mu);
  ASSERT_TRUE(seen);
  EXPECT_NE(seen->trace_id, root->trace_id);
  EXPECT_EQ(seen->parent_id, 0u);
}

}  // namespace
