// Servers and clients as functions: a codec plus a service.
//
//   service<http::request, http::response> app = stats | timeout(...) | routes;
//   auto server = io::serve<http::server_codec>(io, {"127.0.0.1", 8080}, app);
//
//   auto redis = io::client<resp::codec>(io, {"127.0.0.1", 6379}).get();
//   future<resp::value> pong = redis(resp::command({"PING"}));
//
// serve(): each connection is an actor that calls the service for each
// request as it is parsed (pipelined requests run concurrently) and writes
// the replies in request order. A failed future is answered with
// on_error(err) when given, else the connection closes with the error as
// its reason. When a request says its connection ends after it
// (`keep_alive()` false) or a reply says so (`close` true), the connection
// flushes and closes after that reply. A request may shape its reply's
// framing (`req.shape()`, `rep.fit(shape)`: an HTTP HEAD's reply goes
// without its body). While more than max_in_flight
// requests wait for replies, or the write queue is full, the connection
// stops reading.
//
// client(): one connection; requests are written as they are called and
// matched to replies in order (the protocol must answer in order, as RESP
// and HTTP/1.1 do). When the connection ends, calls in flight and later
// calls fail with errc::closed; make a new client to reconnect.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "troupe/async/future.hpp"
#include "troupe/async/service.hpp"
#include "troupe/io/ordered_replies.hpp"
#include "troupe/io/tcp.hpp"

namespace troupe::io {

// How serve() runs its connections; Rep is the service's reply type.
template <class Rep>
struct serve_options {
  // Server defaults: timeouts and a connection cap (server_socket_options).
  socket_options socket = server_socket_options();
  // Requests a connection may have awaiting replies before it stops reading.
  std::size_t max_in_flight = 256;
  // The reply for a failed request; empty: close the connection.
  std::function<Rep(const error&)> on_error;
};

namespace detail {

template <class Req>
bool request_keeps_alive(const Req& req) {
  if constexpr (requires { { req.keep_alive() } -> std::convertible_to<bool>; })
    return req.keep_alive();
  else
    return true;
}

template <class Rep>
void mark_closing(Rep& rep) {
  if constexpr (requires { rep.close = true; }) rep.close = true;
}

// What the request asks of its reply's framing (HTTP: a HEAD's reply has
// no body); nothing for a protocol without such rules.
struct no_shape {};
template <class Req>
auto reply_shape_of(const Req& req) {
  if constexpr (requires { req.shape(); })
    return req.shape();
  else
    return no_shape{};
}
template <class Shape, class Rep>
void fit_reply(const Shape& shape, Rep& rep) {
  if constexpr (requires { rep.fit(shape); }) rep.fit(shape);
}

// Sent by a connection's actor to itself: the replies queued meanwhile go
// out in one system call (pipelined requests answered in a burst).
struct send_replies {};

}  // namespace detail

// Listens at `at` and answers each request a connection parses with svc,
// replies in request order; closing the returned listener stops accepting.
template <codec C, class Req = typename C::input, class Rep = typename C::output>
listener serve(reactor& io, const endpoint& at, service<Req, Rep> svc,
               serve_options<Rep> options = {}, C proto = C{}) {
  auto on_connection = [svc, options](actor& self, connection<C> conn) -> behavior {
    struct state {
      ordered_replies<Rep> replies;
      bool send_scheduled = false;  // a send_replies message is on its way to us
    };
    auto st = std::make_shared<state>();
    auto drain = [st, conn, &self, limit = options.max_in_flight]() mutable {
      bool queued = st->replies.write_ready(conn);
      if (queued && !st->send_scheduled && !st->replies.closing()) {
        // Not at once: continuations and requests already in the mailbox
        // come first, and their replies join these in one system call.
        st->send_scheduled = true;
        self.send(self.pid(), detail::send_replies{});
      }
      st->replies.pause_if_behind(conn, limit);
      if (st->replies.done()) self.quit();
    };
    return {
        [svc, options, st, drain, conn](Req& req) mutable {
          if (!st->replies.accepting()) return;  // after the last request, the rest are dropped
          bool keep = detail::request_keeps_alive(req);
          auto shape = detail::reply_shape_of(req);
          if (!keep) st->replies.stop_accepting();
          std::uint64_t seq = st->replies.reserve();
          svc(std::move(req)).respond([st, drain, seq, keep, shape, options, conn](const result<Rep>& r) mutable {
            // Runs in this connection's actor (attached inside it).
            if (!r && !options.on_error) {
              st->replies.drop_all();
              conn.abort();
              drain();
              return;
            }
            Rep rep = r ? *r : options.on_error(r.error());
            if (!keep) detail::mark_closing(rep);
            detail::fit_reply(shape, rep);
            st->replies.fill(seq, std::move(rep), !keep);
            drain();
          });
        },
        [st, conn](detail::send_replies) mutable {
          st->send_scheduled = false;
          conn.send_queued();
        },
        [st, drain](const malformed& m) mutable {
          st->replies.refuse(m.reply);
          drain();
        },
        [st, drain](const writable&) mutable {
          st->replies.on_writable();
          drain();
        },
        [st, drain](const socket_ended&) mutable {
          // Replies still due are written before the socket closes.
          st->replies.on_socket_ended();
          drain();
        },
    };
  };
  return listen<C>(io, at, std::move(on_connection), options.socket, std::move(proto));
}

namespace detail {

template <class Req, class Rep>
struct client_call {
  Req request;
  promise<Rep> reply;
};

}  // namespace detail

// Connects to `to`; the future's service writes each request on that one
// connection and answers with the reply that comes back in its turn.
template <codec C, class Req = typename C::output, class Rep = typename C::input>
future<service<Req, Rep>> client(reactor& io, const endpoint& to, socket_options options = {},
                                 C proto = C{}) {
  using call = detail::client_call<Req, Rep>;
  auto on_connection = [](actor&, connection<C> conn) -> behavior {
    auto waiting = std::make_shared<std::deque<promise<Rep>>>();
    return {
        [conn, waiting](call& c) mutable {
          auto status = conn.write(c.request);
          if (status == write_status::ok)
            waiting->push_back(std::move(c.reply));
          else
            c.reply.try_set_error(error(status == write_status::full ? errc::overloaded : errc::closed,
                                        "connection to " + conn.peer().to_string()));
        },
        [waiting](Rep& rep) {
          if (waiting->empty()) return;  // an unasked reply: ignore
          auto p = std::move(waiting->front());
          waiting->pop_front();
          p.try_set_value(std::move(rep));
        },
        [waiting](const closed& why) {
          for (auto& p : *waiting) p.try_set_error(error(errc::closed, why.reason));
          waiting->clear();
        },
    };
  };
  runtime* rt = &io.system();
  return connect<C>(io, to, std::move(on_connection), std::move(options), std::move(proto))
      .map([rt](const troupe::pid& conn) {
        return service<Req, Rep>([rt, conn](Req req) -> future<Rep> {
          promise<Rep> reply;
          auto answer = reply.get_future();
          if (rt->send(conn, call{std::move(req), reply}) != send_status::ok)
            reply.try_set_error(error(errc::closed, "the connection has ended"));
          return answer;
        });
      });
}

}  // namespace troupe::io
