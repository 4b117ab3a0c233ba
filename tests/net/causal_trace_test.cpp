// Causal context across nodes: a request made inside a trace (async's
// request_context) crosses three nodes (a asks b's front, which asks c's
// store, and answers a); every message of it carries the trace id and a
// span of its own, handlers run in the span of the message they handle, and
// the three nodes' recordings export as one file whose flows cross nodes
// and whose slices form the request's tree.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "net_testing.hpp"
#include "troupe/async/request_context.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/core/trace.hpp"
#include "troupe/net/wire_type.hpp"

namespace {

using namespace std::chrono_literals;
using namespace troupe;
using net::testing::eventually;
using net::testing::site;

struct lookup {
  std::string key;
};
struct registered {
  registered() { net::register_type<lookup>("causal_trace_test.lookup"); }
} const registration;

// What each handler saw as its context: node, trace, span.
struct seen {
  std::string where;
  std::uint64_t trace = 0, span = 0;
};

TEST(CausalTrace, ARequestAcrossThreeNodesIsOneTraceWithATreeOfSpans) {
  site a("a@127.0.0.1"), b("b@127.0.0.1"), c("c@127.0.0.1");
  auto seen_by = std::make_shared<std::vector<seen>>();
  auto mu = std::make_shared<std::mutex>();
  auto note = [seen_by, mu](const std::string& where) {
    auto ctx = request_context::current();
    std::lock_guard lock(*mu);
    seen_by->push_back({where, ctx ? ctx->trace_id : 0, ctx ? ctx->span_id : 0});
  };
  c.rt.register_name("store", c.rt.spawn([note](actor&) -> behavior {
    return {[note](const lookup& q) {
      note("c store");
      return std::string("value of ") + q.key;
    }};
  }));
  b.node.connect(c.node.address()).get();
  a.node.connect(b.node.address()).get();
  pid store = b.node.whereis("troupe://c@127.0.0.1/store").get();
  ASSERT_TRUE(store);
  b.rt.register_name("front", b.rt.spawn([note, store](actor& self) -> behavior {
    return {[&self, note, store](const lookup& q) {
      note("b front");
      auto answer = std::make_shared<response_promise>(self.make_response_promise());
      self.request<std::string>(store, q, 5s).then([answer](const std::string& v) { answer->deliver(v); },
                                                    [answer](const error& e) { answer->deliver_error(e); });
    }};
  }));
  pid front = a.node.whereis("troupe://b@127.0.0.1/front").get();
  ASSERT_TRUE(front);

  for (auto* s : {&a, &b, &c}) tracing::start(s->rt);
  troupe::scoped_actor me(a.rt);
  auto root = request_context::new_trace();
  auto reply = with_context(root, [&] { return me.request<std::string>(front, lookup{"k"}, 5s); });
  ASSERT_TRUE(reply) << reply.error().message();
  EXPECT_EQ(*reply, "value of k");
  // Replies are recorded before they are delivered; a moment for the rest.
  std::this_thread::sleep_for(50ms);

  // Every handler ran in the root's trace, each in a span of its own.
  {
    std::lock_guard lock(*mu);
    ASSERT_EQ(seen_by->size(), 2u);
    std::set<std::uint64_t> spans{root->span_id};
    for (auto& s : *seen_by) {
      EXPECT_EQ(s.trace, root->trace_id) << s.where;
      EXPECT_TRUE(spans.insert(s.span).second) << s.where << " has a span of its own";
    }
  }

  std::vector<tracing::node_trace> nodes;
  for (auto* s : {&a, &b, &c}) {
    tracing::stop(s->rt);
    nodes.push_back({s->node.name(), tracing::snapshot(s->rt), 0});
  }
  // The tree: each send's parent is the span of the handling it came from;
  // the root's send has the root span as its parent.
  std::map<std::uint64_t, std::uint64_t> parent_of;  // span -> parent span
  std::map<std::uint64_t, std::string> handled_on;   // span -> node whose actor handled it
  for (auto& n : nodes)
    for (auto& e : n.events) {
      if (e.trace_id == 0) continue;
      EXPECT_EQ(e.trace_id, root->trace_id);
      if (e.kind == tracing::event_kind::send && e.parent_span_id != 0) parent_of.emplace(e.span_id, e.parent_span_id);
      if (e.kind == tracing::event_kind::begin) handled_on[e.span_id] = n.node;
    }
  // a -> b (lookup), b -> c (lookup), c -> b (reply: b's continuation
  // handles it, in its span), b -> a (reply, sent from that continuation).
  std::map<std::uint64_t, std::string> sent_on;  // span -> node that sent it first
  for (auto& n : nodes)
    for (auto& e : n.events)
      if (e.kind == tracing::event_kind::send && e.parent_span_id != 0) sent_on.emplace(e.span_id, n.node);
  auto child = [&](std::uint64_t parent, const std::string& from, const std::string& to) {
    for (auto& [span, p] : parent_of)
      if (p == parent && sent_on[span] == from && (to.empty() || handled_on[span] == to)) return span;
    return std::uint64_t{0};
  };
  const std::uint64_t to_b = child(root->span_id, "a@127.0.0.1", "b@127.0.0.1");
  ASSERT_NE(to_b, 0u) << "the root's request to b";
  const std::uint64_t to_c = child(to_b, "b@127.0.0.1", "c@127.0.0.1");
  ASSERT_NE(to_c, 0u) << "b's request to c, a child of the span b handled";
  const std::uint64_t c_reply = child(to_c, "c@127.0.0.1", "b@127.0.0.1");
  ASSERT_NE(c_reply, 0u) << "c's reply, a child of the span c handled, handled by b's continuation";
  // a's scoped actor takes its reply with receive, not a handler: no begin.
  EXPECT_NE(child(c_reply, "b@127.0.0.1", ""), 0u) << "b's reply to a, sent from the continuation's span";

  // One file: the request's flows start on one node's process and end on
  // another's.
  std::ostringstream json;
  tracing::write_chrome_json(nodes, json);
  const std::string text = json.str();
  for (std::string name : {"a@127.0.0.1: actors", "b@127.0.0.1: actors", "c@127.0.0.1: actors"})
    EXPECT_NE(text.find("\"" + name + "\""), std::string::npos) << name;
  char hex[20];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(to_c));
  const std::string flow = "\"id\":\"span/" + std::string(hex) + "\"";
  const auto start = text.find("\"ph\":\"s\",\"name\":\"message\",\"pid\":4");  // on b's actors
  const auto end = text.find("\"ph\":\"f\",\"name\":\"message\",\"pid\":6");    // on c's actors
  EXPECT_NE(start, std::string::npos);
  EXPECT_NE(end, std::string::npos);
  EXPECT_NE(text.find(flow), std::string::npos) << "b's request to c is a flow named by its span";
}

