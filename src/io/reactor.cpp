// io::reactor: I/O threads, each running one Asio io_context.
#include "io/reactor_impl.hpp"
#include "io/stream_network.hpp"

#include "core/runtime_impl.hpp"

#include <chrono>
#include <stdexcept>
#include <system_error>
#include <string>
#include <thread>

namespace troupe::io {
namespace detail {

namespace {
// Set on a reactor's own threads and its stand-ins: stop() joins them.
thread_local const reactor_impl* serving_reactor = nullptr;
}  // namespace

reactor_impl::reactor_impl(runtime& rt, const reactor_options& options) : rt(rt), spin_(options.spin) {
  if (options.threads == 0) throw std::invalid_argument("io::reactor_options::threads must be at least 1");
  if (options.spin < duration::zero() || options.spin > std::chrono::milliseconds(1))
    throw std::invalid_argument("io::reactor_options::spin must be between 0 and 1 ms");
  for (unsigned i = 0; i < options.threads; ++i) {
    loops_.push_back(std::make_unique<io_loop>());
    guards_.push_back(asio::make_work_guard(loops_.back()->ctx));
  }
  for (unsigned i = 0; i < options.threads; ++i) {
    threads_.emplace_back([this, i] {
      serving_reactor = this;
      // Between handlers this thread runs the turns its input made ready
      // while the runtime's workers slept (config::lend_io_threads).
      io_loop& loop = *loops_[i];
      troupe::detail::lent_thread lent(*this->rt.impl().exec, [this, &loop] { call_stand_in(loop); });
      for (;;) {
        try {
          serve(loop, lent);
          return;
        } catch (const std::exception& e) {
          // A handler threw: log it and keep the loop serving the others.
          this->rt.log(log_level::error, log_component::io, std::string("io: a handler threw: ") + e.what());
        }
      }
    });
  }
}

// The loop of one I/O thread. It sleeps in epoll_wait (run_one) only after
// `spin_` without a handler to run (input, mostly; also its timers and
// posts): until then it polls (epoll_wait with a zero timeout), yielding
// its core between polls. A reply that comes back within
// the window is read by a thread that is running: a core that sleeps takes
// tens of microseconds to wake on a virtual machine, more than a round trip
// on loopback. The spin ends early when a yield gave the core to another
// thread (it took over `contested`): that thread needs the core more, and a
// loaded machine never pays for the spinning.
void reactor_impl::serve(io_loop& loop, troupe::detail::lent_thread& lent) {
  using clock = std::chrono::steady_clock;
  constexpr auto contested = std::chrono::microseconds(20);
  auto& ctx = loop.ctx;
  std::unique_lock hold(loop.serving);
  // The turns this thread lends itself to run with the loop released, so
  // that a stand-in can serve it meanwhile (the protocol above io_loop).
  auto run_lent = [&] {
    if (!lent.has_ready()) return;
    loop.in_lent_turn.store(true, std::memory_order_seq_cst);
    hold.unlock();
    struct relock {
      io_loop& loop;
      std::unique_lock<std::mutex>& hold;
      ~relock() {
        loop.in_lent_turn.store(false, std::memory_order_seq_cst);
        if (loop.stand_in_serving.load(std::memory_order_seq_cst)) asio::post(loop.ctx, [] {});
        hold.lock();
      }
    } back{loop, hold};
    lent.run_ready();
  };
  run_lent();  // what a handler that threw kept before serve() restarted
  for (;;) {
    if (ctx.run_one() == 0) return;  // stopped
    run_lent();
    if (spin_ == duration::zero()) {
      // Nothing more at hand: a busy period ends (lent_thread::idle).
      if (ctx.poll_one() == 0) lent.idle(); else run_lent();
      continue;
    }
    auto until = clock::now() + spin_;
    for (;;) {
      if (ctx.poll_one() != 0) {
        run_lent();
        until = clock::now() + spin_;
        continue;
      }
      lent.idle();
      if (ctx.stopped()) return;
      const auto before = clock::now();
      if (before >= until) break;
      std::this_thread::yield();
      if (clock::now() - before > contested) break;
    }
  }
}

void reactor_impl::call_stand_in(io_loop& loop) {
  std::lock_guard lock(loop.stand_in_mutex);
  if (loop.stand_in_exit) return;
  loop.stand_in_wanted = true;
  if (!loop.stand_in.joinable()) {
    try {
      loop.stand_in = std::thread([this, &loop] {
        serving_reactor = this;
        stand_in(loop);
      });
    } catch (const std::system_error&) {
      return;  // no thread to be had: this stall goes without a stand-in
    }
  }
  loop.stand_in_called.notify_one();
}

void reactor_impl::stand_in(io_loop& loop) {
  for (;;) {
    {
      std::unique_lock lock(loop.stand_in_mutex);
      loop.stand_in_called.wait(lock, [&] { return loop.stand_in_wanted || loop.stand_in_exit; });
      if (loop.stand_in_exit) return;
      loop.stand_in_wanted = false;
    }
    std::unique_lock hold(loop.serving, std::try_to_lock);
    if (!hold) continue;  // the own thread is back
    loop.stand_in_serving.store(true, std::memory_order_seq_cst);
    while (loop.in_lent_turn.load(std::memory_order_seq_cst) && !loop.ctx.stopped()) {
      try {
        loop.ctx.run_one_for(std::chrono::milliseconds(100));
      } catch (const std::exception& e) {
        rt.log(log_level::error, log_component::io, std::string("io: a handler threw: ") + e.what());
      }
    }
    loop.stand_in_serving.store(false, std::memory_order_seq_cst);
  }
}

reactor_impl::~reactor_impl() { stop(); }

void reactor_impl::stop() {
  if (serving_reactor == this)
    throw std::logic_error(
        "troupe: io::reactor::stop() called from one of its own I/O threads (it joins them); "
        "call it from the thread that owns the reactor");
  std::call_once(stopped_, [this] {
    for (auto& loop : loops_) {
      io_loop* l = loop.get();
      asio::post(l->ctx, [l] {
        l->stopping = true;
        std::vector<io_object*> objects(l->objects.begin(), l->objects.end());
        for (io_object* o : objects) o->shut_down("reactor stopped");
        l->ctx.stop();
      });
    }
    guards_.clear();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    for (auto& loop : loops_) {
      {
        std::lock_guard lock(loop->stand_in_mutex);
        loop->stand_in_exit = true;
      }
      loop->stand_in_called.notify_all();
      if (loop->stand_in.joinable()) loop->stand_in.join();
    }
  });
}

endpoint to_endpoint(const asio::ip::tcp::endpoint& e) {
  return {e.address().to_string(), e.port()};
}
endpoint to_endpoint(const asio::ip::udp::endpoint& e) {
  return {e.address().to_string(), e.port()};
}

asio::ip::address parse_address(const std::string& host) {
  std::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) throw std::system_error(ec, "'" + host + "' is not an IPv4 or IPv6 address");
  return address;
}

}  // namespace detail

