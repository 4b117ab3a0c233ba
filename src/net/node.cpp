// net::node and the node-wide tables: peers, exports, proxies, watchers.
#include <cstring>
#include <stdexcept>

#include "core/causal.hpp"
#include "net/auth.hpp"
#include "net/node_impl.hpp"
#include "troupe/net/trace_service.hpp"

namespace troupe::net {

std::string_view to_string(fault_state state) noexcept {
  switch (state) {
    case fault_state::ok: return "ok";
    case fault_state::temp_fail: return "temp_fail";
    case fault_state::perm_fail: return "perm_fail";
  }
  return "?";
}

namespace detail {

namespace {
// Sent to the janitor: watch an exported actor, forget it when it ends.
struct watch_export {
  troupe::pid who;
};

// A node link: a deep mailbox and write queue (a link carries many actors'
// traffic), node_codec frames up to max_message.
io::socket_options link_socket_options(const node_options& options) {
  io::socket_options sock;
  sock.connection.tls = options.tls;
  sock.connection.max_mailbox = 1u << 16;
  sock.connection.high_watermark = 64u << 20;
  sock.connection.low_watermark = 16u << 20;
  return sock;
}

node_options checked(node_options o) {
  if (o.name.empty() || o.name.find('/') != std::string::npos)
    throw std::invalid_argument("node_options::name must be non-empty and without '/' (\"" + o.name + "\")");
  if (o.cookie.empty()) throw std::invalid_argument("node_options::cookie must not be empty");
  if (o.cookie.size() < node_options::min_cookie_bytes && !o.allow_weak_cookie)
    throw std::invalid_argument("node_options::cookie is " + std::to_string(o.cookie.size()) + " bytes: use " +
                                std::to_string(node_options::min_cookie_bytes) +
                                " or more random bytes, or set allow_weak_cookie");
  if (o.heartbeat <= duration::zero() || o.temp_fail_after <= o.heartbeat ||
      o.perm_fail_after < o.temp_fail_after)
    throw std::invalid_argument(
        "node_options: need 0 < heartbeat < temp_fail_after <= perm_fail_after");
  return o;
}
}  // namespace

std::string printable(std::string_view text, std::size_t cap) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < cap; ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (text.size() > cap) out += "... (" + std::to_string(text.size()) + " bytes)";
  return out;
}

namespace {
constexpr std::int64_t failure_window_ns = 60'000'000'000;
constexpr std::size_t max_failure_hosts = 4096;
}  // namespace

void node_impl::note_handshake_failure(const std::string& host) {
  if (options.max_handshake_failures == 0) return;
  const auto now = now_ns();
  std::lock_guard lock(failures_mu_);
  if (failures_.size() >= max_failure_hosts && !failures_.count(host)) {
    // Bounded: forget the expired, else an arbitrary one (a flood of
    // addresses must not grow the table).
    std::erase_if(failures_, [&](const auto& e) { return now - e.second.since >= failure_window_ns; });
    if (failures_.size() >= max_failure_hosts) failures_.erase(failures_.begin());
  }
  auto& f = failures_[host];
  if (now - f.since >= failure_window_ns) f = {now, 0};
  ++f.count;
}

bool node_impl::handshake_throttled(const std::string& host) {
  if (options.max_handshake_failures == 0) return false;
  std::lock_guard lock(failures_mu_);
  auto it = failures_.find(host);
  if (it == failures_.end()) return false;
  if (now_ns() - it->second.since >= failure_window_ns) {
    failures_.erase(it);
    return false;
  }
  return it->second.count >= options.max_handshake_failures;
}

node_impl::node_impl(runtime& runtime, io::reactor& reactor, node_options opts)
    : rt(runtime),
      io(reactor),
      options(checked(std::move(opts))),
      incarnation(random_u64(runtime)),
      export_key_(random_bytes(runtime, 32)) {}

void node_impl::start() {
  rt.set_log_node(options.name);  // every record of this runtime's says which node wrote it
  std::weak_ptr<node_impl> weak = weak_from_this();
  janitor_ = rt.spawn([weak](actor& self) -> behavior {
    return {
        [&self](const watch_export& w) { self.monitor(w.who); },
        [weak](const down& d) {
          if (auto node = weak.lock()) node->forget_export(d.who.id());
        },
        [weak](const dial_request& d) {
          if (auto node = weak.lock()) node->dial_now(d.node, d.at);
        },
        [weak](const pending_deadline& d) {
          if (auto node = weak.lock()) node->give_up(d.node, d.generation, "not connected in time");
        },
        [weak](const up_wait_deadline& d) {
          if (auto node = weak.lock()) node->up_wait_expired(d.node, d.id);
        },
    };
  });
  listener_ = io::listen<node_codec>(
      io, options.listen,
      [weak](actor& self, frame_conn conn) -> behavior {
        auto node = weak.lock();
        if (!node) return {[](const io::closed&) {}};
        return node->run_connection(self, std::move(conn), false, nullptr);
      },
      link_socket_options(options), make_codec());
  address = listener_.local();
}

node_codec node_impl::make_codec() {
  node_codec codec;
  codec.max_frame = options.max_message;
  codec.node = weak_from_this();
  return codec;
}

std::vector<troupe::pid> node_impl::node_watchers(const std::string& node) const {
  std::lock_guard lock(mu_);
  std::vector<troupe::pid> out;
  for (auto [it, end] = node_monitors_.equal_range(node); it != end; ++it) out.push_back(it->second);
  return out;
}

void node_impl::stop() {
  std::vector<std::shared_ptr<peer>> all;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [name, p] : peers_) all.push_back(p);
  }
  listener_.close();
  give_up_all("the node has stopped");
  fail_up_waiters("the node has stopped");
  for (auto& p : all) p->conn.close();
  rt.send_exit(janitor_, exit_reason::shutdown());
}

