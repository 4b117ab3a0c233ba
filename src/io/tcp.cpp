// TCP listeners and outgoing connections.
#include <sys/resource.h>

#include <mutex>
#include <optional>
#include <system_error>

#include "io/conn_core.hpp"
#include "io/stream_network.hpp"
#include "troupe/io/tcp.hpp"

namespace troupe::io::detail {

namespace {

// Spawns the actor on the connection's own thread and starts reading.
// `slot`: an accepted connection's place in its listener's count.
void adopt(io_loop& loop, runtime& rt, asio::ip::tcp::socket socket, const socket_options& options,
           const std::shared_ptr<socket_spawner>& spawner, promise<troupe::pid>* done,
           std::shared_ptr<void> slot = nullptr, std::shared_ptr<input_budget> budget = nullptr) {
  if (loop.stopping) {
    if (done) done->try_set_error(error(errc::io_error, "the reactor is stopping"));
    return;
  }
  auto core = std::make_shared<socket_conn>(loop, rt, std::move(socket), options.connection,
                                           /*accepted=*/done == nullptr);
  core->hold_slot(std::move(slot));
  core->share_input_budget(std::move(budget));
  troupe::pid actor;
  std::unique_ptr<conn_reader> reader;
  try {
    reader = spawner->spawn(rt, core, actor);
  } catch (const std::exception& e) {
    rt.log(log_level::error, log_component::io, "io: the actor for " + core->peer.to_string() +
                                 " could not start: " + e.what());
    core->shut_down("its actor could not start");
    if (done) done->try_set_error(error(errc::io_error, e.what()));
    return;
  }
  core->start(actor, std::move(reader));
  if (done) done->try_set_value(actor);
}

std::size_t automatic_connection_limit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == RLIM_INFINITY) return 1u << 20;
  const auto soft = static_cast<std::size_t>(files.rlim_cur);
  return soft > 80 ? soft - 64 : 16;
}

}  // namespace

// A listener stops accepting at max_connections and resumes when one of
// its connections closes. Every accepted connection holds a slot (a
// shared_ptr whose deleter posts connection_closed to the listener's loop),
// dropped when its socket closes; `open_` and `paused_` live on the
// listener's loop thread only, so pausing and resuming need no lock. The
// deleter posts only while the listener is open (post_if_open), so a slot
// that outlives the listener or the reactor touches nothing.
class tcp_listener final : public listener_core, public closable_object,
                           public std::enable_shared_from_this<tcp_listener> {
 public:
  tcp_listener(reactor_impl& r, io_loop& loop, const socket_options& options,
                std::shared_ptr<socket_spawner> spawner)
      : closable_object(loop), reactor_(r), options_(options), spawner_(std::move(spawner)),
        acceptor_(std::in_place, loop.ctx),
        limit_(options.max_connections != 0 ? options.max_connections : automatic_connection_limit()),
        budget_(options.max_buffered_input != 0 ? std::make_shared<input_budget>(options.max_buffered_input)
                                                : nullptr) {}

  void open(const endpoint& at) {
    asio::ip::tcp::endpoint where(parse_address(at.host), at.port);
    acceptor_->open(where.protocol());
    acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true));
    if (where.protocol() == asio::ip::tcp::v6()) acceptor_->set_option(asio::ip::v6_only(true));
    std::error_code ec;
    acceptor_->bind(where, ec);
    if (!ec) acceptor_->listen(options_.backlog, ec);
    if (ec) throw std::system_error(ec, "listen on " + at.to_string());
    local_ = to_endpoint(acceptor_->local_endpoint());
  }

  void start() {
    asio::post(loop_.ctx, [self = shared_from_this()] {
      if (self->loop_.stopping || !self->acceptor_) return;
      self->loop_.objects.insert(self.get());
      self->accept_next();
    });
  }

  void accept_next() {
    io_loop& target = reactor_.next_loop();
    acceptor_->async_accept(target.ctx, [self = shared_from_this(), &target](
                                           const std::error_code& ec, asio::ip::tcp::socket s) {
      if (ec == asio::error::operation_aborted || !self->acceptor_) return;
      if (ec) {
        // Out of file descriptors, say: try again a little later (at once
        // would spin), or as soon as one of ours closes; log the first
        // failure of a run and then at most one line a minute.
        self->log_at_most_every_minute(self->last_accept_error_log_,
                                       "io: accept on " + self->local_.to_string() + " failed: " + ec.message() +
                                           "; retrying every 50 ms");
        self->accept_failed_ = true;
        auto retry = std::make_shared<asio::steady_timer>(self->loop_.ctx, std::chrono::milliseconds(50));
        retry->async_wait([self, retry](const std::error_code& e) {
          if (!e && self->acceptor_ && self->accept_failed_) {
            self->accept_failed_ = false;
            self->accept_next();
          }
        });
        return;
      }
      ++self->open_;
      auto slot = self->make_slot();
      if (&target == &self->loop_) {
        adopt(target, self->reactor_.rt, std::move(s), self->options_, self->spawner_, nullptr, std::move(slot),
              self->budget_);
      } else {
        asio::post(target.ctx, [self, &target, s = std::move(s), slot = std::move(slot)]() mutable {
          adopt(target, self->reactor_.rt, std::move(s), self->options_, self->spawner_, nullptr, std::move(slot),
                self->budget_);
        });
      }
      if (self->open_ >= self->limit_) {
        self->paused_ = true;
        self->log_at_most_every_minute(self->last_limit_log_,
                                       "io: " + self->local_.to_string() + " has " + std::to_string(self->limit_) +
                                           " connections open (max_connections): not accepting until one closes");
        return;
      }
      self->accept_next();
    });
  }

  // The listener's loop thread: one of its connections closed.
  void connection_closed() {
    --open_;
    if (!acceptor_) return;
    if (paused_ && open_ < limit_) {
      paused_ = false;
      accept_next();
    } else if (accept_failed_) {
      accept_failed_ = false;  // a descriptor was freed: retry now, not at the timer
      accept_next();
    }
  }

  void stop() override { request_close(shared_from_this()); }
  void shut_down(const std::string&) override {
    auto self = weak_from_this().lock();  // as socket_conn::shut_down
    if (!self || !begin_shut_down()) return;
    if (acceptor_) {
      std::error_code ec;
      acceptor_->close(ec);
      acceptor_.reset();
    }
  }

  endpoint local() const override { return local_; }

 private:
  std::shared_ptr<void> make_slot() {
    return std::shared_ptr<void>(nullptr, [weak = weak_from_this()](void*) {
      if (auto self = weak.lock()) self->post_if_open([self] { self->connection_closed(); });
    });
  }

  void log_at_most_every_minute(std::chrono::steady_clock::time_point& last, const std::string& text) {
    const auto now = std::chrono::steady_clock::now();
    if (last != std::chrono::steady_clock::time_point{} && now - last < std::chrono::minutes(1)) return;
    last = now;
    reactor_.rt.log(log_level::warning, log_component::io, text);
  }

  reactor_impl& reactor_;
  socket_options options_;
  std::shared_ptr<socket_spawner> spawner_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;  // reset on the loop's thread
  endpoint local_;
  // The loop's thread only (see the comment above the class).
  const std::size_t limit_;
  const std::shared_ptr<input_budget> budget_;  // shared by its connections; null: none
  std::size_t open_ = 0;
  bool paused_ = false;         // at limit_: no accept in flight
  bool accept_failed_ = false;  // an accept failed; a retry is pending
  std::chrono::steady_clock::time_point last_limit_log_{}, last_accept_error_log_{};
};


