// A connection between two nodes: its actor runs the handshake, then reads
// frames, sends heartbeats and judges the peer's silence.
//
// Handshake, protocol version 3 (each step one frame; any deviation closes
// the connection with a logged reason):
//   client -> hello     magic, version, name, incarnation, listen address,
//                       the client's nonce
//   server -> challenge magic, version, name, incarnation, listen address,
//                       the server's nonce; nothing computed from the cookie
//   client -> proof     HMAC(cookie) over both nonces and both names
//   server -> welcome   once the client's proof checks out, with the
//                       server's own proof; or superseded (with the same
//                       proof) when another connection between the two
//                       nodes is kept instead (dial_race.cpp)
// The side that connects proves first (as in Erlang's handshake): a
// caller that does not know the cookie gets one fresh random nonce and a
// refusal, nothing it could test cookie guesses against offline. Versions
// 1 and 2 had the server prove first; they are refused (a peer claiming
// an old version would get the old, revealing order). What each step
// survives: a wrong or replayed proof (fresh nonces on both sides, a role
// byte in each proof) is refused and counted against the caller's address;
// a caller that stalls is cut by handshake_timeout; an address with too
// many refusals (node_options::max_handshake_failures a minute) is closed
// at once, before any frame is read. Names and reasons from the network are
// made printable and capped before they are logged.
// Both sides are up once welcome is sent or received and checked.
#include "troupe/core/trace_probe.hpp"
#include "net/auth.hpp"
#include "net/node_impl.hpp"

