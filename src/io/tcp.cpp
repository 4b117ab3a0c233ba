// TCP listeners and outgoing connections.
#include <mutex>
#include <optional>
#include <system_error>

#include "io/conn_core.hpp"
#include "troupe/io/tcp.hpp"

namespace troupe::io::detail {

namespace {

// Spawns the actor on the connection's own thread and starts reading.
void adopt(io_loop& loop, runtime& rt, asio::ip::tcp::socket socket, const socket_options& options,
           const std::shared_ptr<socket_spawner>& spawner, promise<troupe::pid>* done) {
  if (loop.stopping) {
    if (done) done->try_set_error(error(errc::io_error, "the reactor is stopping"));
    return;
  }
  auto core = std::make_shared<conn_core>(loop, rt, std::move(socket), options.connection,
                                         /*accepted=*/done == nullptr);
  troupe::pid actor;
  std::unique_ptr<conn_reader> reader;
  try {
    reader = spawner->spawn(rt, core, actor);
  } catch (const std::exception& e) {
    rt.log(log_level::error, "io: the actor for " + core->peer.to_string() +
                                 " could not start: " + e.what());
    core->shut_down("its actor could not start");
    if (done) done->try_set_error(error(errc::io_error, e.what()));
    return;
  }
  core->start(actor, std::move(reader));
  if (done) done->try_set_value(actor);
}

}  // namespace

class listener_core final : public closable_object, public std::enable_shared_from_this<listener_core> {
 public:
  listener_core(reactor_impl& r, io_loop& loop, const socket_options& options,
                std::shared_ptr<socket_spawner> spawner)
      : closable_object(loop), reactor_(r), options_(options), spawner_(std::move(spawner)),
        acceptor_(std::in_place, loop.ctx) {}

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
        // Out of file descriptors, say: log, and try again a little later
        // (at once would spin and flood the log).
        self->reactor_.rt.log(log_level::warning, "io: accept on " + self->local_.to_string() +
                                                      " failed: " + ec.message());
        auto retry = std::make_shared<asio::steady_timer>(self->loop_.ctx, std::chrono::milliseconds(50));
        retry->async_wait([self, retry](const std::error_code& e) {
          if (!e && self->acceptor_) self->accept_next();
        });
        return;
      } else if (&target == &self->loop_) {
        adopt(target, self->reactor_.rt, std::move(s), self->options_, self->spawner_, nullptr);
      } else {
        asio::post(target.ctx, [self, &target, s = std::move(s)]() mutable {
          adopt(target, self->reactor_.rt, std::move(s), self->options_, self->spawner_, nullptr);
        });
      }
      self->accept_next();
    });
  }

  void stop() { request_close(shared_from_this()); }
  void shut_down(const std::string&) override {
    auto self = weak_from_this().lock();  // as conn_core::shut_down
    if (!self || !begin_shut_down()) return;
    if (acceptor_) {
      std::error_code ec;
      acceptor_->close(ec);
      acceptor_.reset();
    }
  }

  endpoint local() const { return local_; }

 private:
  reactor_impl& reactor_;
  socket_options options_;
  std::shared_ptr<socket_spawner> spawner_;
  std::optional<asio::ip::tcp::acceptor> acceptor_;  // reset on the loop's thread
  endpoint local_;
};

std::shared_ptr<listener_core> start_listener(reactor& io, const endpoint& at,
                                              const socket_options& options,
                                              std::shared_ptr<socket_spawner> spawner) {
  auto core = std::make_shared<listener_core>(io.impl(), io.impl().loop(0), options, std::move(spawner));
  core->open(at);
  core->start();
  return core;
}

void stop_listener(listener_core& core) { core.stop(); }
endpoint listener_local(const listener_core& core) { return core.local(); }

void start_connect(reactor& io, const endpoint& to, const socket_options& options,
                   std::shared_ptr<socket_spawner> spawner, promise<troupe::pid> done) {
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
