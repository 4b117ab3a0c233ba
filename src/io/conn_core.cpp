// socket_conn: see conn_core.hpp for the threading and state rules.
#include "troupe/core/trace_probe.hpp"
#include "io/conn_core.hpp"

#include "core/runtime_impl.hpp"

#include <algorithm>
#include <new>
#include <sys/socket.h>

#include <cstring>

namespace troupe::io::detail {

namespace {
constexpr std::size_t initial_input = socket_conn::initial_input;
constexpr std::size_t min_read_space = 4 * 1024;
// An empty input buffer larger than this shrinks back to initial_input (it
// grew for one big message; kept, it would stay charged to the listener's
// input budget while the connection idles).
constexpr std::size_t shrink_above = 64 * 1024;
}  // namespace

socket_conn::socket_conn(io_loop& loop, runtime& rt, asio::ip::tcp::socket socket,
                     const connection_options& options, bool accepted)
    : loop_(loop), rt_(rt), options_(options), socket_(std::move(socket)) {
  if (options_.tls) tls_ = std::make_unique<tls_session>(*options_.tls, accepted);
  std::error_code ec;
  fd_ = socket_->native_handle();
  peer = to_endpoint(socket_->remote_endpoint(ec));
  local = to_endpoint(socket_->local_endpoint(ec));
  if (options_.no_delay) socket_->set_option(asio::ip::tcp::no_delay(true), ec);
  loop_.objects.insert(this);
}

socket_conn::~socket_conn() { charge_input(0); }  // a refund only: never finishes

void socket_conn::start(troupe::pid owner, std::unique_ptr<conn_reader> reader) {
  owner_ = std::move(owner);
  reader_ = std::move(reader);
  last_activity_ = asio::steady_timer::clock_type::now();
  arm_deadline();
  if (tls_) {
    std::lock_guard lock(mu_);
    if (tls_->start(out_) == tls_session::status::failed) {
      tls_failed_ = true;
      post_locked([self = shared_from_this()] { self->fail_tls(true); });
      return;
    }
    kick_locked();
  }
  start_read();
}

void socket_conn::post_locked(std::function<void()> fn) {
  asio::post(loop_.ctx, std::move(fn));
}

// ---- reading (I/O thread) ----

void socket_conn::start_read() {
  if (lingering_) return;
  if (reading_ || read_eof_ || paused_by_mailbox_ || paused_by_owner_ || !socket_) return;
  {
    std::lock_guard lock(mu_);
    if (state_ != state::open && !(state_ == state::closing && handshake_holds_bytes_locked())) return;
  }
  if (in_.size() - in_end_ < min_read_space) {
    if (in_begin_ > 0) {
      std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
      in_end_ -= in_begin_;
      in_begin_ = 0;
    }
    if (in_.size() - in_end_ < min_read_space) {
      const std::size_t grown = std::max(initial_input, in_.size() * 2);
      if (!charge_input(grown + plain_in_.capacity())) return;
      try {
        in_.resize(grown);
      } catch (const std::bad_alloc&) {
        out_of_memory("growing its input buffer");
        return;
      }
    }
  }
  reading_ = true;
  if (last_read_short_) {
    // The last read took less than it asked for: the socket is (almost
    // surely) empty, and Asio's next read would first try recv() only to
    // hear EAGAIN (one wasted system call per request on a keep-alive
    // connection). Wait for readiness instead, then read once.
    //
    // Edge-triggered epoll makes that safe only if the socket was seen
    // empty inside this very handler: bytes that arrived since are then
    // reported by the loop's next epoll_wait, which cannot run before the
    // wait below is queued (this runs on the loop's serving thread). A
    // short read done by Asio (speculatively in start_op, or with its
    // completion posted behind the reactor task) may be older than an
    // epoll_wait that consumed the next edge with no read queued: then
    // read once now (what Asio would have done), and wait only if that
    // finds nothing. Reads started from anywhere else (resumed after a
    // pause) read at once.
    if (!short_read_in_handler_) {
      read_when_ready(std::error_code{});
      return;
    }
    socket_->async_wait(asio::socket_base::wait_read, [self = shared_from_this()](const std::error_code& ec) {
      try {
        self->read_when_ready(ec);
      } catch (const std::bad_alloc&) {
        self->out_of_memory("reading");
      }
    });
    return;
  }
  socket_->async_read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                             try {
                               self->on_read(ec, n, false);
                             } catch (const std::bad_alloc&) {
                               self->out_of_memory("reading");
                             }
                           });
}

