// sim_streams: see sim_streams.hpp for what a simulated connection models.
#include "sim_streams.hpp"

#include <algorithm>
#include <system_error>

#include "troupe/io/connection.hpp"

namespace troupe::testing::detail {

namespace io_detail = troupe::io::detail;

// One end of a simulated connection. Its bytes travel as packets on its
// own channel (its id), so the world keeps them in order.
//
// States: open until closed by its actor (close, owner_ended), reset by
// the peer, or its host dies or stops; then done, and writes refuse with
// `closed`. A FIN from the peer (peer_closed) only ends input: the actor
// hears closed{"peer closed"} and may still write, as over TCP. The actor
// hears closed{} then socket_ended{} at most once, and never after it ended.
class sim_conn final : public io_detail::conn_core, public std::enable_shared_from_this<sim_conn> {
 public:
  sim_conn(std::shared_ptr<sim_host> host, io::endpoint local_at, io::endpoint peer_at, std::uint64_t id)
      : host_(std::move(host)), id_(id) {
    local = std::move(local_at);
    peer = std::move(peer_at);
  }

  void pair_with(const std::shared_ptr<sim_conn>& other) { other_ = other; }
  std::uint64_t id() const noexcept { return id_; }
  // Ended before it was paired (its host died or stopped during the SYN).
  bool ended() const noexcept { return done_; }

  void start(troupe::pid owner, std::unique_ptr<io_detail::conn_reader> reader) {
    owner_ = owner;
    reader_ = std::move(reader);
    parse();
  }

  // ---- conn_core (the actor's side) ----
  io::write_status write(io_detail::encode_fn encode, void* codec, const void* msg, bool) override {
    if (done_ || !host_->alive()) return io::write_status::closed;
    std::string bytes;
    encode(codec, msg, bytes);
    if (!bytes.empty()) send([bytes = std::move(bytes)](sim_conn& at) mutable { at.receive(std::move(bytes)); });
    return io::write_status::ok;
  }
  void send_queued() override {}
  void close(bool abortive) override {
    if (done_) return;
    end(abortive);
    tell_owner(abortive ? "aborted" : "closed", false);
  }
  void owner_ended() override {
    owner_ended_ = true;
    if (!done_) end(false);
  }
  void pause_reading(bool paused) override {
    paused_ = paused;
    if (!paused) parse();
  }
  std::size_t queued_bytes() const override { return 0; }  // writes leave at once
  void log_refused(io::write_status why) override {
    host_->system().log(log_level::warning, log_component::io,
                        "io: a message for " + peer.to_string() + " was refused: " +
                            (why == io::write_status::full ? "queue full" : "connection closed"));
  }

  // ---- the host's side ----
  // The process died: its kernel closes the socket (the peer hears a FIN);
  // the actor is gone with the process, so nobody is told.
  void host_died() {
    if (done_) return;
    owner_ended_ = true;
    end(false);
  }
  // The reactor stopped: the actor hears why, the peer a FIN.
  void host_stopped() {
    if (done_) return;
    end(false);
    tell_owner("the reactor stopped", false);
  }
  // SYN-ACK: the connection is up on the connecting side.
  void established(const std::shared_ptr<io_detail::socket_spawner>& spawner, promise<troupe::pid>& done) {
    if (done_) {  // its reactor stopped meanwhile (its FIN is on the way)
      done.try_set_error(error(errc::io_error, "connect to " + peer.to_string() + ": the reactor stopped"));
      return;
    }
    troupe::pid actor;
    std::unique_ptr<io_detail::conn_reader> reader;
    try {
      reader = spawner->spawn(host_->system(), shared_from_this(), actor);
    } catch (const std::exception& e) {
      host_died();
      done.try_set_error(error(errc::io_error, e.what()));
      return;
    }
    start(actor, std::move(reader));
    done.try_set_value(actor);
  }

