// sim_streams: TCP-like connections between the hosts of a simulated
// cluster, under io::reactor's stream_network seam (src/io/stream_network.hpp).
// A node's reactor runs over its host; its listeners, connections, post()
// and call_after() become events on the simulation's clock.
//
// What a connection models, and what it does not:
//   - bytes of one direction arrive in order and exactly once, each write
//     after a latency drawn (from the seed) in its link's range but never
//     before the bytes written before it: TCP's promise. Writes on
//     different connections reorder freely. No loss or duplication inside
//     a connection: TCP retransmits and removes duplicates.
//   - a partition holds the bytes that would cross it (TCP retransmitting
//     into the void) and releases them, in order, when healed; a
//     connection attempt across it fails after `connect_timeout`;
//   - a killed host's kernel closes its sockets: every peer hears the
//     connection end (a FIN) one latency later, unless a partition holds it;
//   - a paused host (SIGSTOP) reads nothing: what arrives for it waits and
//     is handled, in order, when it resumes; its peers see silence;
//   - not modelled: kernel buffers filling up (a write never refuses with
//     `full`), Nagle, MTU, half-open connections after a reboot, UDP.
//
// Invariants. Single-threaded (the simulation's thread). An event for a
// host carries the host's incarnation: a host killed since drops it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "io/stream_network.hpp"
#include "sim_engine.hpp"

namespace troupe::testing::detail {

class sim_conn;
class sim_host;

struct link_range {
  duration min_latency;
  duration max_latency;
};

class stream_world {
 public:
  stream_world(sim_engine& engine, link_range defaults, duration connect_timeout);

  // A host for `name`'s reactor (a new incarnation if it lived before).
  std::shared_ptr<sim_host> add_host(const std::string& name, runtime& rt);
  // The host's process died: its connections end (peers hear a FIN), its
  // listeners are gone, and whatever was on its way to it is dropped.
  void kill(const std::string& name);
  void set_paused(const std::string& name, bool paused);
  void partition(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  void heal();
  void set_link(const std::string& a, const std::string& b, link_range range);

  // Runs fn once a packet from host `from` has crossed the link to `to`,
  // never before the channel's previous packet. Held while the link is
  // cut, and sent on when healed. fn checks whether its target still lives.
  void transmit(std::uint64_t channel, const std::string& from, const std::string& to, std::function<void()> fn);
  // A fresh channel: one direction of one connection, or a lone packet.
  std::uint64_t next_channel() noexcept { return next_channel_++; }
  // Runs fn on host `name` at `when` (or when it resumes), unless it died.
  void run_on(const std::string& name, time_point when, std::function<void()> fn);
  bool cut(const std::string& a, const std::string& b) const;
  sim_host* host(const std::string& name);
  sim_engine& engine() noexcept { return engine_; }
  duration connect_timeout() const noexcept { return connect_timeout_; }

 private:
  struct held_packet {
    std::uint64_t channel;
    std::string from, to;
    std::function<void()> fn;
  };
  duration latency(const std::string& from, const std::string& to);

  sim_engine& engine_;
  link_range defaults_;
  duration connect_timeout_;
  std::map<std::string, std::shared_ptr<sim_host>> hosts_;
  std::map<std::pair<std::string, std::string>, link_range> links_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::deque<held_packet> held_;  // in the order they were sent
  std::map<std::uint64_t, time_point> channel_last_;  // each channel's last arrival
  std::uint64_t next_channel_ = 1;
};

// One node's network stack: what its reactor's listen() and connect() use.
class sim_host final : public io::detail::stream_network, public std::enable_shared_from_this<sim_host> {
 public:
  sim_host(stream_world& world, std::string name, runtime& rt, std::uint64_t incarnation);

  std::shared_ptr<io::detail::listener_core> listen(const io::endpoint& at, const io::socket_options& options,
                                                    std::shared_ptr<io::detail::socket_spawner> spawner) override;
  void connect(const io::endpoint& to, const io::socket_options& options,
               std::shared_ptr<io::detail::socket_spawner> spawner, promise<troupe::pid> done) override;
  void post(duration delay, std::function<void()> fn) override;
  void stop() override;

  const std::string& name() const noexcept { return name_; }
  runtime& system() noexcept { return rt_; }
  bool alive() const noexcept { return alive_; }
  bool paused() const noexcept { return paused_; }
  std::uint64_t incarnation() const noexcept { return incarnation_; }
  stream_world& world() noexcept { return world_; }

  // stream_world's side.
  void died();
  void set_paused(bool paused);
  // Runs fn now if the host runs, later if it is paused, never if it died.
  void arrive(std::uint64_t incarnation, std::function<void()> fn);
  void forget(std::uint64_t conn_id);
  void adopt(const std::shared_ptr<sim_conn>& conn);
  std::uint16_t next_port() noexcept { return next_port_++; }

  struct listener;
  std::map<std::uint16_t, std::shared_ptr<listener>> listeners;

 private:
  stream_world& world_;
  const std::string name_;
  runtime& rt_;
  const std::uint64_t incarnation_;
  bool alive_ = true;
  bool paused_ = false;
  bool stopped_ = false;  // its reactor stopped
  std::deque<std::function<void()>> waiting_;  // arrived while paused
  // By connection id, not address: died() and stop() walk it, and the
  // order of what they send must not depend on where the heap put things.
  std::map<std::uint64_t, std::weak_ptr<sim_conn>> conns_;
  std::uint16_t next_port_ = 40000;
};

}  // namespace troupe::testing::detail
