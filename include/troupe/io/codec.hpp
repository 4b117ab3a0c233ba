// codec: the adapter between a socket's bytes and typed messages.
//
// A codec is a small stateful object, one per connection:
//
//   struct my_codec {
//     using input = request;    // what parse() produces from received bytes
//     using output = response;  // what encode() turns into bytes to send
//     io::parsed<request> parse(std::string_view bytes);
//     void encode(const response& msg, std::string& out);  // appends to out
//   };
//
// parse() sees every received byte not yet consumed, from the start of the
// next message. It answers one of:
//   - a message and how many bytes it used (the rest is offered again);
//   - need_more: nothing complete yet (the same bytes, plus more, come back);
//   - parse_error{reason, reply}: the input is malformed or over a limit. The
//     connection writes `reply` (may be empty: an HTTP 400, a RESP -ERR),
//     logs the reason, and closes; other connections are not affected.
// A codec may keep state between calls (to resume a long body, say), but
// must give the same answer as if it had re-read the bytes from the start.
// Outside the codec everything is typed: actors never see raw bytes.
//
// A connection encodes with one copy of its codec (on the writer's thread)
// and parses with another (on the I/O thread). A codec whose parse needs to
// know what was encoded (an HTTP client: the response to a HEAD has no
// body) shares that state between copies through a pointer, and offers
// `void begin_connection()`: called on a fresh copy for each connection
// before the two copies are made from it, so each connection's state is
// its own.
//
// A codec may also offer `bool take(input& msg, const troupe::pid& actor)`:
// called on the I/O thread for each parsed message before it goes to the
// socket's actor; true means the codec handled it (delivered it straight to
// where it is going), and the actor never sees it. For protocols whose
// messages are routed rather than handled by the connection (the net
// layer's node links): one thread hop fewer per message.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace troupe::io {

// parse()'s answer when no whole message has arrived yet.
struct need_more {};

// parse()'s answer for malformed input or input over a limit: the
// connection sends `reply`, logs `reason`, and closes.
struct parse_error {
  // Why the input was refused.
  std::string reason;  // for the log and closed{reason}
  // What the peer is told before the close (an HTTP 400, a RESP -ERR).
  std::string reply;   // bytes to send the peer before closing; may be empty
};

// What a codec's parse() answers: a message of type T and the bytes it used,
// need_more, or a parse_error. Exactly one of the three.
template <class T>
class parsed {
 public:
  // Nothing complete yet: the same bytes, plus more, come back.
  parsed(need_more) noexcept {}
  // The input is malformed or over a limit: the connection closes.
  parsed(parse_error err) : state_(std::move(err)) {}
  // A whole message, built from the first `consumed` bytes.
  parsed(T msg, std::size_t consumed) : state_(std::move(msg)), consumed_(consumed) {}

  // True when a message was parsed.
  bool has_message() const noexcept { return state_.index() == 1; }
  // True when more bytes are needed.
  bool needs_more() const noexcept { return state_.index() == 0; }
  // True when parsing failed; error() says why.
  bool failed() const noexcept { return state_.index() == 2; }

  // The parsed message; only when has_message().
  T& message() & { return std::get<1>(state_); }
  // The parsed message, moved out; only when has_message().
  T&& message() && { return std::get<1>(std::move(state_)); }
  // How many bytes the message used; 0 unless has_message().
  std::size_t consumed() const noexcept { return consumed_; }
  // The failure; only when failed().
  const parse_error& error() const { return std::get<2>(state_); }

 private:
  std::variant<need_more, T, parse_error> state_;
  std::size_t consumed_ = 0;
};

template <class C>
concept codec = std::movable<C> && requires(C& c, std::string_view bytes,
                                           const typename C::output& out, std::string& buf) {
  typename C::input;
  typename C::output;
  { c.parse(bytes) } -> std::same_as<parsed<typename C::input>>;
  c.encode(out, buf);
};

}  // namespace troupe::io