// ---- peers ----

future<std::string> node_impl::connect(const io::endpoint& to) {
  auto connected = std::make_shared<promise<std::string>>();
  auto result = connected->get_future();
  std::weak_ptr<node_impl> weak = weak_from_this();
  io::connect<node_codec>(
      io, to,
      [weak, connected](actor& self, frame_conn conn) -> behavior {
        auto node = weak.lock();
        if (!node) return {[](const io::closed&) {}};
        return node->run_connection(self, std::move(conn), true, connected);
      },
      link_socket_options(options), make_codec())
      .respond([connected, to](const troupe::result<troupe::pid>& r) {
        if (!r) connected->try_set_error(error(errc::io_error, "connecting to " + to.to_string() + ": " +
                                                                  r.error().message()));
      });
  return result;
}

bool node_impl::add_peer(const std::shared_ptr<peer>& p) {
  {
    std::lock_guard lock(mu_);
    if (stopped_ || p->name == options.name) return false;
    if (!peers_.emplace(p->name, p).second) return false;
    start_replay_locked(*p);
  }
  rt.log(log_level::info, log_component::net, "connected to " + p->name + " at " +
                              p->address.to_string());
  for (auto& w : node_watchers(p->name)) rt.send(w, node_up{p->name});
  tell_watchers({p->name, fault_state::ok, {}});
  resolve_up_waiters(p->name);
  return true;
}

std::shared_ptr<peer> node_impl::find_peer(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = peers_.find(name);
  return it == peers_.end() ? nullptr : it->second;
}

std::vector<std::string> node_impl::connected_nodes() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto& [name, p] : peers_) out.push_back(name);
  return out;
}

void node_impl::disconnect(const std::string& name) {
  if (auto p = find_peer(name)) p->conn.close();
}

void node_impl::peer_lost(const std::shared_ptr<peer>& p, const std::string& reason, bool orderly) {
  {
    std::lock_guard lock(mu_);
    auto it = peers_.find(p->name);
    if (it == peers_.end() || it->second != p) return;
    peers_.erase(it);
    // Its proxies die first: a sender that sees the peer closed (or gone)
    // then sees its proxy dead too, and bounces rather than parking the
    // message for a new connection (first_use.cpp).
    drop_proxies_of_locked(p->name);
    p->open.store(false, std::memory_order_release);
  }
  // A connection closed in order (either side's close, a node stopping) is
  // news, not trouble; a reset, a silent peer or a bad frame is trouble.
  rt.log(orderly ? log_level::info : log_level::warning, log_component::net, "lost " + p->name + ": " + reason);
  fire_noconnection(*p, reason);
  for (auto& w : node_watchers(p->name)) rt.send(w, node_down{p->name, reason});
  tell_watchers({p->name, fault_state::perm_fail, reason});
}

