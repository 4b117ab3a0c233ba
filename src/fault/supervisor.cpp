// A supervisor is a coroutine actor that traps exits. Its loop takes one
// event at a time (a child's or parent's exit signal, or a request), turns
// it into a plan (children to stop, in reverse start order; children to
// start, in start order; whether to end), then carries the plan out.
// Stopping waits for each child's exit signal with a selective receive;
// other exit signals seen meanwhile are kept and handled next, in order.
#include "troupe/fault/supervisor.hpp"

#include <algorithm>
#include <deque>
#include <variant>

#include "troupe/core/task.hpp"
#include "troupe/core/trace_probe.hpp"

namespace troupe {
namespace {

struct child {
  child_spec spec;
  pid running;
  std::uint64_t restarts = 0;  // since this supervisor started (which_children)
  std::string last_exit;       // how its last run ended; empty if it never did
};

bool restarts_after(const child_spec& spec, const exit_reason& reason) {
  switch (spec.restart) {
    case restart_policy::permanent: return true;
    case restart_policy::temporary: return false;
    case restart_policy::transient:
      return reason.what() != exit_reason::kind::normal &&
             reason.what() != exit_reason::kind::shutdown;
  }
  return false;
}

using event = std::variant<std::monostate, exit_signal, which_children, count_children, start_child,
                           terminate_child>;

// `parent`: the supervisor above (null at the top). Its exit ends this one,
// as does an exit signal sent from outside any actor (rt.send_exit); exit
// signals from other strangers are ignored, as in OTP.
task supervise(actor& self, supervisor_flags flags, std::vector<child_spec> specs, pid parent) {
  self.trap_exit(true);
  auto log = [&self](const std::string& text) {
    self.system().log(log_level::info, log_component::fault, "supervisor " + self.pid().to_string() + ": " + text,
                      self.pid());
  };
  std::vector<child> kids;
  for (auto& spec : specs) {
    kids.push_back(child{spec, {}, 0, {}});
    kids.back().running = kids.back().spec.start(self);
    log("started " + spec.id + " as " + kids.back().running.to_string());
  }
  std::deque<time_point> restarts;
  std::deque<exit_signal> pending;  // exits seen while stopping another child

  for (;;) {
    event ev;
    if (!pending.empty()) {
      ev = pending.front();
      pending.pop_front();
    } else {
      auto next = co_await self.receive<exit_signal, which_children, count_children, start_child,
                                        terminate_child>();
      if (!next) continue;
      std::visit([&ev](auto&& m) { ev = std::move(m); }, std::move(*next));
    }

    std::vector<std::size_t> stop;   // indices, stopped in this order
    std::vector<std::size_t> start;  // indices, started in this order
    bool end_after = false;
    exit_reason end_reason = exit_reason::shutdown();
    response_promise answer;
    bool answer_when_stopped = false;

    auto stop_all_running = [&] {
      for (std::size_t i = kids.size(); i-- > 0;)
        if (kids[i].running) stop.push_back(i);
    };

    if (auto* q = std::get_if<which_children>(&ev)) {
      (void)q;
      std::vector<child_info> info;
      for (auto& k : kids) info.push_back({k.spec.id, k.running, k.spec.kind, k.restarts, k.last_exit});
      self.reply(std::move(info));
      continue;
    }
    if (std::get_if<count_children>(&ev)) {
      child_counts c;
      for (auto& k : kids) {
        ++c.specs;
        c.active += k.running ? 1 : 0;
        (k.spec.kind == child_kind::supervisor ? c.supervisors : c.workers) += 1;
      }
      self.reply(c);
      continue;
    }
    if (auto* s = std::get_if<start_child>(&ev)) {
      kids.push_back(child{std::move(s->spec), {}, 0, {}});
      kids.back().running = kids.back().spec.start(self);
      pid started = kids.back().running;
      if (started) {
        log("started " + kids.back().spec.id + " as " + started.to_string());
      } else {
        log(kids.back().spec.id + " failed to start: not kept");
        kids.pop_back();
      }
      self.reply(started);
      continue;
    }
    if (auto* t = std::get_if<terminate_child>(&ev)) {
      auto it = std::find_if(kids.begin(), kids.end(),
                             [&](const child& k) { return k.running && k.running == t->child; });
      if (it == kids.end()) {
        self.reply(false);
        continue;
      }
      stop.push_back(static_cast<std::size_t>(it - kids.begin()));
      answer = self.make_response_promise();
      answer_when_stopped = true;
      log("terminating " + it->spec.id + " on request");
    } else {
      auto& signal = std::get<exit_signal>(ev);
      auto it = std::find_if(kids.begin(), kids.end(),
                             [&](const child& k) { return k.running && k.running == signal.from; });
      if (it == kids.end()) {
        const bool from_parent = parent && signal.from == parent;
        const bool from_outside = !signal.from;
        if (!from_parent && !(from_outside && signal.reason.what() != exit_reason::kind::normal)) {
          log("ignored exit signal from " + signal.from.to_string() + " (" +
              signal.reason.to_string() + "): not a child, not the parent");
          continue;
        }
        log("exit signal from " + (from_parent ? std::string("the parent ") : std::string("outside ")) +
            signal.from.to_string() + " (" + signal.reason.to_string() + "): stopping all children");
        stop_all_running();
        end_after = true;
        end_reason = signal.reason;
      } else {
        std::size_t index = static_cast<std::size_t>(it - kids.begin());
        it->running = pid();
        it->last_exit = signal.reason.to_string();
        if (!restarts_after(it->spec, signal.reason)) {
          log(it->spec.id + " ended (" + signal.reason.to_string() + "): not restarted (" +
              (it->spec.restart == restart_policy::temporary ? "temporary" : "transient") + ")");
          if (it->spec.restart == restart_policy::temporary) kids.erase(it);
          continue;
        }
        const time_point now = self.system().now();
        restarts.push_back(now);
        while (!restarts.empty() && now - restarts.front() > flags.period) restarts.pop_front();
        if (static_cast<int>(restarts.size()) > flags.intensity) {
          log(it->spec.id + " ended (" + signal.reason.to_string() +
              "): reached max restart intensity (" + std::to_string(flags.intensity) +
              " restarts); shutting down");
          stop_all_running();
          end_after = true;
          end_reason = exit_reason::shutdown();
        } else {
          switch (flags.strategy) {
            case strategy::one_for_one:
              start.push_back(index);
              break;
            case strategy::one_for_all:
              stop_all_running();
              for (std::size_t i = 0; i < kids.size(); ++i) start.push_back(i);
              break;
            case strategy::rest_for_one:
              for (std::size_t i = kids.size(); i-- > index + 1;)
                if (kids[i].running) stop.push_back(i);
              for (std::size_t i = index; i < kids.size(); ++i) start.push_back(i);
              break;
          }
          log(kids[index].spec.id + " ended (" + signal.reason.to_string() + "): restarting " +
              std::to_string(start.size()) + " child(ren)");
        }
      }
    }

    // Stop, in the planned order, each within its shutdown time.
    for (std::size_t i : stop) {
      child& k = kids[i];
      if (!k.running) continue;
      // It may have ended on its own while another child was stopping: its
      // exit is then already among the pending ones, and no other will come.
      auto seen = std::find_if(pending.begin(), pending.end(),
                               [&](const exit_signal& e) { return e.from == k.running; });
      if (seen != pending.end()) {
        k.last_exit = seen->reason.to_string();
        pending.erase(seen);
        k.running = pid();
        continue;
      }
      self.send_exit(k.running, k.spec.brutal_kill ? exit_reason::kill() : exit_reason::shutdown());
      bool killed = k.spec.brutal_kill;
      for (;;) {
        auto e = co_await self.receive<exit_signal>(killed ? infinite : k.spec.shutdown_timeout);
        if (!e) {  // it ignored shutdown for too long
          log(k.spec.id + " did not stop within its shutdown time: killed");
          self.send_exit(k.running, exit_reason::kill());
          killed = true;
          continue;
        }
        if (e->from == k.running) {
          k.last_exit = e->reason.to_string();
          break;
        }
        pending.push_back(std::move(*e));
      }
      k.running = pid();
    }
    if (answer_when_stopped) answer.deliver(true);
    if (end_after) {
      self.quit(end_reason);
      co_return;
    }
    for (std::size_t i : start) {
      if (kids[i].running || kids[i].spec.restart == restart_policy::temporary) continue;
      kids[i].running = kids[i].spec.start(self);
      ++kids[i].restarts;
      log("restarted " + kids[i].spec.id + " as " + kids[i].running.to_string());
      // In a trace: the restart, with the restarts counted in the period.
      if (troupe::detail::probes_on()) [[unlikely]]
        troupe::detail::trace_probe_text(tracing::event_kind::restart, kids[i].spec.id, kids[i].running.id(),
                                         static_cast<std::int64_t>(restarts.size()));
    }
    // Temporary children stopped by the plan are gone for good (OTP).
    std::erase_if(kids, [](const child& k) {
      return k.spec.restart == restart_policy::temporary && !k.running;
    });
  }
}

}  // namespace

child_spec child_spec::supervisor(std::string id, supervisor_flags flags,
                                  std::vector<child_spec> children) {
  child_spec spec;
  spec.id = std::move(id);
  spec.kind = child_kind::supervisor;
  spec.shutdown_timeout = std::chrono::hours(24 * 365);  // a supervisor stops its subtree first
  spec.start = [flags, children = std::move(children)](actor& sup) {
    return sup.spawn_link(supervise, flags, children, sup.pid());
  };
  return spec;
}

pid spawn_supervisor(runtime& rt, supervisor_flags flags, std::vector<child_spec> children) {
  return rt.spawn(supervise, flags, std::move(children), pid());
}

pid spawn_dynamic_supervisor(runtime& rt, supervisor_flags flags) {
  flags.strategy = strategy::one_for_one;
  return rt.spawn(supervise, flags, std::vector<child_spec>{}, pid());
}

}  // namespace troupe