void socket_conn::read_when_ready(const std::error_code& waited) {
  if (waited || !socket_) {
    on_read(waited, 0, false);
    return;
  }
  std::error_code ec;
  if (!socket_->non_blocking()) socket_->non_blocking(true, ec);
  const std::size_t n = ec ? 0 : socket_->read_some(asio::buffer(in_.data() + in_end_, in_.size() - in_end_), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    // Empty now, seen in this handler: wait for the next edge.
    reading_ = false;
    last_read_short_ = short_read_in_handler_ = true;
    start_read();
    last_read_short_ = short_read_in_handler_ = false;
    return;
  }
  on_read(ec, n, true);
}

void socket_conn::on_read(const std::error_code& ec, std::size_t n, bool synchronous) {
  reading_ = false;
  // start_read() may wait for readiness only when called from here (see there).
  struct short_read_scope {
    bool& flag;
    bool& in_handler;
    ~short_read_scope() { flag = in_handler = false; }
  } scope{last_read_short_, short_read_in_handler_};
  last_read_short_ = !ec && n > 0 && n < in_.size() - in_end_;
  short_read_in_handler_ = synchronous;
  if (!socket_) return;  // finished meanwhile
  if (lingering_) {
    if (ec)
      release_socket(false);
    else
      discard_input();
    return;
  }
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    if (ec == asio::error::eof) {
      // The peer will send nothing more. Replies may still be on their way
      // from the actor: it hears closed{} and, when it ends, the socket is
      // flushed and closed (owner_ended).
      // Under TLS, without close_notify first, the stream may have been cut short.
      if (tls_ && tls_up_)
        input_ended("tls: the peer closed without close_notify", true);
      else
        input_ended("peer closed", false);
      return;
    }
    finish(ec.message(), true, true);
    return;
  }
  if (troupe::detail::probes_on()) [[unlikely]]
    troupe::detail::trace_probe(tracing::event_kind::socket_read, "tcp", static_cast<std::uint64_t>(fd_),
                        static_cast<std::int64_t>(n), &rt_);
  in_end_ += n;
  auto now = asio::steady_timer::clock_type::now();
  last_activity_ = now;
  parse_error err;
  if (read_eof_) return;  // a malformed message came before: ignore the rest
  if (tls_ && !open_received()) return;
  // Under TLS the partial message is held decrypted, in plain_in_.
  if (tls_ && !charge_input(input_capacity())) return;
  std::string_view input = tls_ ? std::string_view(plain_in_)
                                : std::string_view(in_.data() + in_begin_, in_end_ - in_begin_);
  std::size_t used;
  {
    // The messages of one read reach the actor as one chain: one push and
    // at most one wake-up, not one per pipelined request.
    troupe::detail::runtime_impl::batch_sends batch;
    used = reader_->on_bytes(input, err);
  }
  if (used == std::string_view::npos) {
    // Reading stops here. The actor hears malformed{} after every message
    // parsed before it, so it can answer those first; then it writes the
    // codec's reply and closes (the default handler does).
    rt_.log(log_level::warning, log_component::io, "io: closing " + peer.to_string() + ": " + err.reason);
    read_eof_ = true;
    close_reason_ = err.reason;
    close_error_ = true;
    rt_.send(owner_, malformed{err.reason, err.reply});
    arm_close_deadline();  // an actor that never closes does not keep the socket
    return;
  }
  bool partial;
  if (tls_) {
    plain_in_.erase(0, used);
    partial = !plain_in_.empty() || tls_partial_;
    if (plain_in_.empty() && plain_in_.capacity() > shrink_above) {
      plain_in_.clear();
      plain_in_.shrink_to_fit();
      charge_input(input_capacity());
    }
  } else {
    in_begin_ += used;
    partial = in_begin_ != in_end_;
    if (!partial) {
      in_begin_ = in_end_ = 0;
      // A buffer grown for one big message goes back to its first size, so
      // that an idle connection does not keep what its largest message took.
      if (in_.size() > shrink_above) {
        in_.assign(initial_input, '\0');
        in_.shrink_to_fit();
        charge_input(input_capacity());
      }
    }
  }
  if (!partial)
    partial_since_ = {};
  else if (used > 0 || partial_since_ == asio::steady_timer::time_point{})
    partial_since_ = now;
  check_mailbox();
}