// Everything that crossed this connection and waits on it learns it is gone.
void node_impl::fire_noconnection(peer& p, const std::string& reason) {
  decltype(p.links) links;
  decltype(p.monitors) monitors;
  decltype(p.requests) requests;
  decltype(p.queries) queries;
  decltype(p.watched) watched;
  {
    std::lock_guard lock(p.mu);
    p.lost = true;
    links.swap(p.links);
    monitors.swap(p.monitors);
    watched.swap(p.watched);
    requests.swap(p.requests);
    queries.swap(p.queries);
  }
  auto& impl = rt.impl();
  for (auto& [local, proxy] : links) {
    auto* sig = new troupe::detail::typed_message<troupe::detail::signal>(
        troupe::detail::signal{proxy, noconnection(), false});
    sig->kind = message_kind::exit;
    sig->sender = proxy;
    sig->request_id = 1;  // from a link
    runtime_impl::deliver(impl, local, sig);
  }
  for (auto& [key, proxy] : monitors) {
    auto* note = new troupe::detail::typed_message<down>(down{monitor_ref{key.second}, proxy, noconnection()});
    note->kind = message_kind::down_notice;
    note->sender = proxy;
    runtime_impl::deliver(impl, key.first, note);
  }
  for (auto& [requester, id] : requests)
    runtime_impl::deliver(impl, requester,
                          troupe::detail::make_error_reply(id, errc::noconnection, p.name + ": " + reason));
  // The peer's monitors on actors here die with it: the actors forget them
  // (a down would have nowhere to go).
  for (auto& [local, proxy, ref] : watched) {
    auto* forget = new troupe::detail::typed_message<troupe::detail::timeout_marker>();
    forget->kind = message_kind::demonitor;
    forget->sender = proxy;
    forget->request_id = ref;
    runtime_impl::deliver(impl, local, forget);
  }
  for (auto& [id, query] : queries) query.try_set_error(error(errc::noconnection, p.name + ": " + reason));
}

void node_impl::set_fault(const std::shared_ptr<peer>& p, fault_state state, const std::string& reason) {
  rt.log(log_level::warning, log_component::net, p->name + " is " +
                                 std::string(to_string(state)) + (reason.empty() ? "" : ": " + reason));
  if (state == fault_state::temp_fail && options.fail_calls_on_temp_fail) {
    decltype(p->requests) requests;
    {
      std::lock_guard lock(p->mu);
      requests.swap(p->requests);
    }
    for (auto& [requester, id] : requests)
      runtime_impl::deliver(rt.impl(), requester,
                            troupe::detail::make_error_reply(id, errc::node_suspected, p->name + " is silent"));
  }
  for (auto& w : node_watchers(p->name)) rt.send(w, node_fault{p->name, state});
  tell_watchers({p->name, state, reason});
}

std::shared_ptr<link_shared> node_impl::link_of(std::uint64_t actor_id) const {
  std::lock_guard lock(mu_);
  auto it = links_.find(actor_id);
  return it == links_.end() ? nullptr : it->second;
}

void node_impl::add_link(std::uint64_t actor_id, std::shared_ptr<link_shared> link) {
  std::lock_guard lock(mu_);
  links_[actor_id] = std::move(link);
}

void node_impl::drop_link(std::uint64_t actor_id) {
  std::lock_guard lock(mu_);
  links_.erase(actor_id);
}

std::int64_t node_impl::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(rt.now().time_since_epoch()).count();
}

// ---- watchers ----

void node_impl::monitor_node(const troupe::pid& watcher, const std::string& node) {
  bool up;
  {
    std::lock_guard lock(mu_);
    if (node_monitors_.size() >= sweep_node_monitors_at_) {
      // Watchers that have ended never demonitor: drop them here, amortized
      // as the proxy sweep is, so the table holds about twice the live ones.
      std::erase_if(node_monitors_, [](const auto& entry) {
        auto* cell = troupe::detail::actor_cell::of(entry.second);
        return !cell || cell->box.closed();
      });
      sweep_node_monitors_at_ = std::max<std::size_t>(1024, 2 * node_monitors_.size());
    }
    node_monitors_.emplace(node, watcher);
    up = peers_.count(node) > 0 || node == options.name;
  }
  if (!up) rt.send(watcher, node_down{node, "not connected"});
}

void node_impl::demonitor_node(const troupe::pid& watcher, const std::string& node) {
  std::lock_guard lock(mu_);
  for (auto [it, end] = node_monitors_.equal_range(node); it != end; ++it)
    if (it->second == watcher) {
      node_monitors_.erase(it);
      return;
    }
}

std::uint64_t node_impl::watch(std::function<void(const node_event&)> fn) {
  std::lock_guard lock(mu_);
  watchers_.emplace(next_watcher_, std::move(fn));
  return next_watcher_++;
}

void node_impl::unwatch(std::uint64_t id) {
  std::lock_guard lock(mu_);
  watchers_.erase(id);
}

