// actor: what a handler sees of its own actor ("self").
//
// Every method here is owner-only: call it from the actor's own handlers or
// coroutine, never from another thread (use runtime or scoped_actor there).
//
//   self.send(to, msg)              fire and forget; FIFO per sender->receiver
//   self.reply(value)               answer the message being handled
//   self.request(to, msg, 2s).then(on_reply, on_error)
//   self.become(next_behavior)      switch state after this message
//   self.quit(reason)               end after this message
//   self.send_after(100ms, to, msg) / self.send_interval(1s, to, msg)
#pragma once

#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

#include "troupe/core/behavior.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/exit_reason.hpp"
#include "troupe/core/message.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/signals.hpp"
#include "troupe/core/timer.hpp"

namespace troupe {
class actor;
class behavior;
class runtime;
struct spawn_options;

namespace detail {
// A class whose objects are an actor's state (runtime::spawn<C>).
template <class C>
concept actor_class = requires(C& c, actor& self) {
  { c.make_behavior(self) } -> std::same_as<behavior>;
};
// Whether a spawn's arguments start with spawn_options (of any value
// category): then they are the options, never the constructor's first.
template <class... Args>
inline constexpr bool leads_with_options = false;
template <class A, class... Rest>
inline constexpr bool leads_with_options<A, Rest...> = std::is_same_v<std::decay_t<A>, spawn_options>;
}  // namespace detail

// What happened to a send. Sends to dead actors are not errors in the actor
// model (the message goes to dead letters, counted); a full bounded mailbox
// with the `reject` policy is the one case the sender must act on.
enum class send_status { ok, dead_letter, mailbox_full };

namespace detail {

// A type-erased continuation for one outstanding request. Runs in the
// requesting actor's context, never concurrently with its handlers.
struct reply_handler {
  virtual ~reply_handler() = default;
  virtual void on_reply(actor& self, message& reply) = 0;
  virtual void on_error(actor& self, error err) = 0;
};

template <class R>
result<R> take_reply(message& reply) {
  if (reply.key != type_key_of<R>)
    return error(errc::bad_reply_type, "got " + reply.type_name());
  return result<R>(std::move(reply.as<R>()));
}

void quit_on_unhandled_error(actor& self, const error& err);

template <class R, class OnReply, class OnError>
struct reply_handler_of final : reply_handler {
  reply_handler_of(OnReply f, OnError g) : on_reply_fn(std::move(f)), on_error_fn(std::move(g)) {}
  void on_reply(actor& self, message& reply) override {
    auto value = take_reply<R>(reply);
    if (value)
      on_reply_fn(std::move(*value));
    else
      on_error(self, value.error());
  }
  void on_error(actor& self, error err) override {
    if constexpr (std::is_same_v<OnError, std::nullptr_t>)
      quit_on_unhandled_error(self, err);
    else
      on_error_fn(std::move(err));
  }
  OnReply on_reply_fn;
  OnError on_error_fn;
};

}  // namespace detail

// The pending answer of self.request(...). Install a continuation with
// `then`; without one the reply is discarded. Awaitable in coroutine actors
// (see task.hpp): `result<R> r = co_await self.request<R>(to, msg, 1s);`
template <class R>
class [[nodiscard]] request_handle {
 public:
  // Made by actor::request: the requesting actor and the request's id.
  request_handle(actor& self, std::uint64_t id) : self_(&self), id_(id) {}

  // on_reply(R) runs with the reply; on_error(error) with a timeout, a dead
  // receiver, a missing handler or a reply of another type. Without
  // on_error, an error ends the requesting actor (let it crash).
  template <class OnReply, class OnError = std::nullptr_t>
  void then(OnReply on_reply, OnError on_error = nullptr) &&;

  // The actor that sent the request.
  actor& self() const noexcept { return *self_; }
  // The request's id, unique within the requesting actor.
  std::uint64_t id() const noexcept { return id_; }