  // Sends a packet on this connection's channel; `at_peer` runs on the
  // peer's end when it arrives, unless that end or its host is gone.
  template <class F>
  void send(F at_peer) {
    std::weak_ptr<sim_conn> to = other_;
    auto target = other_.lock();
    if (!target) return;
    host_->world().transmit(id_, host_->name(), target->host_->name(), [to, at_peer = std::move(at_peer)]() mutable {
      auto c = to.lock();
      if (!c) return;
      c->host_->arrive(c->host_->incarnation(), [c, at_peer = std::move(at_peer)]() mutable { at_peer(*c); });
    });
  }

 private:
  void end(bool reset) {
    done_ = true;
    send([reset](sim_conn& at) { at.peer_ended(reset); });
    host_->forget(id_);
  }

  void receive(std::string bytes) {
    if (done_ || read_eof_) return;
    in_ += bytes;
    parse();
  }

  void peer_ended(bool reset) {
    if (done_) return;
    if (reset) {
      in_.clear();
      done_ = true;
      host_->forget(id_);
      tell_owner("connection reset by peer", true);
      return;
    }
    eof_pending_ = true;
    parse();
  }

  void parse() {
    if (!reader_ || paused_ || done_) return;
    if (!in_.empty() && !read_eof_) {
      io::parse_error err;
      const std::size_t used = reader_->on_bytes(in_, err);
      if (used == std::string_view::npos) {
        host_->system().log(log_level::warning, log_component::io,
                            "io: closing " + peer.to_string() + ": " + err.reason);
        read_eof_ = true;
        in_.clear();
        host_->system().send(owner_, io::malformed{err.reason, err.reply});
        return;
      }
      in_.erase(0, used);
    }
    if (eof_pending_ && !read_eof_) {
      read_eof_ = true;
      tell_owner("peer closed", false);
    }
  }

  void tell_owner(const std::string& reason, bool error) {
    if (told_ || owner_ended_ || !reader_) return;
    told_ = true;
    host_->system().send(owner_, io::closed{reason, error});
    host_->system().send(owner_, io::socket_ended{});
  }

  std::shared_ptr<sim_host> host_;
  std::weak_ptr<sim_conn> other_;
  const std::uint64_t id_;
  troupe::pid owner_;
  std::unique_ptr<io_detail::conn_reader> reader_;
  std::string in_;
  bool done_ = false, read_eof_ = false, eof_pending_ = false, paused_ = false;
  bool owner_ended_ = false, told_ = false;
};

struct sim_host::listener final : io_detail::listener_core {
  std::weak_ptr<sim_host> host;
  io::endpoint at;
  io::socket_options options;
  std::shared_ptr<io_detail::socket_spawner> spawner;
  bool open = true;

  void stop() override {
    if (!open) return;
    open = false;
    if (auto h = host.lock()) {
      auto it = h->listeners.find(at.port);
      if (it != h->listeners.end() && it->second.get() == this) h->listeners.erase(it);
    }
  }
  io::endpoint local() const override { return at; }
};

// ---- the world ----

stream_world::stream_world(sim_engine& engine, link_range defaults, duration connect_timeout)
    : engine_(engine), defaults_(defaults), connect_timeout_(connect_timeout) {}

std::shared_ptr<sim_host> stream_world::add_host(const std::string& name, runtime& rt) {
  auto& slot = hosts_[name];
  const std::uint64_t incarnation = slot ? slot->incarnation() + 1 : 1;
  slot = std::make_shared<sim_host>(*this, name, rt, incarnation);
  return slot;
}

sim_host* stream_world::host(const std::string& name) {
  auto it = hosts_.find(name);
  return it == hosts_.end() || !it->second->alive() ? nullptr : it->second.get();
}

void stream_world::kill(const std::string& name) {
  if (auto it = hosts_.find(name); it != hosts_.end()) it->second->died();
}

void stream_world::set_paused(const std::string& name, bool paused) {
  if (auto it = hosts_.find(name); it != hosts_.end()) it->second->set_paused(paused);
}

void stream_world::partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b) {
  for (auto& a : side_a)
    for (auto& b : side_b) {
      cut_.insert({a, b});
      cut_.insert({b, a});
    }
}