TEST(CausalTrace, MessagesOutsideATraceCarryNone) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  b.rt.register_name("echo", b.rt.spawn([](actor&) -> behavior {
    return {[](const lookup& q) {
      auto ctx = request_context::current();
      return std::string(ctx ? "traced" : "untraced") + " " + q.key;
    }};
  }));
  a.node.connect(b.node.address()).get();
  pid echo = a.node.whereis("troupe://b@127.0.0.1/echo").get();
  troupe::scoped_actor me(a.rt);
  auto r1 = me.request<std::string>(echo, lookup{"1"}, 5s);
  ASSERT_TRUE(r1);
  EXPECT_EQ(*r1, "untraced 1");
  auto r2 = with_context(request_context::new_trace(), [&] { return me.request<std::string>(echo, lookup{"2"}, 5s); });
  ASSERT_TRUE(r2);
  EXPECT_EQ(*r2, "traced 2");
  // The trace ended with its scope: the next request is untraced again,
  // and so is the worker that handled the traced one.
  auto r3 = me.request<std::string>(echo, lookup{"3"}, 5s);
  ASSERT_TRUE(r3);
  EXPECT_EQ(*r3, "untraced 3");
}

// Node frames and the socket reads and writes under them are recorded, on
// each side, with the peer node's name and the bytes.
TEST(CausalTrace, FramesAndSocketStepsAreRecordedWithThePeerAndTheBytes) {
  site a("a@127.0.0.1"), b("b@127.0.0.1");
  b.rt.register_name("echo", b.rt.spawn([](actor&) -> behavior {
    return {[](const lookup& q) { return q.key; }};
  }));
  a.node.connect(b.node.address()).get();
  pid echo = a.node.whereis("troupe://b@127.0.0.1/echo").get();
  tracing::start(a.rt);
  troupe::scoped_actor me(a.rt);
  auto r = me.request<std::string>(echo, lookup{std::string(1000, 'x')}, 5s);
  ASSERT_TRUE(r);
  ASSERT_TRUE(eventually([&] {
    bool sent = false, received = false, read = false, written = false;
    for (auto& e : tracing::snapshot(a.rt)) {
      sent = sent || (e.kind == tracing::event_kind::frame_send && e.what == "b@127.0.0.1" && e.value > 1000);
      received = received || (e.kind == tracing::event_kind::frame_recv && e.what == "b@127.0.0.1" && e.value > 1000);
      read = read || (e.kind == tracing::event_kind::socket_read && e.value > 1000);
      written = written || (e.kind == tracing::event_kind::socket_write && e.value > 1000);
    }
    return sent && received && read && written;
  }));
  tracing::stop(a.rt);
}

}  // namespace
