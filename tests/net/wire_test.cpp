// A node facing a hand-driven peer (raw_node.hpp): refusals, forged
// targets, unknown types, malformed frames, and the failure detector
// judging a peer that falls silent.
#include <gtest/gtest.h>

#include "net_testing.hpp"

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "raw_node.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"

namespace {

using namespace std::chrono_literals;
using troupe::actor;
using troupe::behavior;
using troupe::pid;
namespace net = troupe::net;
namespace io = troupe::io;
using troupe::net::testing::eventually;
namespace wire = troupe::net::detail;
using net::testing::raw_node;

struct wire_fixture : ::testing::Test {
  net::node_options options() {
    net::node_options o;
    o.name = "a@127.0.0.1";
    o.cookie = "a-cookie-for-the-net-tests";
    o.heartbeat = 50ms;
    o.temp_fail_after = 300ms;
    o.perm_fail_after = 1500ms;
    return o;
  }
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  io::reactor reactor{rt};
  net::node node{rt, reactor, options()};
  std::atomic<int> hits{0};
  pid counter = rt.spawn([this](actor&) -> behavior {
    return {[this](const std::string&) { ++hits; }};
  });
  wire_fixture() { rt.register_name("counter", counter); }

  // A whereis through the wire: the registered actor's (id, tag).
  std::pair<std::uint64_t, std::uint64_t> lookup(raw_node& peer, const std::string& name) {
    peer.send_frame(raw_node::frame(wire::frame_tag::whereis, [&](net::writer& w) {
      w.varint(7);
      w.bytes(name);
    }));
    std::string reply = peer.read_frame();
    net::reader r(reply);
    EXPECT_EQ(static_cast<wire::frame_tag>(r.byte()), wire::frame_tag::whereis_reply);
    EXPECT_EQ(r.varint(), 7u);
    EXPECT_EQ(r.byte(), 1);
    EXPECT_EQ(r.bytes(), "a@127.0.0.1");
    EXPECT_EQ(r.fixed64(), node.incarnation());
    auto id = r.varint();
    auto tag = r.fixed64();
    return {id, tag};
  }
  static std::string send_frame(std::uint64_t id, std::uint64_t tag, const std::string& type,
                                const std::string& value) {
    return raw_node::frame(wire::frame_tag::send, [&](net::writer& w) {
      w.varint(id);
      w.fixed64(tag);
      w.byte(0);    // no sender
      w.varint(0);  // not a request
      w.bytes(type);
      w.bytes(value);  // a string's encoding: its length and bytes
    });
  }
};

TEST_F(wire_fixture, AWrongCookieIsRefusedAndLogged) {
  raw_node peer(node.address().port, "z@127.0.0.1", "guess");
  EXPECT_EQ(peer.handshake(), "");
  EXPECT_TRUE(eventually([&] { return node.stats().refused_handshakes == 1; }));
  EXPECT_TRUE(node.connected_nodes().empty());
}

// The caller proves first: before it has, the node sends a challenge with
// its identity and a fresh nonce and nothing else (nothing computed from
// the cookie to test guesses against offline).
TEST_F(wire_fixture, TheNodeRevealsNothingFromTheCookieBeforeTheCallerProves) {
  raw_node peer(node.address().port, "z@127.0.0.1", "guess");
  std::string challenge = peer.hello_only("z@127.0.0.1");
  ASSERT_FALSE(challenge.empty());
  net::reader r(challenge);
  EXPECT_EQ(static_cast<wire::frame_tag>(r.byte()), wire::frame_tag::challenge);
  EXPECT_EQ(r.bytes(), wire::protocol_magic);
  EXPECT_EQ(r.varint(), wire::protocol_version);
  EXPECT_EQ(r.bytes(), "a@127.0.0.1");
  r.fixed64();
  r.bytes();
  r.varint();
  EXPECT_EQ(r.bytes().size(), wire::nonce_size);
  EXPECT_EQ(r.remaining(), 0u) << "the challenge carries more than the node's identity and nonce";
  // Two challenges never share a nonce.
  raw_node other(node.address().port, "y@127.0.0.1", "guess");
  EXPECT_NE(other.hello_only("y@127.0.0.1"), challenge);
}

TEST_F(wire_fixture, AnOldProtocolVersionIsRefused) {
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  peer.send_hello("z@127.0.0.1", 2, wire::random_bytes(wire::nonce_size));  // the server proved first in 2
  EXPECT_EQ(peer.read_frame(2s), "");
  EXPECT_TRUE(eventually([&] { return node.stats().refused_handshakes == 1; }));
}

TEST_F(wire_fixture, RepeatedFailuresFromOneAddressAreShutOut) {
  // options(): at most 20 refusals a minute from one address.
  for (int i = 0; i < 20; ++i) {
    raw_node guesser(node.address().port, "z@127.0.0.1", "guess-" + std::to_string(i));
    EXPECT_EQ(guesser.handshake(), "");
  }
  EXPECT_TRUE(eventually([&] { return node.stats().refused_handshakes == 20; }));
  // Now even the right cookie gets nothing from that address: the
  // connection closes before a frame is read.
  raw_node right(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  EXPECT_EQ(right.handshake(), "");
  EXPECT_TRUE(eventually([&] { return node.stats().throttled_handshakes >= 1; }));
  EXPECT_TRUE(node.connected_nodes().empty());
}

TEST(wire, NamesFromAnUnauthenticatedHelloAreLoggedPrintableAndCapped) {
  std::mutex m;
  std::vector<std::string> lines;
  troupe::config cfg{.workers = 2, .warn_unhandled = false};
  cfg.log_sink = [&](const troupe::log_record& record) {
    const std::string_view text = record.text;
    std::lock_guard lock(m);
    lines.emplace_back(text);
  };
  troupe::runtime rt(cfg);
  io::reactor reactor(rt);
  net::node_options o;
  o.name = "a@127.0.0.1";
  o.cookie = "a-cookie-for-the-net-tests";
  net::node node(rt, reactor, o);
  {
    raw_node forger(node.address().port, "x", "guess");
    // A name that forges a log line and colours the terminal.
    std::string challenge = forger.hello_only("z@h\ntroupe info: node_up admin\x1b[31m");
    forger.send_frame(raw_node::frame(wire::frame_tag::proof, [&](net::writer& w) { w.bytes(std::string(32, 'x')); }));
    forger.read_frame(2s);
  }
  {
    raw_node long_name(node.address().port, "x", "guess");
    long_name.hello_only(std::string(60'000, 'n'));
  }
  ASSERT_TRUE(eventually([&] { return node.stats().refused_handshakes == 2; }));
  std::lock_guard lock(m);
  bool forged_escaped = false;
  for (auto& l : lines) {
    EXPECT_EQ(l.find('\n'), std::string::npos) << l;
    EXPECT_EQ(l.find('\x1b'), std::string::npos) << l;
    EXPECT_LT(l.size(), 1000u) << "a log line of " << l.size() << " bytes";
    forged_escaped |= l.find("\\x0a") != std::string::npos;
  }
  EXPECT_TRUE(forged_escaped) << "the forged name was not logged, escaped";
}

TEST_F(wire_fixture, GarbageInsteadOfAHandshakeIsRefused) {
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  peer.send_frame("GET / HTTP/1.1\r\n\r\n");
  std::string rest;
  EXPECT_TRUE(peer.socket().read_to_end(rest, 5s));
  EXPECT_TRUE(eventually([&] { return node.stats().refused_handshakes == 1; }));
}

TEST_F(wire_fixture, AGivenPidWorksAndAGuessedOneDoesNot) {
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  ASSERT_EQ(peer.handshake(), "a@127.0.0.1");
  auto [id, tag] = lookup(peer, "counter");
  EXPECT_EQ(id, counter.id());
  peer.send_frame(send_frame(id, tag, "string", "hi"));
  ASSERT_TRUE(eventually([&] { return hits.load() == 1; }));
  // The right number with a wrong tag reaches nobody, and is counted.
  auto dead = rt.dead_letter_count();
  peer.send_frame(send_frame(id, tag ^ 1, "string", "forged"));
  EXPECT_TRUE(eventually([&] { return node.stats().forged_pids == 1; }));
  EXPECT_TRUE(eventually([&] { return rt.dead_letter_count() == dead + 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(hits.load(), 1);
}

TEST_F(wire_fixture, AnUnknownTypeGoesToDeadLetters) {
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  ASSERT_EQ(peer.handshake(), "a@127.0.0.1");
  auto [id, tag] = lookup(peer, "counter");
  auto dead = rt.dead_letter_count();
  peer.send_frame(send_frame(id, tag, "from.the.future", "?"));
  EXPECT_TRUE(eventually([&] { return node.stats().unknown_types == 1; }));
  EXPECT_TRUE(eventually([&] { return rt.dead_letter_count() == dead + 1; }));
  auto letters = rt.recent_dead_letters();
  ASSERT_FALSE(letters.empty());
  EXPECT_NE(letters.back().type.find("unknown_wire_type"), std::string::npos) << letters.back().type;
  // The connection is still good.
  peer.send_frame(send_frame(id, tag, "string", "still here"));
  EXPECT_TRUE(eventually([&] { return hits.load() == 1; }));
}

TEST_F(wire_fixture, AMalformedFrameClosesThatConnectionOnly) {
  // A real node stays connected throughout.
  troupe::runtime rt_b{troupe::config{.workers = 1, .warn_unhandled = false}};
  io::reactor io_b{rt_b};
  net::node b{rt_b, io_b, {.name = "b@127.0.0.1", .cookie = "a-cookie-for-the-net-tests"}};
  b.connect(node.address()).get();

  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  ASSERT_EQ(peer.handshake(), "a@127.0.0.1");
  auto [id, tag] = lookup(peer, "counter");
  // A string whose length runs past the end of its frame.
  peer.send_frame(raw_node::frame(wire::frame_tag::send, [&](net::writer& w) {
    w.varint(id);
    w.fixed64(tag);
    w.byte(0);
    w.varint(0);
    w.bytes("string");
    w.varint(1000);
  }));
  std::string rest;
  EXPECT_TRUE(peer.socket().read_to_end(rest, 5s));  // closed
  EXPECT_TRUE(eventually([&] { return node.stats().malformed_frames == 1; }));
  auto names = node.connected_nodes();
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], "b@127.0.0.1");
  pid remote = b.whereis("troupe://a@127.0.0.1/counter").get();
  rt_b.send(remote, std::string("from b"));
  EXPECT_TRUE(eventually([&] { return hits.load() == 1; }));
}

TEST_F(wire_fixture, ASilentPeerIsSuspectedThenDeclaredDown) {
  std::mutex mu;
  std::vector<net::fault_state> seen;
  node.watch([&](const net::node_event& e) {
    if (e.node != "z@127.0.0.1") return;
    std::lock_guard lock(mu);
    seen.push_back(e.state);
  });
  auto states = [&] {
    std::lock_guard lock(mu);
    return seen;
  };
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  ASSERT_EQ(peer.handshake(), "a@127.0.0.1");
  // Silent long enough to be suspected, then heard again: ok once more.
  ASSERT_TRUE(eventually([&] { return states().size() == 2; }));
  EXPECT_EQ(node.state_of("z@127.0.0.1"), net::fault_state::temp_fail);
  peer.send_frame(std::string(1, static_cast<char>(wire::frame_tag::heartbeat)));
  ASSERT_TRUE(eventually([&] { return states().size() == 3; }));
  EXPECT_EQ(node.state_of("z@127.0.0.1"), net::fault_state::ok);
  // Then silent for good: suspected, then down, and the connection closed.
  ASSERT_TRUE(eventually([&] { return states().size() == 5; }));
  EXPECT_EQ(states(), (std::vector<net::fault_state>{net::fault_state::ok, net::fault_state::temp_fail,
                                                     net::fault_state::ok, net::fault_state::temp_fail,
                                                     net::fault_state::perm_fail}));
  EXPECT_EQ(node.state_of("z@127.0.0.1"), net::fault_state::perm_fail);
  std::string rest;
  EXPECT_TRUE(peer.socket().read_to_end(rest, 5s));
}

TEST_F(wire_fixture, RepliesNobodyAskedForAreDropped) {
  raw_node peer(node.address().port, "z@127.0.0.1", "a-cookie-for-the-net-tests");
  ASSERT_EQ(peer.handshake(), "a@127.0.0.1");
  auto [id, tag] = lookup(peer, "counter");
  auto dead = rt.dead_letter_count();
  // A reply to a request the counter never made, with the right tag.
  peer.send_frame(raw_node::frame(wire::frame_tag::reply, [&](net::writer& w) {
    w.varint(id);
    w.fixed64(tag);
    w.varint(12345);
    w.bytes("string");
    w.bytes("made up");
  }));
  EXPECT_TRUE(eventually([&] { return node.stats().unasked == 1; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(rt.dead_letter_count(), dead);  // dropped at the door, not delivered
  EXPECT_EQ(node.connected_nodes().size(), 1u);
}

}  // namespace