bool socket_conn::open_received() {
  std::string_view cipher(in_.data() + in_begin_, in_end_ - in_begin_);
  in_begin_ = in_end_ = 0;  // the session keeps any partial record
  tls_session::status status;
  {
    std::lock_guard lock(mu_);
    if (state_ == state::done) return false;
    status = tls_->open(cipher, plain_in_, out_);
    if (status == tls_session::status::failed) tls_failed_ = true;
    tls_partial_ = tls_->partial();
    tls_up_ = tls_->established();
    // A finished handshake releases the plaintext written meanwhile.
    if (status == tls_session::status::ok && !seal_locked()) return false;
    kick_locked();  // handshake replies, and an alert before a failure
  }
  if (status == tls_session::status::failed) {
    fail_tls(false);  // not abortive: the alert that says why goes out before the close
    return false;
  }
  if (status == tls_session::status::peer_closed) {
    // close_notify: as the peer's FIN, after what came before it.
    {
      parse_error err;
      troupe::detail::runtime_impl::batch_sends batch;
      if (reader_->on_bytes(plain_in_, err) != std::string_view::npos) plain_in_.clear();
    }
    input_ended("peer closed", false);
    return false;
  }
  return true;
}

void socket_conn::input_ended(const std::string& reason, bool error) {
  read_eof_ = true;
  peer_closed_ = true;
  close_reason_ = reason;
  close_error_ = error;
  tell_owner();
}

void socket_conn::fail_tls(bool abortive) {
  auto why = "tls: " + tls_error();
  rt_.log(log_level::warning, log_component::io, "io: closing " + peer.to_string() + ": " + why);
  finish(why, true, abortive);
}

