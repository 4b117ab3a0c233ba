// connection: a TCP socket that is an actor.
//
// A listener (tcp.hpp) spawns one actor per accepted connection; connect()
// spawns one for an outgoing connection. The actor's behavior is the user's
// handlers, then the socket's own (behavior::or_else):
//   - each message the codec parses arrives as a plain typed message (the
//     codec's `input`), in the order the bytes arrived;
//   - closed{reason} comes last; the actor ends after handling it (unless a
//     handler of its own takes io::socket_ended, which follows closed);
//   - `conn.write(msg)` encodes and queues a reply; so does any actor that
//     sends the socket actor an outbound<output>{msg} (or the output type
//     itself when it differs from the input type);
//   - io::close_socket{} asks it to close gracefully.
// When the actor ends for any reason, the socket is flushed and closed.
//
// Back pressure, both ways:
//   - writes: bytes queued and not yet taken by the kernel are bounded. Once
//     they reach options.high_watermark, write() refuses (write_status::full,
//     nothing queued) and the actor later receives io::writable{} when the
//     queue drains below options.low_watermark. A refused outbound<> message
//     is logged with the connection's address, never buffered without bound.
//   - reads: while more than options.max_mailbox messages wait in the
//     actor's mailbox, the socket is not read (the peer's TCP window fills
//     and the peer slows down).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "troupe/core/actor.hpp"
#include "troupe/core/behavior.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/core/timer.hpp"
#include "troupe/io/codec.hpp"
#include "troupe/io/endpoint.hpp"

namespace troupe::io {

class tls_context;

// The last message a socket actor receives. `error` is true for a reset, a
// timeout, a malformed message or a failed write; false for an orderly end
// (the peer closed, or we did).
struct closed {
  // Why the connection ended, for the log ("peer closed", "idle timeout").
  std::string reason;
  // True for an abnormal end, false for an orderly one.
  bool error = false;
};
// The write queue drained below the low watermark after a refused write.
struct writable {};
// Ask a socket actor to flush and close.
struct close_socket {};
// Sent to a socket actor after closed{}; by default it ends the actor.
struct socket_ended {};
// The peer sent bytes the codec cannot parse: reading has stopped, after
// every message parsed before them. `reply` is the codec's answer (an HTTP
// 400, a RESP -ERR; may be empty). The default handler writes it and
// closes; a server with replies still due writes those first.
struct malformed {
  // The codec's parse_error reason.
  std::string reason;
  // Bytes to write the peer before closing; may be empty.
  std::string reply;
};
// A message for the socket to encode and write, from any actor.
template <class T>
struct outbound {
  // The message to encode and write.
  T value;
};

// What write() and queue() answer: whether the message was queued.
enum class write_status {
  // Queued.
  ok,      // queued; written in order
  // Refused: too many bytes are queued.
  full,    // refused: the queue is at the high watermark; wait for writable
  // Refused: the connection is going away.
  closed,  // refused: the connection is closing or closed
};

// Per-connection settings: back pressure, timeouts, TCP_NODELAY, TLS.
struct connection_options {
  // Queued bytes at which write() refuses with write_status::full (default 1 MiB).
  std::size_t high_watermark = 1u << 20;
  // Queued bytes below which a refused writer gets io::writable{} (default 256 KiB).
  std::size_t low_watermark = 256u << 10;
  // Reads pause while more than this many messages wait in the actor.
  std::size_t max_mailbox = 1024;
  // Close (closed{"idle timeout", error}) when no byte moved either way for
  // this long; zero: never.
  duration idle_timeout = duration::zero();
  // Close when a message has started arriving but is not complete after
  // this long (a slow-loris peer); zero: never.
  duration read_timeout = duration::zero();
  // A closing connection whose peer does not take the last bytes within
  // this long is reset.
  duration close_timeout = std::chrono::seconds(10);
  // After our FIN, how long to read and drop the peer's input waiting for
  // its FIN before closing.
  duration linger_timeout = std::chrono::seconds(2);
  // Disable Nagle's algorithm (small replies leave at once).
  bool no_delay = true;
  // TLS 1.3 with mutual certificate verification (tls.hpp); null: plain TCP.
  std::shared_ptr<const tls_context> tls{};
};

namespace detail {

class conn_core;  // src/io: the socket, its buffers and timers

// Turns received bytes into messages for the socket's actor. Runs on the
// connection's I/O thread only.
struct conn_reader {
  virtual ~conn_reader() = default;
  // Delivers every complete message in `bytes`; returns how many bytes
  // were used. On malformed input fills `err` and returns npos.
  virtual std::size_t on_bytes(std::string_view bytes, parse_error& err) = 0;
};

using encode_fn = void (*)(void* codec, const void* msg, std::string& out);

write_status conn_write(conn_core& core, encode_fn encode, void* codec, const void* msg, bool send_now);
write_status conn_write_bytes(conn_core& core, std::string_view bytes, bool send_now);
void conn_send_queued(conn_core& core);
void conn_close(conn_core& core, bool abortive);
void conn_owner_ended(conn_core& core);
std::size_t conn_queued_bytes(const conn_core& core);
endpoint conn_peer(const conn_core& core);
endpoint conn_local(const conn_core& core);
void conn_log_refused(conn_core& core, write_status why);
void conn_pause_reading(conn_core& core, bool paused);

// Owned by the socket actor's body: when the actor ends, the socket is
// flushed and closed.
class owner_guard {
 public:
  explicit owner_guard(std::shared_ptr<conn_core> core) : core_(std::move(core)) {}
  owner_guard(owner_guard&&) noexcept = default;
  owner_guard& operator=(owner_guard&&) noexcept = default;
  ~owner_guard() {
    if (core_) conn_owner_ended(*core_);
  }

