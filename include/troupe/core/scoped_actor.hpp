// scoped_actor: an actor owned by a plain thread (main, a test, a blocking
// library's callback), which waits by blocking that thread.
//
//   scoped_actor self{rt};
//   result<int> sum = self.request<int>(adder, add{1, 2}, 1s);
//   auto m = self.receive<done, failed>(2s);   // selective, blocking
//
// Owner-only: use it from the thread that made it. It ends (and its mailbox
// goes to dead letters) when it goes out of scope.
#pragma once

#include <cstddef>
#include <utility>

#include "troupe/core/actor.hpp"
#include "troupe/core/fwd.hpp"
#include "troupe/core/receive.hpp"
#include "troupe/core/signals.hpp"

namespace troupe {

// A plain thread's actor (see above): it sends, requests and receives
// by blocking its thread.
class scoped_actor {
 public:
  // A new actor of `rt`, owned by the calling thread.
  explicit scoped_actor(runtime& rt);
  ~scoped_actor();
  scoped_actor(const scoped_actor&) = delete;
  scoped_actor& operator=(const scoped_actor&) = delete;

  // This actor's pid, for others to send to.
  troupe::pid pid() const noexcept;
  // Sends `msg` to `to`, this actor as its sender.
  template <class T>
  send_status send(const troupe::pid& to, T&& msg) {
    return send_message(to, detail::make_message(std::forward<T>(msg)));
  }

  // Sends `msg` as a request and blocks until the reply, an error, or the
  // timeout (config::default_request_timeout when not given).
  template <class R, class T>
  result<R> request(const troupe::pid& to, T&& msg, duration timeout = default_timeout) {
    detail::message* reply = request_message(to, detail::make_message(std::forward<T>(msg)), timeout);
    if (reply->kind == detail::message_kind::error_reply) {
      error err = std::move(reply->as<error>());
      delete reply;
      return err;
    }
    auto value = detail::take_reply<R>(*reply);
    delete reply;
    return value;
  }

  // Blocks until a message of one of Ts... arrives (others stay queued in
  // order) or the timeout passes (errc::timeout). A request taken this way
  // is answered with errc::no_reply: a scoped actor does not serve requests.
  template <class... Ts>
  result<typename detail::received<Ts...>::value_type> receive(duration timeout = infinite) {
    using rx = detail::received<Ts...>;
    detail::message* msg = receive_message(rx::keys, rx::count, timeout);
    if (!msg) return error(errc::timeout);
    auto value = rx::take(*msg);
    delete msg;
    return value;
  }

  // Messages waiting in this actor's mailbox.
  std::size_t mailbox_size() const noexcept;

  // Links and monitors, as an actor has them. A scoped actor always traps
  // exits: a linked actor's end arrives as an `exit_signal` message (even
  // `kill`: a plain thread cannot be ended by a signal), and a monitored
  // one's as a `down`; take them with receive<exit_signal>() or
  // receive<down>(). When the scoped actor goes out of scope, its links
  // get an exit signal (reason normal) and its watchers a `down`.
  void link(const troupe::pid& other);
  // Removes the link to `other`, if there is one.
  void unlink(const troupe::pid& other);
  // Sends `target` an exit signal from this actor (as actor::send_exit):
  // it follows what this actor sent `target` before.
  void send_exit(const troupe::pid& target, exit_reason reason);
  // Watches `target`: a `down` arrives when it ends (at once if it has).
  monitor_ref monitor(const troupe::pid& target);
  // Also drops its `down` if it has already arrived.
  void demonitor(monitor_ref ref);

 private:
  send_status send_message(const troupe::pid& to, detail::message* msg);
  detail::message* request_message(const troupe::pid& to, detail::message* msg, duration timeout);
  detail::message* receive_message(const type_key* keys, std::size_t count, duration timeout);
  detail::actor_cell* cell_;
};

}  // namespace troupe
