// UDP sockets: one receive loop per socket on its I/O thread; sends are
// posted to that thread. Same lifetime rules as socket_conn (conn_core.hpp).
#include <mutex>
#include <optional>
#include <stdexcept>

#include "io/reactor_impl.hpp"
#include "troupe/io/udp.hpp"

namespace troupe::io::detail {

class udp_core final : public closable_object, public std::enable_shared_from_this<udp_core> {
 public:
  udp_core(io_loop& loop, runtime& rt, const endpoint& at)
      : closable_object(loop), rt_(rt), socket_(std::in_place, loop.ctx) {
    asio::ip::udp::endpoint where(parse_address(at.host), at.port);
    std::error_code ec;
    socket_->open(where.protocol(), ec);
    if (!ec) socket_->bind(where, ec);
    if (ec) throw std::system_error(ec, "udp bind " + at.to_string());
    local_ = to_endpoint(socket_->local_endpoint());
  }

  // Called once, before any close can be requested (the owner is spawned
  // just before; a close it asks for is posted after this).
  void start(troupe::pid owner) {
    owner_ = std::move(owner);
    post_if_open([self = shared_from_this()] {
      if (self->done() || !self->socket_) return;  // closed before it started
      if (self->loop_.stopping) {
        self->shut_down("reactor stopped");
        return;
      }
      self->loop_.objects.insert(self.get());
      self->receive();
    });
  }

  void receive() {
    if (!socket_) return;
    socket_->async_receive_from(asio::buffer(buffer_), from_,
                                [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                                  if (!self->socket_ || ec == asio::error::operation_aborted) return;
                                  if (!ec)
                                    self->rt_.send(self->owner_,
                                                   datagram{to_endpoint(self->from_),
                                                            std::string(self->buffer_.data(), n)});
                                  self->receive();
                                });
  }

  bool send(const endpoint& to, std::string data) {
    std::error_code ec;
    auto address = asio::ip::make_address(to.host, ec);
    if (ec) return false;
    auto payload = std::make_shared<std::string>(std::move(data));
    return post_if_open([self = shared_from_this(), payload, where = asio::ip::udp::endpoint(address, to.port)] {
      if (!self->socket_) return;
      self->socket_->async_send_to(asio::buffer(*payload), where,
                                   [self, payload](const std::error_code&, std::size_t) {});
    });
  }

  void close() { request_close(shared_from_this()); }

  void shut_down(const std::string&) override {
    auto self = weak_from_this().lock();  // as socket_conn::shut_down
    if (!self || !begin_shut_down()) return;
    if (socket_) {
      std::error_code ec;
      socket_->close(ec);
      socket_.reset();
    }
  }

  endpoint local() const { return local_; }

 private:
  runtime& rt_;
  std::optional<asio::ip::udp::socket> socket_;
  std::array<char, 65536> buffer_{};
  asio::ip::udp::endpoint from_;
  endpoint local_;
  troupe::pid owner_;
};

std::shared_ptr<udp_core> udp_bind(reactor& io, const endpoint& at) {
  if (io.network()) throw std::logic_error("io: UDP over a simulated network is not supported");
  auto& loop = io.impl().next_loop();
  return std::make_shared<udp_core>(loop, io.system(), at);
}
void udp_start(udp_core& core, troupe::pid owner) { core.start(std::move(owner)); }
bool udp_send(udp_core& core, const endpoint& to, std::string data) { return core.send(to, std::move(data)); }
void udp_close(udp_core& core) { core.close(); }
endpoint udp_local(const udp_core& core) { return core.local(); }

}  // namespace troupe::io::detail
