// node_impl: the state behind net::node. Private to src/net.
//
// Threads. `mu_` guards the maps of peers, exports, proxies and watchers.
// Each peer's own tables (links, monitors, requests in flight across it)
// are under the peer's `mu`. Frames are written from any thread (a proxy
// forwards on its sender's thread, straight into the connection's write
// queue, which is thread-safe) and read by the connection's actor only.
// Lock order: node_impl::mu_ before peer::mu; neither is held while
// delivering a message or calling a watcher.
//
// Identity on the wire. A pid travels as (node name, incarnation, number,
// tag). A local pid is exported when it first leaves the node: it gets a
// random tag, and the exports table maps its number to it; frames that
// name a local actor must carry that tag. A remote pid maps to one proxy
// per (node, incarnation, number): the same remote actor always has the
// same local pid, so pids compare equal across round trips.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/actor_cell.hpp"
#include "core/runtime_impl.hpp"
#include "troupe/io/codecs/length_prefixed.hpp"
#include "troupe/io/tcp.hpp"
#include "troupe/net/node.hpp"
#include "troupe/net/serialize.hpp"
#include "net/wire_frame.hpp"

namespace troupe::net::detail {

using troupe::detail::message;
using troupe::detail::message_kind;
using troupe::detail::runtime_impl;
class node_impl;
struct link_shared;
struct outgoing_dial;

// A node link's codec: length-prefixed frames, and once the handshake is
// done, frames are acted on by the I/O thread that read them (take()), not
// by the connection's actor: a message reaches its target with one thread
// hop, not two. Frames stay in order: while frames handed to the actor are
// still unhandled (the handshake's, and any read before it ended), later
// ones go the same way.
//
// A peer's first two frames are its half of the handshake (hello and proof,
// or challenge and welcome): over `handshake_frame_limit` they close the
// connection, so an unauthenticated peer cannot make us buffer megabytes.
// The codec holds its link weakly: the link holds the peer, which holds the
// connection, which holds this codec (a strong reference would be a cycle).
struct node_codec : io::length_prefixed_codec {
  static constexpr std::uint32_t handshake_frame_limit = 64 * 1024;
  std::weak_ptr<node_impl> node;
  std::weak_ptr<link_shared> link;  // this connection's (the reader's copy finds it on first use)
  int frames_parsed = 0;            // the reader's copy: up to 2
  // The reader's copy: frames handed to the actor before its setup (which
  // runs in its first turn) registered the link; counted into
  // link_shared::queued once the link is found, so the frames after them
  // still wait their turn behind them.
  int handed_before_link = 0;
  io::parsed<std::string> parse(std::string_view bytes);
  bool take(std::string& frame, const troupe::pid& actor);
};
using frame_conn = io::connection<node_codec>;

inline constexpr char protocol_magic[] = "troupe-node";
// 2 added `superseded` (dial_race.cpp); a version-1 peer is still served,
// without it.
// 3: the client proves the cookie first (connection.cpp); 1 and 2, where
// the server proved first, are refused.
// 4 added traced_send and traced_reply (a message inside a request's
// trace carries its trace and span ids); a version-3 peer gets plain ones.
inline constexpr std::uint64_t protocol_version = 4;
inline constexpr std::uint64_t oldest_protocol_version = 3;
inline constexpr std::uint64_t superseded_since_version = 2;
inline constexpr std::uint64_t traced_frames_since_version = 4;
// The longest node name a hello may carry.
inline constexpr std::size_t max_node_name = 255;

// Text from the network made fit for a log line: bytes outside printable
// ASCII as \xNN, at most `cap` bytes shown, then how many there were.
std::string printable(std::string_view text, std::size_t cap = 64);


struct remote_id {
  std::string node;
  std::uint64_t incarnation = 0;
  std::uint64_t id = 0;
  std::uint64_t tag = 0;
};

class node_impl;

// One live connection to another node, once its handshake is done.
struct peer {
  std::string name;
  std::uint64_t incarnation = 0;
  std::uint64_t version = 0;  // of the protocol it speaks (hello/challenge)
  io::endpoint address;  // where it listens
  frame_conn conn;
  troupe::pid actor;     // the connection's actor
  std::atomic<bool> open{true};
  std::atomic<fault_state> state{fault_state::ok};  // written by the connection's actor
  // Messages parked before it came up are being sent (first_use.cpp): new
  // ones park behind them. Changed under node_impl::mu_.
  std::atomic<bool> replaying{false};

