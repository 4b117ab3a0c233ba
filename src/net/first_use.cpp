// Connections made on first use.
//
// A message for a node that is not connected, but whose address this node
// knows (from an earlier connection, a peer list, or a whereis address),
// does not go to dead letters at once: it is *parked* in that node's
// pending entry while the connection is made, and sent when it is up.
// whereis on such a node waits the same way. If the connection fails, or
// is not up within twice the handshake timeout, everything parked fails
// with noconnection (bounced as a send to a lost node would be).
//
// Who dials: this node, unless the node was heard of in a peer list and
// has the smaller name: the mesh rule has that node dial us (learn_peers),
// and dialing back would make two connections where one must lose.
//
// Order. Per sender and receiver, messages keep their order across the
// wait: while a node's pending entry exists, new messages for it park
// behind the old ones, also after its peer is up (peer::replaying), and
// the connection's actor sends them in order before the entry goes
// (replay_parked). The entry and the flag change together under mu_, so a
// sender either finds the entry and parks, or finds neither and sends.
#include <algorithm>
#include <iterator>

#include "net/node_impl.hpp"

namespace troupe::net::detail {

using troupe::detail::bounce;

void node_impl::learn_address(const std::string& node, const io::endpoint& at, bool they_dial) {
  std::lock_guard lock(mu_);
  known_[node] = {at, they_dial};
}

node_impl::pending_node* node_impl::pending_for_locked(const std::string& node, const io::endpoint* address,
                                                       first_use& start) {
  if (stopped_) return nullptr;
  if (address) known_[node] = {*address, false};
  if (auto it = pending_.find(node); it != pending_.end()) {
    // Waiting for the other to dial, and now given an address: dial it.
    if (address && !dialing_.count(node) && !peers_.count(node)) {
      dialing_.insert(node);
      start.dial = true;
      start.at = *address;
    }
    return &it->second;
  }
  auto known = known_.find(node);
  if (known == known_.end()) return nullptr;
  auto& entry = pending_[node];
  entry.generation = next_generation_++;
  start.generation = entry.generation;
  start.at = known->second.address;
  start.dial = !known->second.they_dial && dialing_.insert(node).second;
  return &entry;
}

void node_impl::begin_first_use(const std::string& node, const first_use& start) {
  if (start.generation != 0)
    rt.send_after(2 * options.handshake_timeout, janitor_, pending_deadline{node, start.generation});
  if (start.dial) dial(node, start.at);
}

// The dial's outcome is handled by the janitor, which lives as long as the
// node: a continuation homed in the actor that happened to send first (or
// in a connection's actor) would be dropped if that actor ended, and the
// name would stay in dialing_ for good.
void node_impl::dial(const std::string& node, const io::endpoint& at) {
  rt.send(janitor_, dial_request{node, at});
}

void node_impl::dial_now(const std::string& node, const io::endpoint& at) {
  std::weak_ptr<node_impl> weak = weak_from_this();
  // Its outcome shows as node_up (or a logged failure); what waits for it
  // is sent (replay_parked) or fails (give_up).
  connect(at).respond([weak, node, at](const troupe::result<std::string>& r) {
    auto self = weak.lock();
    if (!self) return;
    {
      std::lock_guard lock(self->mu_);
      self->dialing_.erase(node);
    }
    if (!r)
      self->give_up(node, 0, r.error().message());
    else if (*r != node)
      self->give_up(node, 0, "the node at " + at.to_string() + " is " + *r + ", not " + node);
  });
}

node_impl::parking node_impl::park(const std::string& node, const troupe::pid& proxy, message* msg) {
  first_use start;
  {
    std::lock_guard lock(mu_);
    auto up = peers_.find(node);
    if (up != peers_.end() && !up->second->replaying.load(std::memory_order_relaxed)) return parking::connected;
    pending_node* entry = pending_for_locked(node, nullptr, start);
    if (!entry) return parking::unknown;
    if (entry->messages.size() >= max_parked) return parking::full;
    entry->messages.emplace_back(proxy, msg);
  }
  begin_first_use(node, start);
  return parking::parked;
}

std::optional<future<void>> node_impl::when_up(const std::string& node, const io::endpoint* address) {
  promise<void> up;
  auto result = up.get_future();
  first_use start;
  {
    std::lock_guard lock(mu_);
    auto found = peers_.find(node);
    if (found != peers_.end() && !found->second->replaying.load(std::memory_order_relaxed)) {
      up.try_set_value();
      return result;
    }
    pending_node* entry = pending_for_locked(node, address, start);
    if (!entry) return std::nullopt;
    entry->waiters.push_back(std::move(up));
  }
  begin_first_use(node, start);
  return result;
}

// Requires mu_: the node is going into peers_.
void node_impl::start_replay_locked(peer& p) {
  known_[p.name] = {p.address, false};  // a lost connection is redialed by whoever needs it first
  if (pending_.count(p.name)) p.replaying.store(true, std::memory_order_relaxed);
}

bool node_impl::replay_parked(const std::shared_ptr<peer>& p) {
  // In steps of at most max_replay_step messages: the connection's actor
  // comes back between them (heartbeats, frames), and senders that keep
  // parking meanwhile meet the cap (mailbox_full), not an actor that never
  // returns.
  constexpr std::size_t max_replay_step = 4096;
  decltype(pending_node::messages) batch;
  decltype(pending_node::waiters) waiters;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(p->name);
    if (it == pending_.end() || !p->replaying.load(std::memory_order_relaxed)) return false;
    auto& parked = it->second.messages;
    if (parked.empty()) {
      waiters.swap(it->second.waiters);
      pending_.erase(it);
      p->replaying.store(false, std::memory_order_relaxed);
    } else {
      auto cut = parked.begin() + static_cast<std::ptrdiff_t>(std::min(parked.size(), max_replay_step));
      batch.assign(std::make_move_iterator(parked.begin()), std::make_move_iterator(cut));
      parked.erase(parked.begin(), cut);
    }
  }
  if (batch.empty()) {  // all sent: the node is simply up now
    for (auto& w : waiters) w.try_set_value();
    return false;
  }
  for (auto& [proxy, msg] : batch) {
    auto* via = static_cast<proxy_forwarder*>(troupe::detail::actor_cell::of(proxy)->forward_target());
    forward(*via, msg, rt.impl(), /*replayed=*/true);
  }
  return true;  // more may wait: call again
}

void node_impl::give_up(const std::string& node, std::uint64_t generation, const std::string& why) {
  pending_node gone;
  {
    std::lock_guard lock(mu_);
    auto it = pending_.find(node);
    if (it == pending_.end() || (generation != 0 && it->second.generation != generation)) return;
    if (peers_.count(node)) return;  // up after all: replay_parked sends them
    gone = std::move(it->second);
    pending_.erase(it);
    // It was to dial us and did not: next time, this node dials.
    if (auto known = known_.find(node); known != known_.end()) known->second.they_dial = false;
  }
  if (!gone.messages.empty())
    rt.log(log_level::warning, log_component::net, std::to_string(gone.messages.size()) +
                                   " message(s) for " + node + " failed: " + why);
  auto reason = noconnection();
  for (auto& [proxy, msg] : gone.messages)
    bounce(rt.impl(), msg, proxy, "noconnection", errc::noconnection, &reason);
  for (auto& w : gone.waiters) w.try_set_error(error(errc::noconnection, node + ": " + why));
}

void node_impl::give_up_all(const std::string& why) {
  std::vector<std::string> names;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, entry] : pending_) names.push_back(name);
  }
  for (auto& name : names) give_up(name, 0, why);
}

}  // namespace troupe::net::detail
