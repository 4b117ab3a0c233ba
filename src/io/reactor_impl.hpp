// reactor_impl: the Asio side of io::reactor. Private to src/io.
//
// One io_context per I/O thread; a socket lives on one context for its
// whole life and is touched only by that context's thread. Threads other
// than that one reach a socket only through asio::post.
//
// Shutdown (reactor::stop): a handler posted to each context closes its
// listeners and sockets (sending their actors closed{}) and then stops the
// context; the threads are joined and only then are the contexts destroyed.
// Every socket object is destroyed on its thread before its context is, and
// after a core is closed nothing posts to its context again (its state is
// checked under its lock), so no handle outlives the context it names.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "core/executor.hpp"
#include "troupe/core/runtime.hpp"
#include "troupe/io/reactor.hpp"

namespace troupe::io::detail {

// What every socket-like object on a context implements, so that stop()
// can close it on its own thread.
struct io_object {
  virtual ~io_object() = default;
  virtual void shut_down(const std::string& reason) = 0;
};

// Stand-in protocol. A loop's own thread may lend itself to a turn that
// computes for long (config::lend_io_threads); the scheduler's monitor
// then calls for the loop's stand-in thread, which serves the loop until
// the turn ends, so sockets and timers never wait on a handler.
//   1. Whoever serves `ctx` holds `serving`; only that thread runs the
//      loop's handlers, so "the loop's thread" below means the holder, and
//      the mutex orders one holder's work before the next one's.
//   2. The own thread sets `in_lent_turn` (seq_cst) and unlocks before a
//      lent turn; after it, it clears the flag (seq_cst), reads
//      `stand_in_serving` (seq_cst) and, if set, posts a no-op so that the
//      stand-in's run_one_for returns; then it locks again.
//   3. The stand-in, when called, try-locks (failing: the own thread is
//      back), sets `stand_in_serving` (seq_cst), and serves while
//      `in_lent_turn` holds (seq_cst reads). By 2 and 3 (Dekker) either it
//      sees the turn over or the own thread wakes it: the own thread never
//      waits on the stand-in for longer than one handler.
//   4. Stopping: the stand-in returns when the context stops; reactor stop
//      joins it after the own threads.
struct io_loop {
  asio::io_context ctx{1};
  // Touched only on this loop's thread.
  std::unordered_set<io_object*> objects;
  bool stopping = false;

  std::mutex serving;
  std::atomic<bool> in_lent_turn{false};
  std::atomic<bool> stand_in_serving{false};
  std::mutex stand_in_mutex;  // guards the three below
  std::condition_variable stand_in_called;
  bool stand_in_wanted = false, stand_in_exit = false;
  std::thread stand_in;
};

// An object on one loop (a listener, a UDP socket) that any thread may
// close. After shut_down has run on the loop's thread, nothing posts to the
// loop again: it may be gone.
class closable_object : public io_object {
 public:
  explicit closable_object(io_loop& loop) : loop_(loop) {}

 protected:
  // Any thread: runs self->shut_down on the loop's thread, unless done.
  void request_close(std::shared_ptr<io_object> self) {
    std::lock_guard lock(mu_);
    if (done_) return;
    asio::post(loop_.ctx, [self = std::move(self)] { self->shut_down("closed"); });
  }
  // Any thread: posts fn to the loop unless done (checked under the lock
  // the close takes, so the loop is alive while posting).
  template <class F>
  bool post_if_open(F&& fn) {
    std::lock_guard lock(mu_);
    if (done_) return false;
    asio::post(loop_.ctx, std::forward<F>(fn));
    return true;
  }
  // The loop's thread, first thing in shut_down: false if already done.
  bool begin_shut_down() {
    {
      std::lock_guard lock(mu_);
      if (done_) return false;
      done_ = true;
    }
    loop_.objects.erase(this);
    return true;
  }
  bool done() const {
    std::lock_guard lock(mu_);
    return done_;
  }

  io_loop& loop_;

 private:
  mutable std::mutex mu_;
  bool done_ = false;
};

class reactor_impl {
 public:
  reactor_impl(runtime& rt, const reactor_options& options);
  ~reactor_impl();

  io_loop& next_loop() noexcept {
    return *loops_[next_.fetch_add(1, std::memory_order_relaxed) % loops_.size()];
  }
  io_loop& loop(std::size_t i) noexcept { return *loops_[i]; }
  std::size_t loop_count() const noexcept { return loops_.size(); }
  void stop();

  runtime& rt;

 private:
  void serve(io_loop& loop, troupe::detail::lent_thread& lent);
  // On the scheduler's monitor thread: a turn lent by `loop`'s thread stalls.
  void call_stand_in(io_loop& loop);
  void stand_in(io_loop& loop);

  const duration spin_;
  std::vector<std::unique_ptr<io_loop>> loops_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
  std::once_flag stopped_;
};

endpoint to_endpoint(const asio::ip::tcp::endpoint& e);
endpoint to_endpoint(const asio::ip::udp::endpoint& e);
// Throws std::system_error for a host that is not a numeric address.
asio::ip::address parse_address(const std::string& host);

}  // namespace troupe::io::detail