namespace troupe::net::detail {

namespace {

struct handshake_deadline {};
struct heartbeat_tick {};
struct replay_more {};  // messages parked for this peer still wait (first_use.cpp)

enum class phase { await_hello, await_challenge, await_proof, await_welcome, up, refused };

struct link_state {
  phase at = phase::await_hello;
  bool outgoing = false;
  std::string my_nonce, their_nonce;
  std::shared_ptr<peer> p;
  std::shared_ptr<promise<std::string>> connected;  // outgoing only
  std::shared_ptr<outgoing_dial> dial;              // outgoing only, until the handshake ends
  std::shared_ptr<link_shared> link;
};

std::string frame_of(frame_tag tag, const std::function<void(writer&)>& fields) {
  std::string out;
  writer w(out);
  w.byte(static_cast<std::uint8_t>(tag));
  fields(w);
  return out;
}

void write_identity(writer& w, const node_impl& node, const std::string& nonce) {
  w.bytes(protocol_magic);
  w.varint(protocol_version);
  w.bytes(node.options.name);
  w.fixed64(node.incarnation);
  w.bytes(node.address.host);
  w.varint(node.address.port);
  w.bytes(nonce);
}

// Reads what write_identity wrote into `p`; the peer's nonce is returned.
std::string read_identity(reader& r, peer& p) {
  if (r.bytes() != protocol_magic) throw decode_error("not a troupe node");
  auto version = r.varint();
  if (version < oldest_protocol_version)
    throw decode_error("protocol version " + std::to_string(version) + " is not supported");
  p.version = std::min<std::uint64_t>(version, protocol_version);
  auto name = r.bytes();
  if (name.size() > max_node_name) throw decode_error("a node name longer than " + std::to_string(max_node_name) + " bytes");
  p.name = std::string(name);
  p.incarnation = r.fixed64();
  p.address.host = std::string(r.bytes());
  p.address.port = static_cast<std::uint16_t>(r.varint());
  auto nonce = r.bytes();
  if (nonce.size() != nonce_size) throw decode_error("bad nonce");
  return std::string(nonce);
}

}  // namespace

behavior node_impl::run_connection(actor& self, frame_conn conn, bool outgoing,
                                   std::shared_ptr<promise<std::string>> connected) {
  auto node = shared_from_this();
  if (!outgoing && handshake_throttled(conn.peer().host)) {
    // Too many refusals from this address this minute: nothing is read.
    counters.throttled_handshakes.fetch_add(1, std::memory_order_relaxed);
    conn.abort();
    self.quit();
    return {};
  }
  auto st = std::make_shared<link_state>();
  st->outgoing = outgoing;
  st->connected = std::move(connected);
  // Pending from the TCP connection on, not from the dial's start: a dial
  // whose SYN goes unanswered must not hold off the other node's dials.
  if (outgoing) st->dial = std::make_shared<outgoing_dial>(weak_from_this(), conn.peer());
  st->p = std::make_shared<peer>(conn);
  st->p->actor = self.pid();
  st->my_nonce = random_bytes(node->rt, nonce_size);
  st->link = std::make_shared<link_shared>();
  st->link->p = st->p;
  st->link->last_heard.store(now_ns(), std::memory_order_relaxed);
  add_link(self.pid().id(), st->link);
  self.send_after(options.handshake_timeout, self.pid(), handshake_deadline{});
  if (outgoing) {
    conn.write(frame_of(frame_tag::hello, [&](writer& w) { write_identity(w, *this, st->my_nonce); }));
    st->at = phase::await_challenge;
  }

  // Ends the handshake with a logged refusal (what came from the network
  // made printable and capped: the name is not authenticated yet).
  auto refuse = [node, st](const std::string& why) mutable {
    node->counters.refused_handshakes.fetch_add(1, std::memory_order_relaxed);
    if (!st->outgoing) node->note_handshake_failure(st->p->conn.peer().host);
    node->rt.log(log_level::warning, log_component::net, "refused " +
                                         st->p->conn.peer().to_string() +
                                         (st->p->name.empty() ? "" : " (" + printable(st->p->name) + ")") +
                                         ": " + printable(why, 200));
    if (st->connected) st->connected->try_set_error(error(errc::io_error, "handshake refused: " + why));
    if (st->dial) st->dial->release();
    st->at = phase::refused;
    st->p->conn.abort();
  };

  // Another connection between the two nodes is kept instead of this one
  // (dial_race.cpp): the client is told so, and this one closes quietly.
  auto supersede = [node, st](const std::string& why) mutable {
    node->rt.log(log_level::info, log_component::net, "closing a second connection with " +
                                      printable(st->p->name) + ": " + why);
    auto mine = handshake_proof(node->options.cookie, 's', st->their_nonce, st->my_nonce, st->p->name,
                                node->options.name);
    st->p->conn.write(frame_of(frame_tag::superseded, [&](writer& w) { w.bytes(mine); }));
    st->at = phase::refused;
    st->p->conn.close();
  };

  // The server registers the peer before it sends welcome, so a client
  // never sees welcome on a connection the server then drops.
  auto become_up = [node, st, &self, refuse, supersede](bool send_welcome) mutable {
    // The dial's keys go after the registration: a server that no longer
    // sees this dial pending then finds the node registered (dial_race.cpp).
    const bool added = node->add_peer(st->p);
    if (st->dial) st->dial->release();
    if (!added) {
      // Another connection to that node won (or it is us): keep that one.
      auto other = node->find_peer(st->p->name);
      if (other && st->connected) st->connected->try_set_value(st->p->name);
      if (other && send_welcome && other->incarnation == st->p->incarnation &&
          st->p->version >= superseded_since_version)
        return supersede("already connected through another");
      refuse(other ? "already connected to " + st->p->name : "it has this node's own name");
      return;
    }
    if (send_welcome) {
      auto mine = handshake_proof(node->options.cookie, 's', st->their_nonce, st->my_nonce, st->p->name,
                                  node->options.name);
      st->p->conn.write(frame_of(frame_tag::welcome, [&](writer& w) { w.bytes(mine); }));
    }
    st->at = phase::up;
    st->link->up.store(true, std::memory_order_release);
    if (st->connected) st->connected->try_set_value(st->p->name);
    self.send_interval(node->options.heartbeat, self.pid(), heartbeat_tick{});
    node->share_peers(st->p);
    if (node->replay_parked(st->p)) self.send(self.pid(), replay_more{});
  };

  auto on_handshake = [node, st, refuse, supersede, become_up](std::string_view frame) mutable {
    reader r(frame);
    auto tag = static_cast<frame_tag>(r.byte());
    auto& cookie = node->options.cookie;
    auto& me = node->options.name;
    switch (st->at) {
      case phase::await_hello: {
        if (tag != frame_tag::hello) return refuse("expected hello");
        st->their_nonce = read_identity(r, *st->p);
        // Only a fresh nonce: the caller proves the cookie first.
        st->p->conn.write(frame_of(frame_tag::challenge, [&](writer& w) { write_identity(w, *node, st->my_nonce); }));
        st->at = phase::await_proof;
        return;
      }
      case phase::await_challenge: {
        if (tag != frame_tag::challenge) return refuse("expected challenge");
        st->their_nonce = read_identity(r, *st->p);
        auto mine = handshake_proof(cookie, 'c', st->my_nonce, st->their_nonce, me, st->p->name);
        if (st->dial) st->dial->named(st->p->name);
        st->p->conn.write(frame_of(frame_tag::proof, [&](writer& w) { w.bytes(mine); }));
        st->at = phase::await_welcome;
        return;
      }
      case phase::await_proof: {
        if (tag != frame_tag::proof) return refuse("expected proof");
        if (!same_proof(r.bytes(), handshake_proof(cookie, 'c', st->their_nonce, st->my_nonce, st->p->name, me)))
          return refuse("wrong cookie");
        if (st->p->version >= superseded_since_version && node->own_dial_wins(*st->p))
          return supersede("both dialed at once; this node's own dial wins");
        return become_up(true);
      }
      case phase::await_welcome:
        if (tag != frame_tag::superseded && tag != frame_tag::welcome) return refuse("expected welcome");
        // Either answer carries the server's proof: a server that does not
        // know the cookie is refused here.
        if (!same_proof(r.bytes(), handshake_proof(cookie, 's', st->my_nonce, st->their_nonce, me, st->p->name)))
          return refuse("wrong cookie (the server's proof)");
        if (tag == frame_tag::superseded) {
          // The server keeps another connection with us: quietly closed.
          if (st->dial) st->dial->release();
          st->at = phase::refused;
          st->p->conn.close();
          if (auto waiting = std::exchange(st->connected, nullptr)) node->succeed_when_up(st->p->name, waiting);
          return;
        }
        return become_up(false);
      case phase::up:
      case phase::refused:
        return;
    }
  };

  auto recovered = [node, st]() mutable {
    if (st->p->state.load(std::memory_order_relaxed) != fault_state::temp_fail) return;
    st->p->state.store(fault_state::ok, std::memory_order_relaxed);
    node->set_fault(st->p, fault_state::ok, "heard from again");
  };
  // Closed first, then lost: nothing new crosses the link once its tables
  // have fired.
  auto malformed = [node, st](const std::string& what) mutable {
    node->counters.malformed_frames.fetch_add(1, std::memory_order_relaxed);
    st->at = phase::refused;
    st->link->broken.store(true, std::memory_order_relaxed);
    st->p->conn.abort();
    node->peer_lost(st->p, "malformed frame: " + what);
  };

  return {
      // Frames the I/O thread hands over: the handshake's, and any read
      // before it ended (node_codec::take).
      [node, st, on_handshake, refuse, recovered, malformed](std::string& frame) mutable {
        struct handled {  // the I/O thread may act on frames itself once none wait here
          link_shared& link;
          ~handled() { link.queued.fetch_sub(1, std::memory_order_release); }
        } done{*st->link};
        if (st->at == phase::refused) return;
        st->link->last_heard.store(node->now_ns(), std::memory_order_relaxed);
        if (st->at != phase::up) {
          try {
            on_handshake(frame);
          } catch (const std::exception& e) {
            refuse(std::string("malformed handshake: ") + e.what());
          }
          return;
        }
        node->counters.frames_in.fetch_add(1, std::memory_order_relaxed);
        recovered();
        try {
          node->on_frame(st->p, frame);
        } catch (const std::exception& e) {  // decode_error, or a user decode hook's
          malformed(e.what());
        }
      },
      [recovered](const heard_again&) mutable { recovered(); },
      [node, st, &self](const replay_more&) {
        if (node->replay_parked(st->p)) self.send(self.pid(), replay_more{});
      },
      [st, malformed](const bad_frame& b) mutable {
        if (st->at == phase::up) malformed(b.why);
      },
      [st, refuse](const handshake_deadline&) mutable {
        if (st->at != phase::up && st->at != phase::refused) refuse("handshake timed out");
      },
      [node, st](const heartbeat_tick&) mutable {
        if (st->at != phase::up) return;
        static const std::string beat(1, static_cast<char>(frame_tag::heartbeat));
        st->p->conn.write(beat);
        auto silent = std::chrono::duration_cast<duration>(std::chrono::nanoseconds(
            node->now_ns() - st->link->last_heard.load(std::memory_order_relaxed)));
        auto ms = [](duration d) { return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
        if (silent >= node->options.perm_fail_after) {
          st->p->state.store(fault_state::perm_fail, std::memory_order_relaxed);
          st->at = phase::refused;
          st->link->broken.store(true, std::memory_order_relaxed);
          st->p->conn.abort();
          node->peer_lost(st->p, "perm_fail: silent for " + ms(silent) + " ms");
        } else if (silent >= node->options.temp_fail_after &&
                   st->p->state.load(std::memory_order_relaxed) == fault_state::ok) {
          st->p->state.store(fault_state::temp_fail, std::memory_order_relaxed);
          node->set_fault(st->p, fault_state::temp_fail, "silent for " + ms(silent) + " ms");
        }
      },
      [node, st, &self, refuse](const io::closed& why) mutable {
        node->drop_link(self.pid().id());
        if (st->dial) st->dial->release();
        // Refused (or refusing) by TLS, before the cookie handshake.
        if (st->at != phase::up && st->at != phase::refused && why.reason.starts_with("tls: ")) refuse(why.reason);
        if (st->connected) st->connected->try_set_error(error(errc::io_error, "connection closed: " + why.reason));
        if (st->at == phase::up) node->peer_lost(st->p, why.reason, /*orderly=*/!why.error);
      },
  };
}

void node_impl::share_peers(const std::shared_ptr<peer>& with) {
  std::vector<std::shared_ptr<peer>> others;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, p] : peers_)
      if (p != with) others.push_back(p);
  }
  auto list_of = [](const std::vector<std::shared_ptr<peer>>& ps) {
    return frame_of(frame_tag::peers, [&](writer& w) {
      w.varint(ps.size());
      for (auto& p : ps) {
        w.bytes(p->name);
        w.bytes(p->address.host);
        w.varint(p->address.port);
      }
    });
  };
  if (!others.empty()) write_frame(*with, list_of(others));
  auto about_new = list_of({with});
  for (auto& p : others) write_frame(*p, about_new);
}

// Nodes we hear of are connected to by the one with the smaller name, so
// two nodes never dial each other at once.
void node_impl::learn_peers(reader& in) {
  auto count = in.varint();
  if (count > in.remaining()) throw decode_error("peer list longer than its frame");
  for (std::uint64_t i = 0; i < count; ++i) {
    std::string name(in.bytes());
    io::endpoint at{std::string(in.bytes()), static_cast<std::uint16_t>(in.varint())};
    if (name == options.name || find_peer(name)) continue;
    bool they_dial = name < options.name;
    learn_address(name, at, they_dial);
    if (they_dial) continue;
    {
      std::lock_guard lock(mu_);
      if (!dialing_.insert(name).second) continue;  // already on its way
    }
    dial(name, at);
  }
}

void node_impl::write_frame(peer& to, const std::string& frame) {
  counters.frames_out.fetch_add(1, std::memory_order_relaxed);
  if (troupe::detail::probes_on()) [[unlikely]]
    troupe::detail::trace_probe_text(tracing::event_kind::frame_send, to.name, 0,
                                     static_cast<std::int64_t>(frame.size()), &rt);
  to.conn.write(frame);
}

}  // namespace troupe::net::detail
