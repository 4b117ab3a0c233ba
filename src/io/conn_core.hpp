// conn_core: what a socket actor's connection<C> calls (write, close, ...),
// and socket_conn, the one for a TCP connection: its socket, buffers and
// timers. (troupe::testing has another: a connection over its simulated
// network.)
//
// Threads: the socket, the input buffer and the timers belong to the
// connection's I/O thread (its loop). The output queue is shared with the
// actor side (write(), close()) under `mu`.
//
// Output: writers append encoded bytes to `out` under `mu`; whoever finds
// no flush scheduled posts one. The I/O thread swaps `out` into `writing`
// and writes it; while a write is in flight, new bytes gather in `out`, so
// one syscall carries everything written meanwhile. Queued bytes
// (out + writing) never exceed the high watermark by more than one message.
//
// States: open -> (closing: flush, then close) -> done. Closing is bounded
// by options.close_timeout (then a reset). A graceful close lingers: FIN
// sent, the peer's remaining input read and dropped until its FIN or
// options.linger_timeout, so the kernel does not reset the connection
// over unread input and lose our last bytes. Once the socket is released,
// it and the timers are destroyed (on the I/O thread); from `done` on
// nothing posts to the loop again: every path that posts checks the state
// under `mu` first.
// The actor is told closed{reason} then socket_ended{} exactly once, unless
// it has already ended. An actor that waits for writable{} (a write was
// refused `full`) always gets one, or closed{}, when the connection ends:
// it never waits for a drain that cannot come.
//
// TLS (options.tls): writers append plaintext to `plain_out_`; it is sealed
// into `out_` (ciphertext) under `mu_` whenever bytes are about to go out,
// so every path above that moves `out_` to the socket is unchanged. The I/O
// thread opens what it reads into `plain_in_` (under `mu_`: the session is
// shared with the writers), and the codec parses that.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "io/reactor_impl.hpp"
#include "io/stream_network.hpp"
#include "io/tls_session.hpp"
#include "troupe/io/connection.hpp"

namespace troupe::io::detail {

// Bytes of input buffers beyond their first initial_input, summed over a
// listener's connections; a connection whose buffer would take `used` past
// `limit` is closed instead of growing.
struct input_budget {
  explicit input_budget(std::size_t limit) : limit(limit) {}
  const std::size_t limit;
  std::atomic<std::size_t> used{0};
};

// socket_conn: conn_core (stream_network.hpp) over a TCP socket.
class socket_conn final : public conn_core, public io_object, public std::enable_shared_from_this<socket_conn> {
 public:
  // `accepted`: the server's side (it matters for TLS only).
  socket_conn(io_loop& loop, runtime& rt, asio::ip::tcp::socket socket,
              const connection_options& options, bool accepted);
  ~socket_conn() override;

  // On the I/O thread, once the actor exists.
  void start(troupe::pid owner, std::unique_ptr<conn_reader> reader);
  // A listener's count of its open connections: released (dropped) when
  // the socket closes.
  void hold_slot(std::shared_ptr<void> slot) { slot_ = std::move(slot); }
  // A listener's budget for input buffers (socket_options::
  // max_buffered_input), charged as this connection's buffer grows.
  void share_input_budget(std::shared_ptr<input_budget> budget) { budget_ = std::move(budget); }
  void shut_down(const std::string& reason) override;

  write_status write(encode_fn encode, void* codec, const void* msg, bool send_now) override;
  void send_queued() override;
  void close(bool abortive) override;
  void owner_ended() override;
  void pause_reading(bool paused) override;
  std::size_t queued_bytes() const override;
  std::string tls_error() const;
  void log_refused(write_status why) override;

 private:
  enum class state { open, closing, done };