 private:
  actor* self_;
  std::uint64_t id_;
};

// A request taken out of the current handler to be answered later, maybe
// from another message's handler, or by another actor: it is a value (the
// requester, the request) that may be moved into a message to another
// actor of this runtime, which calls deliver() itself. Use it from one
// actor at a time. If it is destroyed without deliver(), the requester
// gets errc::no_reply: a request never hangs.
class response_promise {
 public:
  response_promise() = default;
  // A promise to answer request `id` of `requester` as `responder` (id 0:
  // a plain message, answered with a message to `requester`).
  response_promise(pid requester, pid responder, std::uint64_t id)
      : requester_(std::move(requester)), responder_(std::move(responder)), id_(id) {}
  // Takes over the duty to answer; `other` owes nothing any more.
  response_promise(response_promise&& other) noexcept
      : requester_(std::move(other.requester_)),
        responder_(std::move(other.responder_)),
        id_(std::exchange(other.id_, 0)) {}
  // Takes over `other`'s duty; a request this one still owed gets errc::no_reply.
  response_promise& operator=(response_promise&& other) noexcept;
  ~response_promise();

  // Answers with `value` (for a plain message: sends it to the sender).
  template <class T>
  void deliver(T&& value) {
    deliver_message(detail::make_message(std::forward<T>(value)));
  }
  // Fails the request with `err` (nothing is sent for a plain message).
  void deliver_error(error err);
  // Whether a request still waits for this promise's answer.
  bool pending() const noexcept { return id_ != 0; }

 private:
  void deliver_message(detail::message* reply);
  pid requester_;
  pid responder_;
  std::uint64_t id_ = 0;
};

// The running actor, as its handlers see it (`self`): its pid, the message
// being handled, sends, requests, replies, spawns, links and monitors,
// timers, become and quit. Valid only on the actor's own thread.
class actor {
 public:
  actor(const actor&) = delete;
  actor& operator=(const actor&) = delete;

  // This actor's own pid.
  troupe::pid pid() const noexcept;
  // The runtime this actor runs in.
  runtime& system() const noexcept;
  // Sender of the message being handled (null for messages sent from
  // outside any actor).
  const troupe::pid& sender() const noexcept;

  // Sends `msg` to `to`, this actor as its sender (fire and forget).
  template <class T>
  send_status send(const troupe::pid& to, T&& msg) {
    return send_message(to, detail::make_message(std::forward<T>(msg)));
  }

  // Answers the message being handled: a reply to its request, or, for a
  // plain message, a message to its sender.
  template <class T>
  void reply(T&& value) {
    detail::reply_with(*this, detail::make_message(std::forward<T>(value)));
  }
  // Takes the request being handled out of this handler, to answer later
  // (see response_promise); the handler then owes no reply.
  response_promise make_response_promise();
  // Hands the request being handled on to `to` with `msg` (CAF's
  // delegate): `to`'s answer, or its error (no handler, a crash, its end),
  // goes straight to the requester, and this handler owes no reply (what
  // it returns is dropped). For a plain message, `msg` goes to `to` as if
  // from the message's sender. A request from another node cannot be
  // handed to an actor on a third node (the requester gets no_handler,
  // saying so): answer it with a response_promise.
  template <class T>
  send_status delegate(const troupe::pid& to, T&& msg) {
    return delegate_message(to, detail::make_message(std::forward<T>(msg)));
  }

  // Handles messages with `next` from the next message on.
  void become(behavior next);
  // Ends this actor with `reason` once the message in hand is handled;
  // a later quit keeps the first reason.
  void quit(exit_reason reason = exit_reason::normal());

  // Links, monitors and exit signals (see signals.hpp for the rules).
  void link(const troupe::pid& other);
  // Removes the link to `other`, if there is one.
  void unlink(const troupe::pid& other);
  // Watches `target`: a `down` arrives when it ends (at once if it has).
  monitor_ref monitor(const troupe::pid& target);
  // Cancels a monitor; `flush` also drops its `down` if already queued.
  void demonitor(monitor_ref ref, bool flush = false);
  // On: exit signals arrive as exit_signal messages instead of ending
  // this actor (except an untrappable `kill`).
  void trap_exit(bool on);
  // Sends `target` an exit signal from this actor (`kill` is untrappable).
  void send_exit(const troupe::pid& target, exit_reason reason);
  // Spawns an actor in this actor's runtime: the forms and options of
  // runtime::spawn. Its setup runs in its own first turn, never here.
  template <class F, class... Args>
    requires(!detail::actor_class<std::decay_t<F>> && !std::is_same_v<std::decay_t<F>, spawn_options>)
  troupe::pid spawn(F&& fn, Args&&... args);
  // The same with spawn_options first.
  template <class F, class... Args>
    requires(!detail::actor_class<std::decay_t<F>>)
  troupe::pid spawn(const spawn_options& options, F&& fn, Args&&... args);
  // Spawns an actor of class C, made as C(args...).
  template <detail::actor_class C, class... Args>
    requires(!detail::leads_with_options<Args...>)
  troupe::pid spawn(Args&&... args);
  // The same with spawn_options first.
  template <detail::actor_class C, class... Args>
  troupe::pid spawn(const spawn_options& options, Args&&... args);
  // Spawn with a link / a monitor in place before the child runs; with
  // spawn_options too (detached, mailbox bound, name).
  template <class F, class... Args>
    requires(!std::is_same_v<std::decay_t<F>, spawn_options>)
  troupe::pid spawn_link(F&& fn, Args&&... args);
  // spawn_link with spawn_options first.
  template <class F, class... Args>
  troupe::pid spawn_link(const spawn_options& options, F&& fn, Args&&... args);
  // Spawns a child monitored by this actor before it runs: its pid and
  // the monitor's ref.
  template <class F, class... Args>
  std::pair<troupe::pid, monitor_ref> spawn_monitor(F&& fn, Args&&... args);

