// Two nodes dialing each other at the same moment (explicit connect() on
// both sides, or first uses on both sides after a loss). Without a rule
// each side registers the connection it accepted, refuses the one it
// dialed as a duplicate, and so drops the one the other side kept: both
// connections die. The rule is Erlang's: the dial of the node with the
// smaller name wins.
//
// Where it is applied: a server registers an incoming dial once the
// client's proof checks out. Right before, it looks for a dial of its own
// to that node in handshake (outgoing_: from its TCP connection to the end
// of its handshake, by the address dialed, and by name once the challenge
// told it; a client drops those keys only after its own registration). If
// there is one and this node's name is the smaller, it answers
// `superseded` instead of `welcome` and closes. A server that finds the
// node already registered (the other connection won first) does the same.
// A client told `superseded` drops its dial quietly; its connect() succeeds
// when the node is up through the other connection (at once if it already
// is), or fails after 2 x handshake_timeout.
//
// Why one connection survives: a client registers on welcome, and a
// server registers X's dial only if it had no dial to X pending or has the
// larger name, in which case X supersedes that pending dial (X has it
// pending, or already has this node registered). So a client never gets
// welcome for a dial whose peer it already registered the other way.
// Left open: a dial whose address is spelled differently from the one the
// peer listens on ("localhost" for "127.0.0.1") is only matched by name
// once its challenge has arrived.
#include "net/node_impl.hpp"

namespace troupe::net::detail {

namespace {
std::string address_key(const io::endpoint& at) {
  return "a:" + (at.host == "localhost" ? std::string("127.0.0.1") : at.host) + ":" + std::to_string(at.port);
}
}  // namespace

outgoing_dial::outgoing_dial(std::weak_ptr<node_impl> node, const io::endpoint& to) : node_(std::move(node)) {
  auto n = node_.lock();
  if (!n) return;
  keys_.push_back(address_key(to));
  std::lock_guard lock(n->mu_);
  n->outgoing_.insert(keys_.back());
}

void outgoing_dial::named(const std::string& peer_name) {
  auto n = node_.lock();
  if (!n || keys_.empty()) return;  // released already
  keys_.push_back("n:" + peer_name);
  std::lock_guard lock(n->mu_);
  n->outgoing_.insert(keys_.back());
}

void outgoing_dial::release() {
  if (keys_.empty()) return;
  if (auto n = node_.lock()) {
    std::lock_guard lock(n->mu_);
    for (auto& key : keys_)
      if (auto it = n->outgoing_.find(key); it != n->outgoing_.end()) n->outgoing_.erase(it);
  }
  keys_.clear();
}

bool node_impl::own_dial_wins(const peer& p) const {
  if (!(options.name < p.name)) return false;
  std::lock_guard lock(mu_);
  return outgoing_.count("n:" + p.name) || outgoing_.count(address_key(p.address));
}

void node_impl::succeed_when_up(const std::string& node, std::shared_ptr<promise<std::string>> connected) {
  enum { wait, up, stopped } now = wait;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      now = stopped;
    } else if (peers_.count(node)) {
      now = up;
    } else {
      id = next_up_waiter_++;
      up_waiters_[node].push_back({id, connected});
    }
  }
  // Outside mu_: a continuation of `connected` may call into the node.
  if (now == stopped)
    connected->try_set_error(error(errc::io_error, "connecting to " + node + ": the node has stopped"));
  else if (now == up)
    connected->try_set_value(node);
  else
    rt.send_after(2 * options.handshake_timeout, janitor_, up_wait_deadline{node, id});
}

void node_impl::resolve_up_waiters(const std::string& node) {
  std::vector<up_waiter> waiting;
  {
    std::lock_guard lock(mu_);
    auto it = up_waiters_.find(node);
    if (it == up_waiters_.end()) return;
    waiting = std::move(it->second);
    up_waiters_.erase(it);
  }
  for (auto& w : waiting) w.connected->try_set_value(node);
}

void node_impl::fail_up_waiters(const std::string& why) {
  std::unordered_map<std::string, std::vector<up_waiter>> all;
  {
    std::lock_guard lock(mu_);
    all.swap(up_waiters_);
  }
  for (auto& [node, list] : all)
    for (auto& w : list) w.connected->try_set_error(error(errc::io_error, "connecting to " + node + ": " + why));
}

void node_impl::up_wait_expired(const std::string& node, std::uint64_t id) {
  std::shared_ptr<promise<std::string>> expired;
  {
    std::lock_guard lock(mu_);
    auto it = up_waiters_.find(node);
    if (it == up_waiters_.end()) return;
    auto& list = it->second;
    for (auto w = list.begin(); w != list.end(); ++w)
      if (w->id == id) {
        expired = w->connected;
        list.erase(w);
        break;
      }
    if (list.empty()) up_waiters_.erase(it);
  }
  if (expired)
    expired->try_set_error(error(errc::io_error, "connecting to " + node +
                                                     ": the other node's dial, which won, did not come up"));
}

}  // namespace troupe::net::detail