reactor::reactor(runtime& rt, reactor_options options)
    : rt_(rt), impl_(std::make_unique<detail::reactor_impl>(rt, options)) {}

reactor::reactor(runtime& rt, std::shared_ptr<detail::stream_network> network)
    : rt_(rt), network_(std::move(network)) {
  if (!network_) throw std::invalid_argument("io::reactor: no network");
}

reactor::~reactor() { stop(); }

runtime& reactor::system() const noexcept { return rt_; }
unsigned reactor::thread_count() const noexcept {
  return impl_ ? static_cast<unsigned>(impl_->loop_count()) : 0;
}

void reactor::stop() {
  if (network_)
    network_->stop();
  else
    impl_->stop();
}

void reactor::post(std::function<void()> fn) {
  if (network_) {
    network_->post(duration::zero(), std::move(fn));
    return;
  }
  auto& loop = impl_->next_loop();
  asio::post(loop.ctx, [&loop, fn = std::move(fn)] {
    if (!loop.stopping) fn();
  });
}

void reactor::call_after(duration delay, std::function<void()> fn) {
  if (network_) {
    network_->post(delay, std::move(fn));
    return;
  }
  auto& loop = impl_->next_loop();
  asio::post(loop.ctx, [&loop, delay, fn = std::move(fn)]() mutable {
    if (loop.stopping) return;
    auto timer = std::make_shared<asio::steady_timer>(loop.ctx, delay);
    timer->async_wait([timer, &loop, fn = std::move(fn)](const std::error_code& ec) {
      if (!ec && !loop.stopping) fn();
    });
  });
}

future<std::vector<endpoint>> reactor::resolve(const std::string& host, std::uint16_t port) {
  promise<std::vector<endpoint>> done;
  auto result = done.get_future();
  if (network_) {  // a simulated network's hosts are their names
    done.try_set_value(std::vector<endpoint>{endpoint{host, port}});
    return result;
  }
  auto& loop = impl_->next_loop();
  asio::post(loop.ctx, [&loop, host, port, done]() mutable {
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(loop.ctx);
    resolver->async_resolve(
        host, std::to_string(port),
        [resolver, host, done](const std::error_code& ec,
                               const asio::ip::tcp::resolver::results_type& results) mutable {
          if (ec) {
            done.try_set_error(error(errc::io_error, "resolve " + host + ": " + ec.message()));
            return;
          }
          std::vector<endpoint> found;
          for (const auto& entry : results) found.push_back(detail::to_endpoint(entry.endpoint()));
          done.try_set_value(std::move(found));
        });
  });
  return result;
}

}  // namespace troupe::io