  // Sends `msg` to `to` as a request; the reply, or an error after
  // `timeout` (config::default_request_timeout when not given), goes to
  // the handle's continuation. R is the reply type (void: on_reply's).
  template <class R = void, class T>
  request_handle<R> request(const troupe::pid& to, T&& msg, duration timeout = default_timeout) {
    return request_handle<R>(
        *this, send_request(to, detail::make_message(std::forward<T>(msg)), timeout));
  }

  // Sends `msg` to `to` once, after `delay`; the handle cancels it.
  template <class T>
  timer_handle send_after(duration delay, const troupe::pid& to, T&& msg) {
    return schedule_send(delay, duration::zero(), to,
                         detail::make_message(std::forward<T>(msg)), nullptr);
  }
  // Sends a copy of `msg` every `period` until the handle is cancelled or
  // this actor ends.
  template <class T>
  timer_handle send_interval(duration period, const troupe::pid& to, T msg) {
    auto factory = [m = std::move(msg)] { return detail::make_message(m); };
    return schedule_send(period, period, to, nullptr, std::move(factory));
  }

  // Coroutine actors only (task.hpp): a selective receive of the given types.
  template <class... Ts>
  auto receive(duration timeout = infinite);

  // Internal: used by request_handle and the coroutine awaiters.
  void set_reply_handler(std::uint64_t id, std::unique_ptr<detail::reply_handler> handler);
  // Forgets request `id` (its handler never runs; a reply still on its way
  // goes to dead letters as late). False if it was no longer pending.
  bool cancel_request(std::uint64_t id);

 protected:
  actor() = default;
  ~actor() = default;

 private:
  friend void detail::reply_with(actor&, detail::message*);
  send_status send_message(const troupe::pid& to, detail::message* msg);
  send_status delegate_message(const troupe::pid& to, detail::message* msg);
  template <class F, class... Args>
  troupe::pid spawn_watched(const spawn_options& options, bool link, monitor_ref ref, F&& fn,
                            Args&&... args);
  void watch_spawned(const troupe::pid& child, bool link, monitor_ref ref);
  monitor_ref next_monitor_ref();
  std::uint64_t send_request(const troupe::pid& to, detail::message* msg, duration timeout);
  timer_handle schedule_send(duration delay, duration period, const troupe::pid& to,
                             detail::message* once, std::function<detail::message*()> factory);
};

namespace detail {
// The reply type: R, or for request<void>(...) the parameter of on_reply
// (looked at only then, so that on_reply may be generic when R is given).
template <class R, class OnReply>
struct reply_type_of {
  using type = R;
};
template <class OnReply>
struct reply_type_of<void, OnReply> {
  static_assert(handler_traits<OnReply>::valid,
                "troupe: request(...).then(on_reply) without a reply type: on_reply takes exactly one "
                "parameter, the reply (or name the type: self.request<int>(to, msg, 1s))");
  using type = typename handler_traits<OnReply>::arg;
};
}  // namespace detail

// Installs the continuations (see the declaration in request_handle).
template <class R>
template <class OnReply, class OnError>
void request_handle<R>::then(OnReply on_reply, OnError on_error) && {
  using reply_type = typename detail::reply_type_of<R, OnReply>::type;
  self_->set_reply_handler(
      id_, std::make_unique<detail::reply_handler_of<reply_type, OnReply, OnError>>(
               std::move(on_reply), std::move(on_error)));
}

}  // namespace troupe