void socket_conn::check_mailbox() {
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
void socket_conn::poll_mailbox() {
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

void socket_conn::pause_reading(bool paused) {
  std::lock_guard lock(mu_);
  if (state_ == state::done) return;
  post_locked([self = shared_from_this(), paused] {
    self->paused_by_owner_ = paused;
    if (!paused) self->start_read();
  });
}

// ---- writing ----

write_status socket_conn::write(encode_fn encode, void* codec, const void* msg, bool send_now) {
  std::lock_guard lock(mu_);
  if (state_ != state::open) return write_status::closed;
  if (out_.size() + writing_.size() + plain_out_.size() >= options_.high_watermark) {
    want_writable_ = true;
    return write_status::full;
  }
  encode(codec, msg, tls_ ? plain_out_ : out_);
  if (send_now) send_locked();
  return write_status::ok;
}

void socket_conn::send_queued() {
  std::lock_guard lock(mu_);
  if (state_ == state::open) send_locked();
}

// The writer's thread sends what it can at once when the I/O thread is not
// writing: a reply leaves without waking the I/O thread, which gets only
// what the kernel would not take. Safe beside the I/O thread's reads: the
// fd stays open while `mu_` is held (finish_now marks the core done under
// `mu_` before it closes the socket), and no async_write is in flight.
void socket_conn::send_locked() {
  if (tls_ && !seal_locked()) return;
  if (flush_posted_ || write_in_flight_ || out_.empty()) return;
  ssize_t sent = ::send(fd_, out_.data(), out_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  if (sent > 0) {
    if (troupe::detail::probes_on()) [[unlikely]]
      troupe::detail::trace_probe(tracing::event_kind::socket_write, "tcp", static_cast<std::uint64_t>(fd_), sent, &rt_);
    out_.erase(0, static_cast<std::size_t>(sent));
    if (out_.empty()) {
      write_activity_.store(true, std::memory_order_relaxed);
      if (want_writable_) {
        // A write was refused and the kernel took everything since: the
        // I/O thread (which knows the owner) tells the actor.
        want_writable_ = false;
        post_locked([self = shared_from_this()] {
          if (self->reader_ && !self->owner_gone()) self->rt_.send(self->owner_, writable{});
        });
      }
      return;
    }
  }
  // The rest (or an error, which the I/O thread's write reports) goes the
  // asynchronous way.
  flush_posted_ = true;
  post_locked([self = shared_from_this()] { self->flush(); });
}

bool socket_conn::handshake_holds_bytes_locked() const {
  return tls_ && !tls_failed_ && !plain_out_.empty() && !tls_->established();
}

bool socket_conn::seal_locked() {
  if (tls_failed_) return false;
  if (tls_->seal(plain_out_, out_) == tls_session::status::ok) return true;
  tls_failed_ = true;
  plain_out_.clear();
  post_locked([self = shared_from_this()] { self->fail_tls(true); });
  return false;
}

void socket_conn::kick_locked() {
  if (state_ == state::open) {
    send_locked();
  } else if (state_ == state::closing && !flush_posted_ && !out_.empty()) {
    flush_posted_ = true;
    post_locked([self = shared_from_this()] { self->flush(); });
  }
}

void socket_conn::flush() {
  std::unique_lock lock(mu_);
  flush_posted_ = false;
  if (state_ == state::done || write_in_flight_ || !socket_) return;
  if (tls_) seal_locked();
  if (out_.empty() && state_ == state::closing && !abort_requested_ && tls_ && !tls_failed_) {
    if (handshake_holds_bytes_locked()) {
      // Written before the handshake ended: they go once it does (reading
      // goes on while closing for that), or the close deadline resets.
      lock.unlock();
      arm_close_deadline();
      start_read();
      return;
    }
    if (!close_notify_sent_) {
      close_notify_sent_ = true;
      tls_->close(out_);
    }
  }
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
  bool closing = state_ == state::closing;
  lock.unlock();
  if (closing) arm_close_deadline();
  asio::async_write(*socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
                      try {
                        if (!ec && troupe::detail::probes_on()) [[unlikely]]
                          troupe::detail::trace_probe(tracing::event_kind::socket_write, "tcp",
                                              static_cast<std::uint64_t>(self->fd_), static_cast<std::int64_t>(n),
                                              &self->rt_);
                        self->on_written(ec);
                      } catch (const std::bad_alloc&) {
                        self->out_of_memory("writing");
                      }
                    });
}

void socket_conn::on_written(const std::error_code& ec) {
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
    if (want_writable_ && out_.size() + plain_out_.size() < options_.low_watermark) {
      want_writable_ = false;
      notify = !owner_ended_;
    }
  }
  if (notify) rt_.send(owner_, writable{});
  flush();
}

std::size_t socket_conn::queued_bytes() const {
  std::lock_guard lock(mu_);
  return out_.size() + writing_.size() + plain_out_.size();
}

std::string socket_conn::tls_error() const {
  std::lock_guard lock(mu_);
  return tls_->error();
}

void socket_conn::log_refused(write_status why) {
  rt_.log(log_level::warning, log_component::io, "io: a message for " + peer.to_string() + " was not written: " +
                                  (why == write_status::full ? "the write queue is full"
                                                             : "the connection is closed"));
}

// ---- closing ----

void socket_conn::close(bool abortive) {
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

void socket_conn::owner_ended() {
  std::lock_guard lock(mu_);
  owner_ended_ = true;
  if (state_ == state::done) return;
  state_ = state::closing;
  post_locked([self = shared_from_this()] {
    if (self->close_reason_.empty()) self->close_reason_ = "its actor ended";
    self->flush();
  });
}

void socket_conn::shut_down(const std::string& reason) {
  // Called through the loop's raw registry: hold a reference while closing,
  // so the last one (maybe an actor's, on a worker) is dropped after, and
  // the socket's reset happens-before the destructor.
  auto self = weak_from_this().lock();
  if (self) finish(reason, false, true);
}

void socket_conn::finish(const std::string& reason, bool error, bool abortive) {
  if (close_reason_.empty() || close_reason_ == "peer closed") {
    close_reason_ = reason;
    close_error_ = error;
  }
  // The actor hears closed{} only once writes refuse with `closed`: told
  // earlier, it could see `full`, wait for a writable{} that never comes,
  // and never end. finish_now marks the core done, then tells it.
  if (abortive) {
    finish_now(true);
    return;
  }
  bool already_done;
  {
    std::lock_guard lock(mu_);
    already_done = state_ == state::done;
    if (!already_done) state_ = state::closing;
  }
  tell_owner();
  if (!already_done) flush();
}

void socket_conn::tell_owner() {
  if (told_owner_ || !reader_) return;
  {
    std::lock_guard lock(mu_);
    if (owner_ended_) return;
  }
  told_owner_ = true;
  rt_.send(owner_, closed{close_reason_, close_error_});
  rt_.send(owner_, socket_ended{});
}

bool socket_conn::owner_gone() const {
  std::lock_guard lock(mu_);
  return owner_ended_;
}

void socket_conn::finish_now(bool abortive) {
  bool already_done, writer_waits;
  {
    std::lock_guard lock(mu_);
    already_done = state_ == state::done;
    state_ = state::done;
    out_.clear();
    plain_out_.clear();
    writer_waits = std::exchange(want_writable_, false) && !owner_ended_;
  }
  if (already_done) {
    // Lingering, and now told to stop (reactor shutdown, a reset).
    if (abortive && socket_) release_socket(true);
    return;
  }
  // An actor told closed{} earlier (the peer's FIN came first) may since
  // have been refused a write (`full`) and wait for writable{}: no drain
  // will ever send it, so wake it now; its next write says `closed`.
  // Without this, a peer that half-closes (or whose reset reads as EOF
  // because a direct send took the error) while replies are blocked
  // leaves the actor waiting forever.
  const bool told_before = told_owner_;
  tell_owner();
  if (writer_waits && told_before && reader_) rt_.send(owner_, writable{});
  if (socket_ && !abortive) {
    // Lingering close: send our FIN, then read and drop what the peer still
    // sends until its FIN (or linger_timeout). Closing with unread input
    // would make the kernel reset the connection and drop replies not yet
    // delivered, such as the error reply to a malformed request.
    std::error_code ec;
    socket_->shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    if (!ec && !peer_closed_) {
      lingering_ = true;
      if (!deadline_) deadline_.emplace(loop_.ctx);
      deadline_->expires_after(options_.linger_timeout);
      deadline_->async_wait([self = shared_from_this()](const std::error_code& e) {
        if (!e) self->release_socket(false);
      });
      if (!reading_) discard_input();  // else the read in flight leads there (on_read)
      return;
    }
  }
  release_socket(abortive);
}

void socket_conn::discard_input() {
  if (!socket_) return;
  if (in_.size() < initial_input) in_.resize(initial_input);
  socket_->async_read_some(asio::buffer(in_.data(), in_.size()),
                           [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                             if (!self->socket_) return;
                             if (ec) {
                               self->release_socket(false);
                               return;
                             }
                             self->discard_input();
                           });
}

void socket_conn::release_socket(bool abortive) {
  loop_.objects.erase(this);
  std::error_code ec;
  if (socket_) {
    if (abortive) socket_->set_option(asio::socket_base::linger(true, 0), ec);
    socket_->close(ec);
    socket_.reset();
  }
  deadline_.reset();
  mailbox_poll_.reset();
  close_timer_.reset();
  slot_.reset();
  charge_input(0);
}

// Closing waits for the queue to drain; a peer that never reads must not
// keep the socket forever.
void socket_conn::arm_close_deadline() {
  if (close_deadline_armed_ || !socket_) return;
  close_deadline_armed_ = true;
  if (!close_timer_) close_timer_.emplace(loop_.ctx);
  close_timer_->expires_after(options_.close_timeout);
  close_timer_->async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || !self->socket_ || self->lingering_) return;
    self->rt_.log(log_level::warning, log_component::io,
                  "io: " + self->peer.to_string() + " did not take its last bytes; resetting");
    self->finish("close timed out", true, true);
  });
}

// ---- the handle's functions ----

write_status conn_write(conn_core& core, encode_fn encode, void* codec, const void* msg, bool send_now) {
  return core.write(encode, codec, msg, send_now);
}
void conn_send_queued(conn_core& core) { core.send_queued(); }
write_status conn_write_bytes(conn_core& core, std::string_view bytes, bool send_now) {
  auto append = [](void*, const void* msg, std::string& out) { out += *static_cast<const std::string_view*>(msg); };
  return core.write(append, nullptr, &bytes, send_now);
}
void conn_close(conn_core& core, bool abortive) { core.close(abortive); }
void conn_owner_ended(conn_core& core) { core.owner_ended(); }
std::size_t conn_queued_bytes(const conn_core& core) { return core.queued_bytes(); }
endpoint conn_peer(const conn_core& core) { return core.peer; }
endpoint conn_local(const conn_core& core) { return core.local; }
void conn_log_refused(conn_core& core, write_status why) { core.log_refused(why); }
void conn_pause_reading(conn_core& core, bool paused) { core.pause_reading(paused); }

}  // namespace troupe::io::detail