void stream_world::heal() {
  cut_.clear();
  // Retransmitted, in the order sent: each channel's bytes stay in order.
  auto held = std::move(held_);
  held_.clear();
  for (auto& p : held) transmit(p.channel, p.from, p.to, std::move(p.fn));
}

void stream_world::set_link(const std::string& a, const std::string& b, link_range range) {
  links_[{a, b}] = range;
  links_[{b, a}] = range;
}

bool stream_world::cut(const std::string& a, const std::string& b) const { return cut_.count({a, b}) != 0; }

duration stream_world::latency(const std::string& from, const std::string& to) {
  auto it = links_.find({from, to});
  const link_range& range = it == links_.end() ? defaults_ : it->second;
  const auto low = range.min_latency;
  const auto high = std::max(range.max_latency, low);
  const auto spread = static_cast<std::uint64_t>((high - low).count());
  return low + duration(spread == 0 ? 0 : static_cast<duration::rep>(engine_.next_random() % (spread + 1)));
}

void stream_world::transmit(std::uint64_t channel, const std::string& from, const std::string& to,
                            std::function<void()> fn) {
  if (cut(from, to)) {
    held_.push_back({channel, from, to, std::move(fn)});
    return;
  }
  auto& last = channel_last_[channel];
  const time_point arrival = std::max(engine_.now() + latency(from, to), last);
  last = arrival;
  engine_.at(arrival, std::move(fn));
}

void stream_world::run_on(const std::string& name, time_point when, std::function<void()> fn) {
  auto it = hosts_.find(name);
  if (it == hosts_.end()) return;
  std::weak_ptr<sim_host> weak = it->second;
  const std::uint64_t incarnation = it->second->incarnation();
  engine_.at(when, [weak, incarnation, fn = std::move(fn)]() mutable {
    if (auto h = weak.lock()) h->arrive(incarnation, std::move(fn));
  });
}

// ---- a host ----

sim_host::sim_host(stream_world& world, std::string name, runtime& rt, std::uint64_t incarnation)
    : world_(world), name_(std::move(name)), rt_(rt), incarnation_(incarnation) {}

void sim_host::arrive(std::uint64_t incarnation, std::function<void()> fn) {
  if (!alive_ || incarnation != incarnation_) return;
  if (paused_) {
    waiting_.push_back(std::move(fn));
    return;
  }
  fn();
}

void sim_host::set_paused(bool paused) {
  paused_ = paused;
  while (!paused_ && alive_ && !waiting_.empty()) {
    auto fn = std::move(waiting_.front());
    waiting_.pop_front();
    fn();
  }
}

void sim_host::died() {
  if (!alive_) return;
  alive_ = false;
  waiting_.clear();
  for (auto& [at, l] : listeners) l->open = false;
  listeners.clear();
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [id, weak] : conns)
    if (auto c = weak.lock()) c->host_died();
}

void sim_host::stop() {
  stopped_ = true;  // as the real loop: nothing posted runs after this
  for (auto& [at, l] : listeners) l->open = false;
  listeners.clear();
  auto conns = std::move(conns_);
  conns_.clear();
  for (auto& [id, weak] : conns)
    if (auto c = weak.lock()) c->host_stopped();
}

void sim_host::forget(std::uint64_t conn_id) { conns_.erase(conn_id); }
void sim_host::adopt(const std::shared_ptr<sim_conn>& conn) { conns_[conn->id()] = conn; }

void sim_host::post(duration delay, std::function<void()> fn) {
  if (stopped_) return;
  std::weak_ptr<sim_host> weak = weak_from_this();
  world_.run_on(name_, world_.engine().now() + delay, [weak, fn = std::move(fn)] {
    if (auto self = weak.lock(); self && !self->stopped_) fn();
  });
}

