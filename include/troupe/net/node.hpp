// node: this runtime as a member of a cluster of troupe nodes.
//
//   net::node a(rt, io, {.name = "a@127.0.0.1", .cookie = secret});
//   a.connect({"127.0.0.1", 9100}).get();           // -> "b@127.0.0.1"
//   pid counter = a.whereis("troupe://b@127.0.0.1/counter").get();
//   self.send(counter, add{5});                     // as if it were local
//
// Location transparency: a remote actor is reached through a local proxy
// pid. send, request (with its timeout), link, monitor and exit signals
// work on it as on a local pid, and pids travel inside messages (either
// way, also a third node's). Per sender and receiver, messages arrive in
// the order sent. A message's type must be registered on both nodes
// (wire_type.hpp).
//
// Connections are made on first use, too: a message for a node that is
// not connected, but whose address is known (see whereis), waits while
// this node connects to it, and is sent in order once it is up, or fails
// as below if the node cannot be reached within twice handshake_timeout.
// A pid that lived through a lost connection stays dead, though (Mozart's
// perm_fail is permanent): a new one comes from whereis or a message.
//
// Failures. When the connection to a node goes down, links across it fire
// with reason `noconnection`, monitors deliver down{noconnection},
// requests in flight fail with errc::noconnection, and sends to its actors
// go to dead letters. Heartbeats flow on every connection; a node silent
// for temp_fail_after is suspected (fault_state::temp_fail), and one
// silent for perm_fail_after is declared down (perm_fail): its connection
// is closed and everything above fires. A suspected node that speaks again
// is ok again. Watchers hear every change: monitor_node() as messages
// (node_up, node_fault, node_down), watch() as callbacks.
//
// Security. With options.tls, links are TLS 1.3 and each node must present
// a certificate the other trusts. The handshake proves both nodes know the cookie (HMAC-SHA256
// over fresh nonces; the cookie never crosses the wire), the connecting
// node first: a caller that does not know the cookie learns nothing it
// could test guesses against. A wrong cookie is refused and logged on both
// sides, and an address with too many refusals is shut out for a minute
// (max_handshake_failures). Use a random cookie of 128 bits or more. A local actor is reachable from the
// network only through a pid this node has sent out (in a message, or by
// whereis): such a pid carries a random 64-bit tag, and a frame whose tag
// does not match the actor's is refused. Knowing or guessing an actor's
// number gives a peer nothing.
//
// Threads: every method is thread-safe. Watch callbacks run on the
// connection's actor: keep them short.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "troupe/async/future.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/io/endpoint.hpp"
#include "troupe/io/reactor.hpp"
#include "troupe/io/tls.hpp"
#include "troupe/net/wire_type.hpp"

namespace troupe::net {

// How a node looks from here: ok, suspected (temp_fail) or down (perm_fail).
enum class fault_state { ok, temp_fail, perm_fail };
// "ok", "temp_fail" or "perm_fail".
std::string_view to_string(fault_state state) noexcept;

// Sent to monitor_node() watchers.
struct node_up {
  // The node now connected.
  std::string node;
};
// Sent to monitor_node() watchers when a node is suspected or recovers.
struct node_fault {  // temp_fail, or ok again after one
  // The node concerned.
  std::string node;
  // temp_fail, or ok once it speaks again.
  fault_state state;
};
// Sent to monitor_node() watchers when a node's connection is lost, and at
// once to a new watcher of a node not connected.
struct node_down {
  // The node lost.
  std::string node;
  // Why: "not connected", a heartbeat timeout, a malformed frame...
  std::string reason;
};

// For watch() callbacks: every change of a node's state.
struct node_event {
  // The node whose state changed.
  std::string node;
  // Its new state.
  fault_state state;   // ok: up (or recovered), temp_fail, perm_fail: down
  // Why the state changed; empty for a node coming up.
  std::string reason;  // why it went down
};

// The reason links and monitors across a lost connection fire with.
inline exit_reason noconnection() { return exit_reason::user("noconnection"); }

// A node's identity, secret, address, failure detection and limits.
struct node_options {
  // This node's name, as peers and troupe:// addresses know it.
  std::string name{};  // "name@host"; unique in the cluster
  // The cluster's shared secret: at least min_cookie_bytes (use 128 random
  // bits, say `head -c16 /dev/urandom | xxd -p`); a shorter one is refused
  // with std::invalid_argument unless allow_weak_cookie (it falls to
  // guessing online, one refused handshake at a time).
  std::string cookie{};
  // Accept a cookie shorter than min_cookie_bytes (tests, not production).
  bool allow_weak_cookie = false;
  // The shortest cookie accepted otherwise, in bytes.
  static constexpr std::size_t min_cookie_bytes = 16;
  // Where to accept connections; port 0 picks a free one (see address()).
  io::endpoint listen{"127.0.0.1", 0};
  // How often each connection sends a heartbeat.
  duration heartbeat = std::chrono::milliseconds(200);
  // Silence after which a peer is suspected (fault_state::temp_fail).
  duration temp_fail_after = std::chrono::seconds(1);
  // Silence after which a peer is declared down and its connection closed.
  duration perm_fail_after = std::chrono::seconds(5);
  // Requests to a suspected node fail at once with errc::node_suspected
  // (else they wait for a reply, their timeout, or perm_fail).
  bool fail_calls_on_temp_fail = false;
  // The largest frame accepted from a peer.
  std::uint32_t max_message = 16u << 20;  // bytes; larger frames close the connection
  // How long a connection's handshake may take before it is given up.
  duration handshake_timeout = std::chrono::seconds(5);
  // Refused handshakes (a wrong cookie, a malformed or late handshake)
  // allowed per caller address a minute; past it, that address's
  // connections are closed before a frame is read until the minute ends.
  // Zero: no limit.
  unsigned max_handshake_failures = 20;
  // Links and monitors that one peer's actors may hold on this node's
  // actors at once. A link or monitor frame past it closes that connection
  // (logged): a peer cannot grow the watch lists of actors here without
  // bound. When a connection closes, the monitors its actors held here are
  // removed (their links fire noconnection, as before). Zero: no limit.
  std::size_t max_peer_watches = 250'000;
  // TLS 1.3 on every link, with mutual certificate verification
  // (io/tls.hpp): a peer whose certificate does not chain to `trusted` is
  // refused before the cookie handshake starts. Null: plain TCP (the
  // cookie still authenticates; the traffic is not encrypted). Nodes of
  // one cluster must agree.
  std::shared_ptr<const io::tls_context> tls{};
  // Answer trace requests from other nodes (net/trace_service.hpp): the
  // node spawns the service and registers it as "troupe.trace" (unless
  // that name is taken), and ends it when the node ends.
  bool serve_traces = true;
};

namespace detail {
class node_impl;
}

// This runtime's membership in a cluster (see above). Not copyable.
class node {
 public:
  // Listens at once; throws std::invalid_argument for bad options and
  // std::system_error when the address cannot be bound.
  node(runtime& rt, io::reactor& io, node_options options);
  ~node();  // closes every connection (their links fire on the peers)
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // This node's name (options.name).
  const std::string& name() const noexcept;
  // Tells this run of the node from earlier ones under the same name.
  std::uint64_t incarnation() const noexcept;  // random per start: a restarted node differs
  // The bound address: the real port when options.listen asked for 0.
  io::endpoint address() const;                // where it listens