  std::mutex mu;  // the tables below
  std::set<std::pair<troupe::pid, troupe::pid>> links;                     // (local, proxy)
  std::map<std::pair<troupe::pid, std::uint64_t>, troupe::pid> monitors;  // (local, ref) -> proxy
  std::set<std::pair<troupe::pid, std::uint64_t>> requests;              // (local requester, id)
  // Monitors the peer's actors hold on actors here: (local, proxy, ref).
  // With `links`, at most node_options::max_peer_watches.
  std::set<std::tuple<troupe::pid, troupe::pid, std::uint64_t>> watched;
  bool lost = false;  // the tables have fired: nothing may be added
  std::map<std::uint64_t, promise<troupe::pid>> queries;
  std::uint64_t next_query = 1;

  explicit peer(frame_conn c) : conn(std::move(c)) {}
};

// Writes a frame: at once, or (inside an actor's handler) when the handler ends.
io::write_status write_or_queue(const std::shared_ptr<peer>& p, const std::string& frame);

// From the I/O thread to the connection's actor.
struct heard_again {};  // a frame came while the peer was suspected
struct bad_frame {      // a malformed frame: close the link
  std::string why;
};

// What a connection's actor and its I/O thread share.
struct link_shared {
  std::shared_ptr<peer> p;
  std::atomic<bool> up{false};      // the handshake is done (set by the actor)
  std::atomic<int> queued{0};       // frames handed to the actor, not yet handled
  std::atomic<bool> broken{false};  // a malformed frame came: drop the rest
  std::atomic<std::int64_t> last_heard{0};  // the runtime clock, in ns
};

// A proxy's forwarder: messages to the remote actor `who`.
class proxy_forwarder final : public troupe::detail::forwarder {
 public:
  // Set when its node's connection is lost: a proxy stands for one
  // connection's actor, and a reconnection makes new proxies.
  std::atomic<bool> dead{false};
  proxy_forwarder(std::weak_ptr<node_impl> node, remote_id who)
      : node_(std::move(node)), who_(std::move(who)) {}
  send_status forward(message* msg, runtime_impl& context) override;
  const remote_id& who() const noexcept { return who_; }
  troupe::detail::actor_cell* cell = nullptr;  // set once, right after the cell is made

 private:
  std::weak_ptr<node_impl> node_;
  const remote_id who_;
  std::mutex mu_;
  std::weak_ptr<peer> route_;  // the peer last used, while open
  friend class node_impl;
};

class node_impl final : public pid_codec, public std::enable_shared_from_this<node_impl> {
 public:
  node_impl(runtime& rt, io::reactor& io, node_options options);
  void start();  // listens; separate from the constructor for shared_from_this
  void stop();

  runtime& rt;
  io::reactor& io;
  const node_options options;
  const std::uint64_t incarnation;
  io::endpoint address;
  troupe::pid trace_service;  // node_options::serve_traces; set once, by node's constructor

  // pid_codec: pids inside messages.
  void encode(writer& out, const troupe::pid& p) override;
  troupe::pid decode(reader& in) override;

  // Connections.
  future<std::string> connect(const io::endpoint& to);
  behavior run_connection(actor& self, frame_conn conn, bool outgoing,
                          std::shared_ptr<promise<std::string>> connected);
  // The handshake succeeded: false if that node already has a connection.
  bool add_peer(const std::shared_ptr<peer>& p);
  void peer_lost(const std::shared_ptr<peer>& p, const std::string& reason, bool orderly = false);
  void set_fault(const std::shared_ptr<peer>& p, fault_state state, const std::string& reason);
  std::shared_ptr<peer> find_peer(const std::string& name) const;
  void disconnect(const std::string& name);
  std::vector<std::string> connected_nodes() const;
  void share_peers(const std::shared_ptr<peer>& with);
  void learn_peers(reader& in);

  // Two nodes dialing each other at once (dial_race.cpp). Erlang's rule:
  // the dial of the node with the smaller name wins.
  // Incoming dial from `p` (its handshake checked out): true if this node
  // has a dial of its own to p in handshake and the smaller name, so p's
  // dial is to be superseded.
  bool own_dial_wins(const peer& p) const;
  // A dial that lost: `connected` is fulfilled when `node` is up through
  // the other connection, or fails after 2 x handshake_timeout.
  void succeed_when_up(const std::string& node, std::shared_ptr<promise<std::string>> connected);
  void up_wait_expired(const std::string& node, std::uint64_t id);
  void fail_up_waiters(const std::string& why);  // every one (stop)

