// The trace service between two nodes in this process: a window comes back
// as Chrome JSON with the traced node's handlings; bad requests are refused
// with an error and the service goes on; a node that serves no traces
// answers with an error, not silence; an answer keeps under max_bytes.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <typeinfo>

#include "net_testing.hpp"
#include "troupe/async/ask.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/net/trace_service.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe;
using net::testing::site;

pid spawn_echo(troupe::runtime& rt) {
  return rt.spawn([](actor&) -> behavior { return {[](std::int64_t n) { return n; }}; });
}

// Keeps b's echo busy from a for `span`, and on until `done` (a window that
// started late, on a loaded machine, still sees handlings), 30 s at most.
void busy(site& a, pid echo_at_a, std::chrono::milliseconds span, const std::function<bool()>& done = {}) {
  troupe::scoped_actor me(a.rt);
  const auto start = std::chrono::steady_clock::now();
  const auto until = start + span;
  for (std::int64_t i = 0;; ++i) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= until && (!done || done() || now - start > 30s)) break;
    auto r = me.request<std::int64_t>(echo_at_a, i, 5s);
    ASSERT_TRUE(r);
  }
}

TEST(TraceService, AWindowComesBackWithTheTracedNodesHandlings) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  b.rt.register_name("echo", spawn_echo(b.rt));
  a.node.connect(b.node.address()).get();
  pid echo = a.node.whereis("troupe://b@127.0.0.1/echo").get();
  ASSERT_TRUE(echo);
  // A window long enough to hold handlings on a loaded machine under TSan
  // (where starting to trace takes hundreds of ms), with the echo kept busy
  // until it comes back.
  auto reply = net::fetch_trace(a.rt, a.node, "b@127.0.0.1", {.duration_ms = 1000});
  busy(a, echo, 600ms, [&] { return reply.is_ready(); });
  auto got = reply.outcome();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_GT(got->events, 0u);
  EXPECT_NE(got->json.find("\"traceEvents\""), std::string::npos);
  // The echo's handlings, named by the C++ type the message became on b.
  const std::string slice = "{\"ph\":\"X\",\"name\":\"" + troupe::detail::demangle(typeid(std::int64_t).name()) + "\"";
  EXPECT_NE(got->json.find(slice), std::string::npos) << got->json.substr(0, 1000);
  // b records no longer: the service started it and stopped it.
  EXPECT_TRUE(troupe::net::testing::eventually([&] { return !troupe::tracing::active(b.rt); }));
}

TEST(TraceService, ABadRequestIsRefusedAndTheServiceGoesOn) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  a.node.connect(b.node.address()).get();
  pid service = a.node.whereis(std::string("troupe://b@127.0.0.1/") + net::trace_service_name).get();
  ASSERT_TRUE(service);
  auto bad = troupe::ask<net::trace_reply>(a.rt, service, net::trace_request{.duration_ms = 0}, 5s).outcome();
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("duration_ms"), std::string::npos) << bad.error().message();
  auto good = troupe::ask<net::trace_reply>(a.rt, service, net::trace_request{.duration_ms = 50}, 5s).outcome();
  EXPECT_TRUE(good) << good.error().message();
}

TEST(TraceService, AnAnswerKeepsUnderMaxBytesAndCountsWhatItLeftOut) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  b.rt.register_name("echo", spawn_echo(b.rt));
  a.node.connect(b.node.address()).get();
  pid echo = a.node.whereis("troupe://b@127.0.0.1/echo").get();
  auto reply = net::fetch_trace(a.rt, a.node, "b@127.0.0.1", {.duration_ms = 1000, .max_bytes = 4096});
  busy(a, echo, 500ms, [&] { return reply.is_ready(); });
  auto got = reply.outcome();
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_LE(got->json.size(), 4096u);
  EXPECT_GT(got->lost, 0u);
}

TEST(TraceService, ANodeThatServesNoTracesAnswersWithAnError) {
  site a("a@127.0.0.1"), b("b@127.0.0.1", {.serve_traces = false});
  a.node.connect(b.node.address()).get();
  auto got = net::fetch_trace(a.rt, a.node, "b@127.0.0.1", {.duration_ms = 50}).outcome();
  EXPECT_FALSE(got);
}

}  // namespace
