// ordered_replies: one connection's replies, written in request order
// though they complete in any order (pipelined requests served
// concurrently). The connection's actor owns it; io::serve and examples/kv
// use it.
//
//   auto seq = replies.reserve();            // as a request arrives
//   replies.fill(seq, answer);               // when its answer is ready
//   replies.write_ready(conn);               // queue what can go, in order
//   conn.send_queued();                      // one system call for them
//
// A reply whose `close` member is true (HTTP's Connection: close, kv's
// QUIT), or one filled as `last`, is the connection's last: the socket
// closes after it and replies still due are dropped. Writing stops while
// the connection's write queue is full (write_status::full) until
// on_writable(); after on_socket_ended() the actor may end once done().
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "troupe/io/connection.hpp"

namespace troupe::io {

// One connection's replies of type Rep, written in request order whatever
// order they are filled in.
template <class Rep>
class ordered_replies {
 public:
  // A place for the next request's reply.
  std::uint64_t reserve() {
    slots_.emplace_back();
    return next_seq_++;
  }
  // False when the reply is no longer wanted (the connection is closing).
  bool fill(std::uint64_t seq, Rep rep, bool last = false) {
    if (seq < first_seq_ || seq - first_seq_ >= slots_.size()) return false;
    auto& slot = slots_[seq - first_seq_];
    slot.rep.emplace(std::move(rep));
    slot.last = last;
    return true;
  }

  // No request after the current one is served (HTTP/1.0 without
  // keep-alive, QUIT).
  void stop_accepting() { last_request_ = true; }
  // The peer sent malformed input: the codec's `reply` goes out after the
  // replies due, then the connection closes.
  void refuse(std::string reply) {
    last_request_ = true;
    error_reply_ = std::move(reply);
  }
  // Close now: nothing more is written (a reset).
  void drop_all() { closing_ = true; }
  // True while requests are still served: not closing, no last request yet.
  bool accepting() const noexcept { return !closing_ && !last_request_; }

  // Queues the ready replies in order without sending them; closes the
  // connection after a last one. True if anything was queued.
  template <class C>
  bool write_ready(connection<C>& conn) {
    bool queued = false;
    while (!blocked_ && !closing_ && !slots_.empty() && slots_.front().rep) {
      auto& slot = slots_.front();
      bool last = slot.last || closes_after(*slot.rep);
      auto status = conn.queue(*slot.rep);
      if (status == write_status::full) {
        blocked_ = true;  // on_writable() resumes
        break;
      }
      slots_.pop_front();
      ++first_seq_;
      queued = true;
      if (last || status == write_status::closed) {
        closing_ = true;
        conn.close();
      }
    }
    if (error_reply_ && slots_.empty() && !closing_ && !blocked_) {
      if (conn.write_bytes(*error_reply_) == write_status::full) {
        blocked_ = true;
      } else {
        error_reply_.reset();
        closing_ = true;
        conn.close();
      }
    }
    if (closing_) {
      // Replies still due after the last one are not wanted: fill() says so.
      first_seq_ = next_seq_;
      slots_.clear();
    }
    return queued;
  }

  // Stops reading while more than `limit` requests are due, the write
  // queue is full, or the caller says its replies due are over a byte
  // limit (`over_bytes`), and reads again when none holds. `shared` counts
  // requests beyond one per slot, for a server whose slot holds the
  // replies of several requests (examples/kv's batched runs): a slot of
  // n requests adds n - 1.
  template <class C>
  void pause_if_behind(connection<C>& conn, std::size_t limit, std::size_t shared = 0, bool over_bytes = false) {
    bool want = blocked_ || over_bytes || slots_.size() + shared > limit;
    if (want == paused_ || closing_) return;
    paused_ = want;
    want ? conn.pause_reading() : conn.resume_reading();
  }

  // The write queue drained (io::writable{}): write_ready() may write again.
  void on_writable() noexcept { blocked_ = false; }
  // No writable{} comes after the socket's end: the next write says closed.
  void on_socket_ended() noexcept {
    ended_ = true;
    blocked_ = false;
  }
  // True once a last reply, a refusal or drop_all() closes the connection.
  bool closing() const noexcept { return closing_; }
  // Slots with a smaller sequence number have been written (or dropped).
  std::uint64_t first_due() const noexcept { return first_seq_; }
  // The socket is gone and nothing is due: the actor may end.
  bool done() const noexcept { return ended_ && slots_.empty(); }

 private:
  static bool closes_after(const Rep& rep) {
    if constexpr (requires { { rep.close } -> std::convertible_to<bool>; })
      return rep.close;
    else
      return false;
  }
  struct slot {
    std::optional<Rep> rep;
    bool last = false;
  };
  std::deque<slot> slots_;
  std::uint64_t first_seq_ = 0;  // the sequence number of slots_.front()
  std::uint64_t next_seq_ = 0;
  bool ended_ = false, blocked_ = false, paused_ = false, closing_ = false, last_request_ = false;
  std::optional<std::string> error_reply_;
};

}  // namespace troupe::io