std::shared_ptr<listener_core> start_listener(reactor& io, const endpoint& at,
                                              const socket_options& options,
                                              std::shared_ptr<socket_spawner> spawner) {
  if (auto* network = io.network()) return network->listen(at, options, std::move(spawner));
  auto core = std::make_shared<tcp_listener>(io.impl(), io.impl().loop(0), options, std::move(spawner));
  core->open(at);
  core->start();
  return core;
}

void stop_listener(listener_core& core) { core.stop(); }
endpoint listener_local(const listener_core& core) { return core.local(); }

void start_connect(reactor& io, const endpoint& to, const socket_options& options,
                   std::shared_ptr<socket_spawner> spawner, promise<troupe::pid> done) {
  if (auto* network = io.network()) {
    network->connect(to, options, std::move(spawner), std::move(done));
    return;
  }
  reactor_impl& r = io.impl();
  io_loop& loop = r.next_loop();
  asio::post(loop.ctx, [&r, &loop, to, options, spawner, done]() mutable {
    if (loop.stopping) return;
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(loop.ctx);
    resolver->async_resolve(
        to.host, std::to_string(to.port),
        [&r, &loop, to, options, spawner, done, resolver](
            const std::error_code& ec, const asio::ip::tcp::resolver::results_type& found) mutable {
          if (ec) {
            done.try_set_error(error(errc::io_error, "resolve " + to.host + ": " + ec.message()));
            return;
          }
          auto socket = std::make_shared<asio::ip::tcp::socket>(loop.ctx);
          asio::async_connect(
              *socket, found,
              [&r, &loop, to, options, spawner, done, socket](const std::error_code& ec,
                                                              const asio::ip::tcp::endpoint&) mutable {
                if (ec) {
                  done.try_set_error(
                      error(errc::io_error, "connect to " + to.to_string() + ": " + ec.message()));
                  return;
                }
                adopt(loop, r.rt, std::move(*socket), options, spawner, &done);
              });
        });
  });
}

}  // namespace troupe::io::detail

namespace troupe::io {
socket_options server_socket_options() {
  socket_options options;
  options.connection.read_timeout = std::chrono::seconds(30);
  options.connection.idle_timeout = std::chrono::minutes(5);
  options.max_buffered_input = std::size_t{256} << 20;
  return options;
}
}  // namespace troupe::io

