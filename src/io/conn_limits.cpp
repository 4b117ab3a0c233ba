// socket_conn's bounds: what a connection may hold (its share of the
// listener's input budget, and what happens when memory runs out) and how
// long it may take (idle and read timeouts). See conn_core.hpp for the threading rules: all of this runs
// on the connection's I/O thread, except the refund in the destructor.
#include "io/conn_core.hpp"

#include <algorithm>

namespace troupe::io::detail {

void socket_conn::out_of_memory(const char* while_doing) noexcept {
  reading_ = false;
  try {
    rt_.log(log_level::error, log_component::io, "io: closing " + peer.to_string() + ": out of memory while " + while_doing);
  } catch (...) {
    // no memory for the log line either
  }
  try {
    finish("out of memory", true, true);
  } catch (...) {
    // Telling the actor allocates too: at least the peer is not left
    // waiting on an open socket.
    if (socket_) release_socket(true);
  }
}

bool socket_conn::charge_input(std::size_t size) {
  if (!budget_) return true;
  const std::size_t cost = size > conn_core::initial_input ? size - conn_core::initial_input : 0;
  if (cost <= charged_) {
    budget_->used.fetch_sub(charged_ - cost, std::memory_order_relaxed);
    charged_ = cost;
    return true;
  }
  const std::size_t more = cost - charged_;
  if (budget_->used.fetch_add(more, std::memory_order_relaxed) + more > budget_->limit) {
    budget_->used.fetch_sub(more, std::memory_order_relaxed);
    const std::string why = "input budget: the listener's connections would hold over " +
                            std::to_string(budget_->limit) + " bytes of partial input (max_buffered_input)";
    rt_.log(log_level::warning, log_component::io, "io: closing " + peer.to_string() + ": " + why);
    finish(why, true, true);
    return false;
  }
  charged_ = cost;
  return true;
}

// ---- timeouts ----

void socket_conn::arm_deadline() {
  auto idle = options_.idle_timeout, read = options_.read_timeout;
  if (idle <= duration::zero() && read <= duration::zero()) return;
  duration shortest = idle <= duration::zero()   ? read
                      : read <= duration::zero() ? idle
                                                 : std::min(idle, read);
  auto tick = std::max<duration>(shortest / 4, std::chrono::milliseconds(1));
  if (!deadline_) deadline_.emplace(loop_.ctx);
  deadline_->expires_after(tick);
  deadline_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->socket_ && !self->lingering_) self->on_deadline();
  });
}

void socket_conn::on_deadline() {
  auto now = asio::steady_timer::clock_type::now();
  if (write_activity_.exchange(false, std::memory_order_relaxed)) last_activity_ = now;
  if (options_.idle_timeout > duration::zero() && now - last_activity_ >= options_.idle_timeout) {
    finish("idle timeout", true, true);
    return;
  }
  if (options_.read_timeout > duration::zero() && partial_since_ != asio::steady_timer::time_point{} &&
      now - partial_since_ >= options_.read_timeout) {
    finish("read timeout", true, true);
    return;
  }
  arm_deadline();
}

}  // namespace troupe::io::detail