std::shared_ptr<io_detail::listener_core> sim_host::listen(const io::endpoint& at, const io::socket_options& options,
                                                           std::shared_ptr<io_detail::socket_spawner> spawner) {
  if (options.connection.tls) throw std::invalid_argument("troupe::testing: TLS over a simulated network is not supported");
  std::uint16_t port = at.port != 0 ? at.port : next_port();
  if (listeners.count(port))
    throw std::system_error(std::make_error_code(std::errc::address_in_use),
                            "listen on " + name_ + ":" + std::to_string(port));
  auto l = std::make_shared<listener>();
  l->host = weak_from_this();
  l->at = io::endpoint{name_, port};
  l->options = options;
  l->spawner = std::move(spawner);
  listeners[port] = l;
  return l;
}

void sim_host::connect(const io::endpoint& to, const io::socket_options& options,
                       std::shared_ptr<io_detail::socket_spawner> spawner, promise<troupe::pid> done) {
  auto fail = [this, to, done](const std::string& why, duration after) mutable {
    post(after, [to, done, why]() mutable {
      done.try_set_error(error(errc::io_error, "connect to " + to.to_string() + ": " + why));
    });
  };
  if (options.connection.tls) {
    fail("TLS over a simulated network is not supported", duration::zero());
    return;
  }
  if (!world_.host(to.host) && to.host != name_) {
    fail("no such host", std::chrono::milliseconds(1));
    return;
  }
  if (world_.cut(name_, to.host)) {
    fail("Connection timed out", world_.connect_timeout());
    return;
  }
  auto self = shared_from_this();
  auto client = std::make_shared<sim_conn>(self, io::endpoint{name_, next_port()}, to, world_.next_channel());
  adopt(client);
  // SYN: the server's side accepts when it arrives (or refuses: RST).
  world_.transmit(world_.next_channel(), name_, to.host, [self, client, to, spawner, done]() mutable {
    if (!self->alive_) return;  // the connecting side is gone (maybe the whole cluster)
    sim_host* server = self->world_.host(to.host);
    auto refuse = [self, client, to, done]() mutable {
      self->world_.transmit(self->world_.next_channel(), to.host, self->name_, [self, client, to, done]() mutable {
        self->arrive(self->incarnation_, [self, client, to, done]() mutable {
          client->host_died();
          done.try_set_error(error(errc::io_error, "connect to " + to.to_string() + ": Connection refused"));
        });
      });
    };
    if (!server) {
      refuse();
      return;
    }
    server->arrive(server->incarnation_, [server, self, client, to, spawner, done, refuse]() mutable {
      if (client->ended()) return;  // the connecting side gave up during the SYN: nothing to accept
      auto it = server->listeners.find(to.port);
      if (it == server->listeners.end() || !it->second->open) {
        refuse();
        return;
      }
      auto l = it->second;
      auto accepted = std::make_shared<sim_conn>(server->shared_from_this(), l->at, client->local,
                                                 server->world_.next_channel());
      accepted->pair_with(client);
      client->pair_with(accepted);
      server->adopt(accepted);
      troupe::pid actor;
      std::unique_ptr<io_detail::conn_reader> reader;
      try {
        reader = l->spawner->spawn(server->rt_, accepted, actor);
      } catch (const std::exception& e) {
        server->rt_.log(log_level::error, log_component::io,
                        "io: the actor for " + client->local.to_string() + " could not start: " + e.what());
        accepted->host_died();
        return;
      }
      accepted->start(actor, std::move(reader));
      // SYN-ACK, on the accepted end's channel: before any byte it sends.
      // The packet holds the connecting end until it is up (then its actor does).
      accepted->send([client, spawner, done](sim_conn& at) mutable { at.established(spawner, done); });
    });
  });
}

}  // namespace troupe::testing::detail