  // Connects (if not already) and completes when the handshake does: the
  // peer's name, or errc::io_error (unreachable, refused, wrong cookie).
  // Nodes the peer knows are connected to as well (a mesh).
  future<std::string> connect(const io::endpoint& to);
  // Closes the connection to `node`, if any, with the effects of losing it.
  void disconnect(const std::string& node);

  // "troupe://b@host/name" (or a bare local name): the actor registered
  // under `name` on that node, or a null pid if none. A node not connected
  // is connected to first, at the port in the address
  // ("troupe://b@host:9100/name") or where it is known to listen (it was
  // connected before, or a peer named it); errc::noconnection if that
  // fails or where it listens is unknown.
  future<troupe::pid> whereis(const std::string& uri);
  // The round trip to `node`, answered by that node itself (no actor of its
  // need be registered): as Erlang's net_adm:ping, a known node that is not
  // connected is connected first (and the time includes connecting). Fails
  // with errc::noconnection for a node it cannot reach; this node's own
  // name answers at once.
  future<duration> ping(const std::string& node);

  // Sends `watcher` node_up, node_fault and node_down for `node` until
  // demonitor_node (node_down at once if it is not connected).
  void monitor_node(const troupe::pid& watcher, const std::string& node);
  // Undoes one monitor_node(watcher, node).
  void demonitor_node(const troupe::pid& watcher, const std::string& node);
  // Calls fn on every change of any node's state; returns an id for unwatch.
  std::uint64_t watch(std::function<void(const node_event&)> fn);
  // Drops the watch() callback with this id.
  void unwatch(std::uint64_t id);

  // The names of the nodes connected now.
  std::vector<std::string> connected_nodes() const;
  // perm_fail for a node that is not connected.
  fault_state state_of(const std::string& node) const;
  // The node a pid's actor lives on (this node's name for a local pid).
  std::string node_of(const troupe::pid& p) const;

  // Counts since the node started, except those marked "Now".
  struct counters {
    // Frames sent, over all connections.
    std::uint64_t frames_out = 0;
    // Frames received, over all connections.
    std::uint64_t frames_in = 0;
    // Handshakes this node refused.
    std::uint64_t refused_handshakes = 0;  // wrong cookie, version, name
    // Frames that did not decode.
    std::uint64_t malformed_frames = 0;    // connections closed for them
    // Frames refused for naming a local actor with the wrong tag.
    std::uint64_t forged_pids = 0;         // tags that did not match
    // Messages whose type name is not registered here (to dead letters).
    std::uint64_t unknown_types = 0;       // messages of unregistered types
    // Answers and signals that arrived for no one.
    std::uint64_t unasked = 0;             // replies, downs, link exits nobody waits for (dropped)
    // Connections from addresses past max_handshake_failures.
    std::uint64_t throttled_handshakes = 0;  // connections closed unread: too many refusals from the address
    // Now, not a count: remote pids this node keeps a proxy for (at most
    // about twice the ones still referred to here; unused ones are freed).
    std::uint64_t proxies = 0;
    // Now: links and monitors that connected peers' actors hold on actors
    // here (each peer at most max_peer_watches).
    std::uint64_t peer_watches = 0;
    // Now: monitor_node registrations kept (those of ended actors are
    // swept when the table doubles).
    std::uint64_t node_monitors = 0;
  };
  // A snapshot of the counters.
  counters stats() const;

 private:
  std::shared_ptr<detail::node_impl> impl_;
};

}  // namespace troupe::net