void node_impl::tell_watchers(const node_event& event) {
  std::vector<std::function<void(const node_event&)>> fns;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, fn] : watchers_) fns.push_back(fn);
  }
  for (auto& fn : fns) {
    try {
      fn(event);
    } catch (const std::exception& e) {
      rt.log(log_level::error, log_component::net, std::string("a watch callback threw: ") + e.what());
    } catch (...) {
      rt.log(log_level::error, log_component::net, "a watch callback threw");
    }
  }
}

// ---- identities ----

remote_id node_impl::export_local(const troupe::pid& p) {
  bool fresh = false;
  std::uint64_t tag;
  {
    std::lock_guard lock(mu_);
    auto [it, inserted] = exports_.try_emplace(p.id());
    if (inserted) {
      it->second = {p, export_tag(p.id())};
      fresh = true;
    }
    tag = it->second.tag;
  }
  if (fresh) {
    troupe::detail::untraced_scope bookkeeping;
    rt.send(janitor_, watch_export{p});
  }
  return {options.name, incarnation, p.id(), tag};
}

// The tag is a keyed hash of the actor's number, not a fresh draw: an actor
// exported again after the janitor forgot it (it ended, and a frame that
// names it, its own `down`, is written after) keeps its tag, so peers map
// it to the same proxy. Without the node's key a tag cannot be guessed.
std::uint64_t node_impl::export_tag(std::uint64_t id) const {
  const std::string digest = hmac_sha256(export_key_, std::string_view(reinterpret_cast<const char*>(&id), sizeof id));
  std::uint64_t tag;
  std::memcpy(&tag, digest.data(), sizeof tag);
  return tag;
}

void node_impl::forget_export(std::uint64_t id) {
  std::lock_guard lock(mu_);
  exports_.erase(id);
}

troupe::pid node_impl::local_actor(std::uint64_t id, std::uint64_t tag) {
  std::lock_guard lock(mu_);
  auto it = exports_.find(id);
  if (it == exports_.end()) return {};  // never exported, or ended since
  if (it->second.tag != tag) {
    counters.forged_pids.fetch_add(1, std::memory_order_relaxed);
    return {};
  }
  return it->second.who;
}

troupe::pid node_impl::gone_actor(std::uint64_t id, std::uint64_t tag) {
  return new_proxy({options.name, incarnation, id, tag});
}

troupe::pid node_impl::new_proxy(const remote_id& who) {
  auto fwd = std::make_shared<proxy_forwarder>(weak_from_this(), who);
  auto* raw = fwd.get();
  troupe::pid made = troupe::detail::make_proxy(rt.impl(), std::move(fwd));
  raw->cell = troupe::detail::actor_cell::of(made);
  made.cell()->set_node(number_of(who.node));
  return made;
}

std::uint32_t node_impl::number_of(const std::string& node) {
  if (node == options.name) return 0;  // a stand-in for an actor of ours that is gone
  std::lock_guard lock(numbers_mu_);
  return node_numbers_.try_emplace(node, static_cast<std::uint32_t>(node_numbers_.size() + 1)).first->second;
}

troupe::pid node_impl::proxy_for(const remote_id& who) {
  std::lock_guard lock(mu_);
  auto key = std::make_tuple(who.node, who.incarnation, who.id, who.tag);
  if (auto it = proxies_.find(key); it != proxies_.end()) return it->second;
  if (proxies_.size() >= sweep_proxies_at_) {
    sweep_unused_proxies_locked();
    sweep_proxies_at_ = std::max<std::size_t>(1024, 2 * proxies_.size());
  }
  troupe::pid made = new_proxy(who);
  proxies_.emplace(key, made);
  return made;
}

std::size_t node_impl::proxy_count() const {
  std::lock_guard lock(mu_);
  return proxies_.size();
}

std::size_t node_impl::node_monitor_count() const {
  std::lock_guard lock(mu_);
  return node_monitors_.size();
}

std::size_t node_impl::peer_watch_count() const {
  std::vector<std::shared_ptr<peer>> connected;
  {
    std::lock_guard lock(mu_);
    for (auto& [name, p] : peers_) connected.push_back(p);
  }
  std::size_t total = 0;
  for (auto& p : connected) {
    std::lock_guard lock(p->mu);
    total += p->links.size() + p->watched.size();
  }
  return total;
}