  void start_read();
  // `synchronous`: read by read_when_ready inside this handler, not by Asio.
  void on_read(const std::error_code& ec, std::size_t n, bool synchronous);
  // The socket became readable after a short read: one non-blocking read.
  void read_when_ready(const std::error_code& waited);
  // A completion handler of this connection ran out of memory (a read
  // buffer, a parsed message, a reply): closes it abortively with a logged
  // reason, as a malformed frame does; the loop serves the others. Without
  // it the exception reached the loop, the completion was lost and the peer
  // waited forever.
  void out_of_memory(const char* while_doing) noexcept;
  void flush();
  void on_written(const std::error_code& ec);
  // Records why (the first reason wins), tells the actor, and closes:
  // abortive at once, else after flushing.
  void finish(const std::string& reason, bool error, bool abortive);
  void finish_now(bool abortive);
  void tell_owner();
  void arm_deadline();
  void on_deadline();
  void check_mailbox();
  void discard_input();
  void release_socket(bool abortive);
  void arm_close_deadline();
  bool owner_gone() const;
  void poll_mailbox();
  void post_locked(std::function<void()> fn);  // requires mu held, state != done
  void send_locked();                           // requires mu held, state open
  // TLS: seals `plain_out_` into `out_`; false (and the connection
  // closing) when the session failed. Requires mu held.
  bool seal_locked();
  // TLS: plaintext waits for a handshake still under way. Requires mu held.
  bool handshake_holds_bytes_locked() const;
  // Sends `out_` now or has the I/O thread do it. Requires mu held.
  void kick_locked();
  // TLS: the received bytes in_[in_begin_, in_end_) opened into
  // plain_in_; false when the connection ends (reported already).
  bool open_received();
  // The peer will send nothing more (its FIN, or TLS close_notify).
  void input_ended(const std::string& reason, bool error);
  // TLS failed: logs why and closes (graceful: the alert goes out first).
  void fail_tls(bool abortive);

  io_loop& loop_;
  runtime& rt_;
  connection_options options_;
  troupe::pid owner_;
  std::unique_ptr<conn_reader> reader_;
  std::optional<asio::ip::tcp::socket> socket_;
  std::shared_ptr<void> slot_;  // see hold_slot; dropped by release_socket or with the core
  int fd_ = -1;  // socket_'s descriptor, for writers' direct sends
  std::atomic<bool> write_activity_{false};  // a direct send happened (idle timeout)
  std::optional<asio::steady_timer> deadline_;
  std::optional<asio::steady_timer> mailbox_poll_;
  std::optional<asio::steady_timer> close_timer_;

  // I/O thread only.
  std::vector<char> in_;
  std::shared_ptr<input_budget> budget_;  // null: no budget
  std::size_t charged_ = 0;               // what in_ holds of budget_
  // Charges (or refunds) budget_ for input buffers of `size` bytes in all
  // (in_, and plain_in_ under TLS); false, and the connection finishes,
  // when that would pass the budget.
  bool charge_input(std::size_t size);  // conn_limits.cpp, with the timeouts
  std::size_t input_capacity() const noexcept { return in_.size() + plain_in_.capacity(); }
  std::size_t in_begin_ = 0, in_end_ = 0;
  bool reading_ = false;         // a read is in flight
  // Inside on_read only: its read took less than it asked for, and whether
  // that read was done in this handler (see start_read).
  bool last_read_short_ = false;
  bool short_read_in_handler_ = false;
  bool paused_by_mailbox_ = false;
  bool read_eof_ = false;     // reading has ended (the peer's FIN, or malformed input)
  bool peer_closed_ = false;  // the peer's FIN arrived
  bool told_owner_ = false;
  bool lingering_ = false;            // done; draining the peer's input before close
  bool close_deadline_armed_ = false;
  std::string close_reason_;
  bool close_error_ = false;
  asio::steady_timer::time_point last_activity_{};
  asio::steady_timer::time_point partial_since_{};  // zero when no partial message

  // Shared, under mu.
  mutable std::mutex mu_;
  state state_ = state::open;
  std::string out_, writing_;
  bool flush_posted_ = false;
  bool write_in_flight_ = false;
  bool want_writable_ = false;
  bool paused_by_owner_ = false;
  bool owner_ended_ = false;
  bool abort_requested_ = false;
  std::unique_ptr<tls_session> tls_;
  std::string plain_out_;  // TLS: plaintext written, not yet sealed
  bool tls_failed_ = false;
  bool close_notify_sent_ = false;

  std::string plain_in_;  // TLS, I/O thread only: opened, not yet parsed
  bool tls_partial_ = false;  // I/O thread: a record or the handshake is incomplete
  bool tls_up_ = false;       // I/O thread: the handshake ended
};

}  // namespace troupe::io::detail
