// conn_core: see conn_core.hpp for the threading and state rules.
#include "io/conn_core.hpp"

#include <algorithm>
#include <sys/socket.h>

#include <cstring>

namespace troupe::io::detail {

namespace {
constexpr std::size_t initial_input = 16 * 1024;
constexpr std::size_t min_read_space = 4 * 1024;
}  // namespace

conn_core::conn_core(io_loop& loop, runtime& rt, asio::ip::tcp::socket socket,
                     const connection_options& options)
    : loop_(loop), rt_(rt), options_(options), socket_(std::move(socket)) {
  std::error_code ec;
  fd_ = socket_->native_handle();
  peer = to_endpoint(socket_->remote_endpoint(ec));
  local = to_endpoint(socket_->local_endpoint(ec));
  if (options_.no_delay) socket_->set_option(asio::ip::tcp::no_delay(true), ec);
  loop_.objects.insert(this);
}

conn_core::~conn_core() = default;

void conn_core::start(troupe::pid owner, std::unique_ptr<conn_reader> reader) {
  owner_ = std::move(owner);
  reader_ = std::move(reader);
  last_activity_ = asio::steady_timer::clock_type::now();
  arm_deadline();
  start_read();
}

void conn_core::post_locked(std::function<void()> fn) {
  asio::post(loop_.ctx, std::move(fn));
}

// ---- reading (I/O thread) ----

void conn_core::start_read() {
  if (reading_ || read_eof_ || paused_by_mailbox_ || paused_by_owner_ || !socket_) return;
  {
    std::lock_guard lock(mu_);
    if (state_ != state::open) return;
  }
  if (in_.size() - in_end_ < min_read_space) {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < min_read_space) in_.resize(std::max(initial_input, in_.size() * 2));
  }
  reading_ = true;
  socket_->async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                             self->on_read(ec, n);
                           });
}

void conn_core::on_read(const std::error_code& ec, std::size_t n) {
  reading_ = false;
  if (!socket_) return;  // finished meanwhile
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec == asio::error::eof) {
      // The peer will send nothing more. Replies may still be on their way
      // from the actor: it hears closed{} and, when it ends, the socket is
      // flushed and closed (owner_ended).
      read_eof_ = true;
      close_reason_ = "peer closed";
      tell_owner();
      return;
    }
    finish(ec.message(), true, true);
    return;
  }
  in_end_ += n;
  auto now = asio::steady_timer::clock_type::now();
  last_activity_ = now;
  parse_error err;
  std::size_t used =
      reader_->on_bytes(std::string_view(in_.data() + in_begin_, in_end_ - in_begin_), err);
  if (used == std::string_view::npos) {
    rt_.log(log_level::warning, "io: closing " + peer.to_string() + ": " + err.reason);
    if (!err.reply.empty()) {
      std::lock_guard lock(mu_);
      out_ += err.reply;
    }
    finish(err.reason, true, false);
    return;
  }
  in_begin_ += used;
  if (in_begin_ == in_end_) {
    in_begin_ = in_end_ = 0;
    partial_since_ = {};
  } else if (used > 0 || partial_since_ == asio::steady_timer::time_point{}) {
    partial_since_ = now;
  }
  check_mailbox();
}

void conn_core::check_mailbox() {
  if (options_.max_mailbox != 0 && rt_.mailbox_size(owner_) > options_.max_mailbox) {
    paused_by_mailbox_ = true;
    poll_mailbox();
    return;
  }
  start_read();
}

// Polled rather than signalled: the mailbox has no drain hook, and a paused
// connection is the exception, not the rule. Reading resumes once the
// mailbox is down to half the limit (hysteresis: not one read per message).
void conn_core::poll_mailbox() {
  if (!mailbox_poll_) mailbox_poll_.emplace(loop_.ctx);
  mailbox_poll_->expires_after(std::chrono::milliseconds(1));
  mailbox_poll_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || !self->socket_) return;
    if (self->rt_.mailbox_size(self->owner_) > self->options_.max_mailbox / 2) {
      self->poll_mailbox();
      return;
    }
    self->paused_by_mailbox_ = false;
    self->start_read();
  });
}

void conn_core::pause_reading(bool paused) {
  std::lock_guard lock(mu_);
  if (state_ == state::done) return;
  post_locked([self = shared_from_this(), paused] {
    self->paused_by_owner_ = paused;
    if (!paused) self->start_read();
  });
}

// ---- writing ----

write_status conn_core::write(encode_fn encode, void* codec, const void* msg, bool send_now) {
  std::lock_guard lock(mu_);
  if (state_ != state::open) return write_status::closed;
  if (out_.size() + writing_.size() >= options_.high_watermark) {
    want_writable_ = true;
    return write_status::full;
  }
  encode(codec, msg, out_);
  if (send_now) send_locked();
  return write_status::ok;
}

void conn_core::send_queued() {
  std::lock_guard lock(mu_);
  if (state_ == state::open) send_locked();
}

// The writer's thread sends what it can at once when the I/O thread is not
// writing: a reply leaves without waking the I/O thread, which gets only
// what the kernel would not take. Safe beside the I/O thread's reads: the
// fd stays open while `mu_` is held (finish_now marks the core done under
// `mu_` before it closes the socket), and no async_write is in flight.
void conn_core::send_locked() {
  if (flush_posted_ || write_in_flight_ || out_.empty()) return;
  ssize_t sent = ::send(fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent > 0) {
    out_.erase(0, static_cast<std::size_t>(sent));
    if (out_.empty()) {
      write_activity_.store(true, std::memory_order_relaxed);
      return;
    }
  }
  // The rest (or an error, which the I/O thread's write reports) goes the
  // asynchronous way.
  flush_posted_ = true;
  post_locked([self = shared_from_this()] { self->flush(); });
}