void node_impl::sweep_unused_proxies_locked() {
  // A use count of 1 is the table's own reference, and it cannot grow
  // meanwhile: a new reference comes from copying one held elsewhere, or
  // from proxy_for, which holds mu_ as we do. A proxy forgotten here and
  // met again later gets a fresh proxy, equal to none kept anywhere (there
  // are none): identity across round trips holds for every pid in use.
  for (auto it = proxies_.begin(); it != proxies_.end();) {
    if (it->second.cell()->use_count() == 1)
      it = proxies_.erase(it);
    else
      ++it;
  }
}

void node_impl::drop_proxies_of_locked(const std::string& node) {
  for (auto it = proxies_.lower_bound({node, 0, 0, 0});
       it != proxies_.end() && std::get<0>(it->first) == node;) {
    auto* cell = troupe::detail::actor_cell::of(it->second);
    static_cast<proxy_forwarder*>(cell->forward_target())->dead.store(true, std::memory_order_release);
    it = proxies_.erase(it);
  }
}

std::string node_impl::node_of(const troupe::pid& p) const {
  auto* cell = troupe::detail::actor_cell::of(p);
  if (cell && cell->is_proxy())
    if (auto* fwd = dynamic_cast<proxy_forwarder*>(cell->forward_target())) return fwd->who().node;
  return options.name;
}

void node_impl::encode(writer& out, const troupe::pid& p) {
  if (!p) {
    out.byte(0);
    return;
  }
  remote_id who;
  auto* cell = troupe::detail::actor_cell::of(p);
  proxy_forwarder* fwd = cell->is_proxy() ? dynamic_cast<proxy_forwarder*>(cell->forward_target()) : nullptr;
  who = fwd ? fwd->who() : export_local(p);
  out.byte(1);
  out.bytes(who.node);
  out.fixed64(who.incarnation);
  out.varint(who.id);
  out.fixed64(who.tag);
}

troupe::pid node_impl::decode(reader& in) {
  if (in.byte() == 0) return {};
  remote_id who;
  who.node = std::string(in.bytes());
  who.incarnation = in.fixed64();
  who.id = in.varint();
  who.tag = in.fixed64();
  if (who.node == options.name) {
    if (who.incarnation != incarnation) return {};  // a pid of an earlier run of this node
    return local_actor(who.id, who.tag);
  }
  return proxy_for(who);
}

}  // namespace detail

// ---- the public face ----

node::node(runtime& rt, io::reactor& io, node_options options)
    : impl_(std::make_shared<detail::node_impl>(rt, io, std::move(options))) {
  impl_->start();
  if (impl_->options.serve_traces) impl_->trace_service = serve_traces(rt);
}
node::~node() {
  if (impl_->trace_service) impl_->rt.send_exit(impl_->trace_service, exit_reason::shutdown());
  impl_->stop();
}
const std::string& node::name() const noexcept { return impl_->options.name; }
std::uint64_t node::incarnation() const noexcept { return impl_->incarnation; }
io::endpoint node::address() const { return impl_->address; }
future<std::string> node::connect(const io::endpoint& to) { return impl_->connect(to); }
void node::disconnect(const std::string& name) { impl_->disconnect(name); }
future<troupe::pid> node::whereis(const std::string& uri) { return impl_->whereis(uri); }
future<duration> node::ping(const std::string& node) { return impl_->ping(node); }
void node::monitor_node(const troupe::pid& w, const std::string& n) { impl_->monitor_node(w, n); }
void node::demonitor_node(const troupe::pid& w, const std::string& n) { impl_->demonitor_node(w, n); }
std::uint64_t node::watch(std::function<void(const node_event&)> fn) { return impl_->watch(std::move(fn)); }
void node::unwatch(std::uint64_t id) { impl_->unwatch(id); }
std::vector<std::string> node::connected_nodes() const { return impl_->connected_nodes(); }
fault_state node::state_of(const std::string& name) const {
  if (name == impl_->options.name) return fault_state::ok;
  auto p = impl_->find_peer(name);
  if (!p) return fault_state::perm_fail;
  return p->state.load(std::memory_order_relaxed);
}
std::string node::node_of(const troupe::pid& p) const { return impl_->node_of(p); }
node::counters node::stats() const {
  auto& c = impl_->counters;
  auto get = [](const std::atomic<std::uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  const std::uint64_t proxies = impl_->proxy_count();
  return {get(c.frames_out), get(c.frames_in), get(c.refused_handshakes),
          get(c.malformed_frames), get(c.forged_pids), get(c.unknown_types), get(c.unasked),
          get(c.throttled_handshakes), proxies, impl_->peer_watch_count(), impl_->node_monitor_count()};
}

}  // namespace troupe::net