  // Frames (frames.cpp).
  // `replayed`: a parked message, sent ahead of any parked after it.
  send_status forward(proxy_forwarder& via, message* msg, runtime_impl& context, bool replayed = false);
  void on_frame(const std::shared_ptr<peer>& from, std::string_view frame);
  // Under from.mu: throws when the peer holds max_peer_watches links and
  // monitors here.
  void check_peer_watches(const peer& from) const;
  // On the I/O thread (node_codec::take).
  void on_inline_frame(link_shared& link, std::string_view frame);
  std::shared_ptr<link_shared> link_of(std::uint64_t actor_id) const;
  void add_link(std::uint64_t actor_id, std::shared_ptr<link_shared> link);
  void drop_link(std::uint64_t actor_id);
  std::int64_t now_ns() const;
  // Refused handshakes per caller address (node_options::
  // max_handshake_failures a minute): past the limit, the address's
  // connections are closed before any frame is read, until the minute ends.
  void note_handshake_failure(const std::string& host);
  bool handshake_throttled(const std::string& host);
  future<troupe::pid> whereis(const std::string& uri);
  future<duration> ping(const std::string& node);
  // `name` on `node`: connected first if it is known but not connected
  // (at `address` if given).
  future<troupe::pid> lookup(const std::string& node, const std::string& name, const io::endpoint* address);
  future<troupe::pid> query_name(const std::string& node, const std::string& name);  // node connected
  void write_frame(peer& to, const std::string& frame);

  // Watchers.
  void monitor_node(const troupe::pid& watcher, const std::string& node);
  void demonitor_node(const troupe::pid& watcher, const std::string& node);
  std::uint64_t watch(std::function<void(const node_event&)> fn);
  void unwatch(std::uint64_t id);
  void tell_watchers(const node_event& event);

  troupe::pid proxy_for(const remote_id& who);
  std::size_t proxy_count() const;  // the table's size now
  std::size_t peer_watch_count() const;  // links and monitors peers hold here now
  std::size_t node_monitor_count() const;
  std::string node_of(const troupe::pid& p) const;
  // The exported actor `id` if `tag` is its tag; counts a wrong tag.
  troupe::pid local_actor(std::uint64_t id, std::uint64_t tag);
  // A pid that names this node's actor `id` on the wire (an actor that has
  // ended): what a peer linking to or monitoring it is answered from.
  troupe::pid gone_actor(std::uint64_t id, std::uint64_t tag);
  troupe::pid new_proxy(const remote_id& who);  // not kept in the proxy table
  // The number pid::node() gives a node's actors here: 1 for the first
  // node met, and so on, for this node object's life (node names come from
  // authenticated peers only); 0 for this node. Takes numbers_mu_, also
  // under mu_ (proxy_for), never the other way round.
  std::uint32_t number_of(const std::string& node);
  std::set<std::string> dialing_;  // under mu_: names being connected to (learn_peers, dial)

  // Connections on first use (first_use.cpp).
  enum class parking { parked, connected, unknown, full };
  parking park(const std::string& node, const troupe::pid& proxy, message* msg);
  // Completes when `node` is up (connecting to it, at `address` or where
  // it is known to listen); nullopt if where it listens is unknown.
  std::optional<future<void>> when_up(const std::string& node, const io::endpoint* address);
  void learn_address(const std::string& node, const io::endpoint& at, bool they_dial);
  void start_replay_locked(peer& p);
  // Sends a step of what was parked for `p`; true if more may wait.
  bool replay_parked(const std::shared_ptr<peer>& p);
  // Fails what waits for `node` (generation 0: whatever waits).
  void give_up(const std::string& node, std::uint64_t generation, const std::string& why);
  void give_up_all(const std::string& why);
  void dial(const std::string& node, const io::endpoint& at);      // through the janitor
  void dial_now(const std::string& node, const io::endpoint& at);  // on the janitor
  static constexpr std::size_t max_parked = 1u << 16;  // per node

  struct atomic_counters {
    std::atomic<std::uint64_t> frames_out{0}, frames_in{0}, refused_handshakes{0}, throttled_handshakes{0},
        malformed_frames{0}, forged_pids{0}, unknown_types{0}, unasked{0};
  } counters;