void conn_core::flush() {
  std::unique_lock lock(mu_);
  flush_posted_ = false;
  if (state_ == state::done || write_in_flight_ || !socket_) return;
  if (out_.empty()) {
    if (state_ == state::closing) {
      bool abortive = abort_requested_;
      lock.unlock();
      finish_now(abortive);
    }
    return;
  }
  std::swap(out_, writing_);
  write_in_flight_ = true;
  lock.unlock();
  asio::async_write(*socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                      self->on_written(ec);
                    });
}

void conn_core::on_written(const std::error_code& ec) {
  if (ec) {
    if (ec == asio::error::operation_aborted || !socket_) return;
    finish("write failed: " + ec.message(), true, true);
    return;
  }
  last_activity_ = asio::steady_timer::clock_type::now();
  bool notify = false;
  {
    std::lock_guard lock(mu_);
    writing_.clear();
    write_in_flight_ = false;
    if (want_writable_ && out_.size() < options_.low_watermark) {
      want_writable_ = false;
      notify = !owner_ended_;
    }
  }
  if (notify) rt_.send(owner_, writable{});
  flush();
}

std::size_t conn_core::queued_bytes() const {
  std::lock_guard lock(mu_);
  return out_.size() + writing_.size();
}

void conn_core::log_refused(write_status why) {
  rt_.log(log_level::warning, "io: a message for " + peer.to_string() + " was not written: " +
                                  (why == write_status::full ? "the write queue is full"
                                                             : "the connection is closed"));
}

// ---- closing ----

void conn_core::close(bool abortive) {
  std::lock_guard lock(mu_);
  if (state_ == state::done) return;
  if (state_ == state::closing && !abortive) return;
  state_ = state::closing;
  abort_requested_ = abort_requested_ || abortive;
  post_locked([self = shared_from_this(), abortive] {
    if (self->close_reason_.empty()) self->close_reason_ = abortive ? "aborted" : "closed";
    if (abortive)
      self->finish_now(true);
    else
      self->flush();
  });
}

void conn_core::owner_ended() {
  std::lock_guard lock(mu_);
  owner_ended_ = true;
  if (state_ == state::done) return;
  state_ = state::closing;
  post_locked([self = shared_from_this()] {
    if (self->close_reason_.empty()) self->close_reason_ = "its actor ended";
    self->flush();
  });
}

void conn_core::shut_down(const std::string& reason) {
  // Called through the loop's raw registry: hold a reference while closing,
  // so the last one (maybe an actor's, on a worker) is dropped after, and
  // the socket's reset happens-before the destructor.
  auto self = weak_from_this().lock();
  if (self) finish(reason, false, true);
}

void conn_core::finish(const std::string& reason, bool error, bool abortive) {
  if (close_reason_.empty() || close_reason_ == "peer closed") {
    close_reason_ = reason;
    close_error_ = error;
  }
  tell_owner();
  if (abortive) {
    finish_now(true);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (state_ == state::done) return;
    state_ = state::closing;
  }
  flush();
}

void conn_core::tell_owner() {
  if (told_owner_ || !reader_) return;
  {
    std::lock_guard lock(mu_);
    if (owner_ended_) return;
  }
  told_owner_ = true;
  rt_.send(owner_, closed{close_reason_, close_error_});
  rt_.send(owner_, socket_ended{});
}

void conn_core::finish_now(bool abortive) {
  {
    std::lock_guard lock(mu_);
    if (state_ == state::done) return;
    state_ = state::done;
    out_.clear();
  }
  tell_owner();
  loop_.objects.erase(this);
  std::error_code ec;
  if (socket_) {
    if (abortive)
      socket_->set_option(asio::socket_base::linger(true, 0), ec);
    else
      socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    socket_->close(ec);
    socket_.reset();
  }
  deadline_.reset();
  mailbox_poll_.reset();
}

// ---- timeouts ----

void conn_core::arm_deadline() {
  auto idle = options_.idle_timeout, read = options_.read_timeout;
  if (idle <= duration::zero() && read <= duration::zero()) return;
  duration shortest = idle <= duration::zero()   ? read
                      : read <= duration::zero() ? idle
                                                 : std::min(idle, read);
  auto tick = std::max<duration>(shortest / 4, std::chrono::milliseconds(1));
  if (!deadline_) deadline_.emplace(loop_.ctx);
  deadline_->expires_after(tick);
  deadline_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (!ec && self->socket_) self->on_deadline();
  });
}

void conn_core::on_deadline() {
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

// ---- the handle's functions ----

write_status conn_write(conn_core& core, encode_fn encode, void* codec, const void* msg, bool send_now) {
  return core.write(encode, codec, msg, send_now);
}
void conn_send_queued(conn_core& core) { core.send_queued(); }
void conn_close(conn_core& core, bool abortive) { core.close(abortive); }
void conn_owner_ended(conn_core& core) { core.owner_ended(); }
std::size_t conn_queued_bytes(const conn_core& core) { return core.queued_bytes(); }
endpoint conn_peer(const conn_core& core) { return core.peer; }
endpoint conn_local(const conn_core& core) { return core.local; }
void conn_log_refused(conn_core& core, write_status why) { core.log_refused(why); }
void conn_pause_reading(conn_core& core, bool paused) { core.pause_reading(paused); }

}  // namespace troupe::io::detail
