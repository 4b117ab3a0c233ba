#include "troupe/fault/application.hpp"

#include <csignal>
#include <cstring>

#include "troupe/core/stop_signals.hpp"

namespace troupe {

application::application(runtime& rt, std::string name, supervisor_flags flags, std::vector<child_spec> children)
    : rt_(rt), name_(std::move(name)), watcher_(std::make_unique<scoped_actor>(rt)) {
  top_ = spawn_supervisor(rt_, flags, std::move(children));
  watcher_->monitor(top_);  // a supervisor already gone gives a down at once
  rt_.log(log_level::info, log_component::fault, "application " + name_ + ": started (top supervisor " + top_.to_string() + ")");
}

application::~application() {
  // After a second signal nobody waits any more: the runtime's destructor
  // ends what is left.
  if (running() && !abandoned_) {
    stop();
    wait();
  }
}

void application::stop() { begin_stop("asked"); }

void application::begin_stop(const char* why) {
  // ordering: acq_rel on the exchange; the waiter reads stop_sent_ (acquire)
  // after the top supervisor's down, which comes after this send.
  if (stop_sent_.exchange(true, std::memory_order_acq_rel)) return;
  rt_.log(log_level::info, log_component::fault, "application " + name_ + ": stopping (" + why + ")");
  rt_.send_exit(top_, exit_reason::shutdown());
}

int application::run() {
  stop_signals signals;
  return wait_until_ended(&signals);
}

int application::wait() { return wait_until_ended(nullptr); }

int application::wait_until_ended(const stop_signals* signals) {
  if (ended_.load(std::memory_order_acquire)) return gave_up() ? 1 : 0;
  std::uint64_t signals_handled = 0;
  for (;;) {
    if (auto gone = watcher_->receive<down>(std::chrono::milliseconds(20))) {
      ended_.store(true, std::memory_order_release);
      if (stop_sent_.load(std::memory_order_acquire)) {
        rt_.log(log_level::info, log_component::fault, "application " + name_ + ": stopped");
        return 0;
      }
      gave_up_.store(true, std::memory_order_release);
      rt_.log(log_level::error, log_component::fault, "application " + name_ + ": its top supervisor ended (" + gone->reason.to_string() +
                                    "): it gave up restarting, and nothing of the application runs; exiting");
      return 1;
    }
    if (signals && signals->received() > signals_handled) {
      signals_handled = signals->received();
      if (signals_handled >= 2) {
        rt_.log(log_level::warning, log_component::fault,
                "application " + name_ + ": a second signal: not waiting for the stop");
        abandoned_ = true;
        return 1;
      }
      begin_stop(strsignal(signals->last()));  // nothing more if stop() began it already
    }
  }
}

}  // namespace troupe