 private:
  remote_id export_local(const troupe::pid& p);
  void forget_export(std::uint64_t id);
  void drop_proxies_of_locked(const std::string& node);  // requires mu_
  // Requires mu_: forgets the proxies nothing but proxies_ refers to (their
  // pids are gone everywhere else), which frees them.
  void sweep_unused_proxies_locked();
  void fire_noconnection(peer& p, const std::string& reason);
  node_codec make_codec();
  std::vector<troupe::pid> node_watchers(const std::string& node) const;  // monitor_node's

  struct failures {
    std::int64_t since = 0;  // the minute counted from here (now_ns)
    unsigned count = 0;
  };
  std::mutex failures_mu_;
  std::unordered_map<std::string, failures> failures_;  // bounded: max_failure_hosts

  struct pending_node {
    std::vector<std::pair<troupe::pid, message*>> messages;  // (proxy, message), in order
    std::vector<promise<void>> waiters;                      // when_up
    std::uint64_t generation = 0;
  };
  struct known_node {
    io::endpoint address;
    bool they_dial = false;  // heard of in a peer list, and its name is smaller
  };
  struct first_use {  // what to start once mu_ is released
    bool dial = false;
    io::endpoint at;
    std::uint64_t generation = 0;  // 0: nothing new
  };
  pending_node* pending_for_locked(const std::string& node, const io::endpoint* address, first_use& start);
  void begin_first_use(const std::string& node, const first_use& start);

  io::listener listener_;
  troupe::pid janitor_;  // monitors exported actors, to forget them when they end
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::unordered_map<std::string, std::shared_ptr<peer>> peers_;
  std::unordered_map<std::uint64_t, std::shared_ptr<link_shared>> links_;  // by connection actor id
  struct exported {
    troupe::pid who;
    std::uint64_t tag;
  };
  std::unordered_map<std::uint64_t, exported> exports_;
  const std::string export_key_;  // export_tag's key: random per incarnation
  std::uint64_t export_tag(std::uint64_t id) const;
  // By (node, incarnation, number, tag): a pid with a forged tag gets a
  // proxy of its own and cannot spoil the real one.
  std::map<std::tuple<std::string, std::uint64_t, std::uint64_t, std::uint64_t>, troupe::pid> proxies_;
  // proxies_ is swept when it reaches this size, which is then set to twice
  // what is left (at least 1,024): amortized O(1) per proxy made, and the
  // table holds at most about twice the proxies in use, whatever a peer sends.
  std::size_t sweep_proxies_at_ = 1024;
  std::multimap<std::string, troupe::pid> node_monitors_;
  std::size_t sweep_node_monitors_at_ = 1024;  // see monitor_node
  std::map<std::uint64_t, std::function<void(const node_event&)>> watchers_;
  std::uint64_t next_watcher_ = 1;
  std::unordered_map<std::string, pending_node> pending_;
  std::unordered_map<std::string, known_node> known_;
  std::mutex numbers_mu_;  // node_numbers_; innermost (see number_of)
  std::unordered_map<std::string, std::uint32_t> node_numbers_;
  std::uint64_t next_generation_ = 1;
  friend struct outgoing_dial;
  // Dials in handshake, from the TCP connection made to the end of the
  // handshake: "a:" + the address dialed, and "n:" + the name once the
  // challenge told it (under mu_).
  std::multiset<std::string> outgoing_;
  struct up_waiter {
    std::uint64_t id;
    std::shared_ptr<promise<std::string>> connected;
  };
  std::unordered_map<std::string, std::vector<up_waiter>> up_waiters_;  // under mu_
  std::uint64_t next_up_waiter_ = 1;
  void resolve_up_waiters(const std::string& node);
};

// An outgoing dial's keys in node_impl::outgoing_, for as long as its
// handshake lasts (release() at its end, or the destructor).
struct outgoing_dial {
  outgoing_dial(std::weak_ptr<node_impl> node, const io::endpoint& to);
  outgoing_dial(const outgoing_dial&) = delete;
  outgoing_dial& operator=(const outgoing_dial&) = delete;
  ~outgoing_dial() { release(); }
  void named(const std::string& peer_name);
  void release();

 private:
  std::weak_ptr<node_impl> node_;
  std::vector<std::string> keys_;
};

// Sent to the janitor: a dial that lost waits no longer for the winner.
struct up_wait_deadline {
  std::string node;
  std::uint64_t id;
};

// Sent to the janitor: connect to `node`, and handle the outcome there.
struct dial_request {
  std::string node;
  io::endpoint at;
};
// Sent to the janitor: what still waits for `node` then gives up.
struct pending_deadline {
  std::string node;
  std::uint64_t generation;
};

}  // namespace troupe::net::detail
