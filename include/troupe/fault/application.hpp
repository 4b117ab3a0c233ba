// application: a named supervision tree and the process's life around it,
// after OTP's permanent application.
//
//   int main() {
//     troupe::runtime rt;
//     troupe::application shop(rt, "shop", {.strategy = troupe::strategy::rest_for_one},
//                              {troupe::child_spec::of("db", make_db),
//                               troupe::child_spec::of("web", make_web)});
//     return shop.run();  // 0 after SIGINT/SIGTERM or stop(); 1 if the tree gave up
//   }
//
// Steps, and the failure each one survives:
// 1. The constructor starts the top supervisor, which starts the children
//    in order. A child that crashes is restarted by the tree's rules.
// 2. run() waits for SIGINT or SIGTERM (stop_signals.hpp), stop() from any
//    thread, or the top supervisor ending by itself: it reached its restart
//    intensity, and nothing of the application runs any more. That is
//    logged as an error and run() returns 1, so `return app.run();` ends
//    the process non-zero and its service manager can restart it (in OTP a
//    permanent application's end takes the node down; living on with
//    nothing running is the failure this prevents).
// 3. The orderly stop sends the top supervisor `shutdown`: it stops its
//    children in reverse start order, each within its shutdown time and
//    then killed, nested supervisors alike; run() returns 0 once it has
//    ended. A second signal during the stop stops waiting: run() returns 1
//    and the runtime's destructor ends whatever is left.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "troupe/core/runtime.hpp"
#include "troupe/core/scoped_actor.hpp"
#include "troupe/fault/supervisor.hpp"

namespace troupe {

// A named top supervisor and the process's life around it (above).
class application {
 public:
  // Starts the top supervisor `name` over `children` under `flags` (step 1).
  application(runtime& rt, std::string name, supervisor_flags flags, std::vector<child_spec> children);
  // Stops the tree in order (step 3) if it still runs, and waits for it.
  ~application();
  application(const application&) = delete;
  application& operator=(const application&) = delete;

  // The application's name, as its logs give it.
  const std::string& name() const noexcept { return name_; }
  // The top supervisor's pid.
  const troupe::pid& supervisor() const noexcept { return top_; }

  // Steps 2 and 3 with SIGINT and SIGTERM: the exit status for main().
  int run();
  // The same without touching signals (a program that handles them).
  int wait();
  // Begins the orderly stop (step 3); run() or wait() return 0 once the
  // tree has ended. Any thread, an actor of the tree included (it does not
  // wait).
  void stop();
  // The top supervisor ended by itself (step 2).
  bool gave_up() const noexcept { return gave_up_.load(std::memory_order_acquire); }
  // False once the top supervisor has ended.
  bool running() const noexcept { return !ended_.load(std::memory_order_acquire); }

 private:
  int wait_until_ended(const class stop_signals* signals);
  void begin_stop(const char* why);

  runtime& rt_;
  std::string name_;
  troupe::pid top_;
  std::unique_ptr<scoped_actor> watcher_;  // monitors top_
  std::atomic<bool> stop_sent_{false};  // the orderly stop has begun
  bool abandoned_ = false;              // run() gave up waiting (a second signal)
  std::atomic<bool> ended_{false};
  std::atomic<bool> gave_up_{false};
};

}  // namespace troupe