 private:
  std::shared_ptr<conn_core> core_;
};

template <class C>
struct codec_reader final : conn_reader {
  using input_type = typename C::input;
  codec_reader(C proto, runtime& rt, troupe::pid to)
      : codec(std::move(proto)), rt(rt), to(std::move(to)) {}
  std::size_t on_bytes(std::string_view bytes, parse_error& err) override {
    std::size_t used = 0;
    while (used < bytes.size()) {
      auto step = codec.parse(bytes.substr(used));
      if (step.needs_more()) break;
      if (step.failed()) {
        err = step.error();
        return std::string_view::npos;
      }
      used += step.consumed();
      if constexpr (requires(input_type& m) { { codec.take(m, to) } -> std::same_as<bool>; }) {
        auto msg = std::move(step).message();
        if (!codec.take(msg, to)) rt.send(to, std::move(msg));
      } else {
        rt.send(to, std::move(step).message());
      }
    }
    return used;
  }
  C codec;
  runtime& rt;
  troupe::pid to;
};

}  // namespace detail

// The typed handle a socket actor's handlers use. Copyable; every copy
// names the same socket. write() may be called from any thread (it takes
// the socket's write lock), but its natural home is the socket's actor.
template <codec C>
class connection {
 public:
  // What the codec parses: the messages the socket's actor receives.
  using input = typename C::input;
  // What the codec encodes: what write() takes.
  using output = typename C::output;

  // Wraps a socket with the codec copy that encodes its writes; made by the
  // listener or connect(), not by users.
  connection(std::shared_ptr<detail::conn_core> core, C proto)
      : core_(std::move(core)), encoder_(std::make_shared<C>(std::move(proto))) {}

  // Encodes msg, queues it, and starts sending. The writer's thread sends
  // at once what the kernel takes when nothing else is being written; the
  // I/O thread sends the rest.
  write_status write(const output& msg) {
    return detail::conn_write(*core_, &encode, encoder_.get(), &msg, true);
  }
  // Queues without starting to send, to send several messages with one
  // system call: queue(a); queue(b); send_queued();
  write_status queue(const output& msg) {
    return detail::conn_write(*core_, &encode, encoder_.get(), &msg, false);
  }
  // Starts sending what queue() and queue_bytes() queued.
  void send_queued() { detail::conn_send_queued(*core_); }
  // Queues encoded bytes without sending them (send_queued() does).
  write_status queue_bytes(std::string_view bytes) { return detail::conn_write_bytes(*core_, bytes, false); }
  // Bytes already encoded (a codec's error reply).
  write_status write_bytes(std::string_view bytes) { return detail::conn_write_bytes(*core_, bytes, true); }
  // Flushes what is queued, then closes; the actor gets closed{}.
  void close() { detail::conn_close(*core_, false); }
  // Closes at once with a reset, dropping what is queued.
  void abort() { detail::conn_close(*core_, true); }

  // Stops and restarts reading from the socket (Erlang's {active, false}):
  // for an actor whose own queue of work is long, as a server with many
  // requests in flight.
  void pause_reading() { detail::conn_pause_reading(*core_, true); }
  // Restarts reading after pause_reading().
  void resume_reading() { detail::conn_pause_reading(*core_, false); }

  // Bytes queued and not yet taken by the kernel.
  std::size_t queued_bytes() const { return detail::conn_queued_bytes(*core_); }
  // The remote address.
  endpoint peer() const { return detail::conn_peer(*core_); }
  // The local address.
  endpoint local() const { return detail::conn_local(*core_); }

  // The socket's own handlers, for an actor that changes behavior:
  // `self.become(std::move(next).or_else(conn.socket_handlers(self)))`.
  behavior socket_handlers(actor& self) const {
    auto conn = *this;
    auto send_out = [conn](const output& m) mutable {
      auto status = conn.write(m);
      if (status != write_status::ok) detail::conn_log_refused(*conn.core_, status);
    };
    auto send_wrapped = [send_out](outbound<output>& m) mutable { send_out(m.value); };
    auto close_it = [conn](const close_socket&) mutable { conn.close(); };
    auto ended = [&self](const socket_ended&) { self.quit(); };
    auto ignore_closed = [](const closed&) {};
    auto ignore_writable = [](const writable&) {};
    auto refuse = [conn](const malformed& m) mutable {
      if (!m.reply.empty()) conn.write_bytes(m.reply);
      conn.close();
    };
    if constexpr (std::is_same_v<input, output>)
      return behavior{send_wrapped, close_it, ended, ignore_closed, ignore_writable, refuse};
    else
      return behavior{send_out, send_wrapped, close_it, ended, ignore_closed, ignore_writable, refuse};
  }

  // The socket underneath, for code inside the io layer.
  detail::conn_core& core() const noexcept { return *core_; }

 private:
  static void encode(void* codec, const void* msg, std::string& out) {
    static_cast<C*>(codec)->encode(*static_cast<const output*>(msg), out);
  }
  std::shared_ptr<detail::conn_core> core_;
  std::shared_ptr<C> encoder_;
};

}  // namespace troupe::io
