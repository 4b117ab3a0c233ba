#include "sim_engine.hpp"

#include <algorithm>

namespace troupe::testing::detail {

// The deterministic executor: ready actors wait in arrival order until the
// engine picks one. stop() just forgets them (shutdown ends them all).
class det_executor final : public troupe::detail::executor {
 public:
  det_executor(sim_engine& engine, runtime_impl& rt) : engine_(engine), rt_(rt) {}
  void schedule(actor_cell* cell) noexcept override {
    if (!stopping()) engine_.ready_.push_back(cell);
  }
  void stop() override {
    stopping_ = true;
    std::erase_if(engine_.ready_, [this](actor_cell* cell) { return &cell->rt == &rt_; });
  }
  unsigned size() const noexcept override { return 1; }

 private:
  sim_engine& engine_;
  runtime_impl& rt_;
};

namespace {
std::string describe(const pid& from, const pid& to, const message& msg) {
  std::string text = from ? from.to_string() : std::string("outside");
  text += " -> " + to.to_string() + ": " + msg.type_name();
  switch (msg.kind) {
    case troupe::detail::message_kind::reply: text += " (reply)"; break;
    case troupe::detail::message_kind::error_reply: text += " (error reply)"; break;
    case troupe::detail::message_kind::request_timeout: text += " (request timeout)"; break;
    case troupe::detail::message_kind::receive_timeout: text += " (receive timeout)"; break;
    case troupe::detail::message_kind::exit: text += " (exit signal)"; break;
    case troupe::detail::message_kind::link: text = text.substr(0, text.rfind(':')) + ": link"; break;
    case troupe::detail::message_kind::unlink: text = text.substr(0, text.rfind(':')) + ": unlink"; break;
    case troupe::detail::message_kind::monitor: text = text.substr(0, text.rfind(':')) + ": monitor"; break;
    case troupe::detail::message_kind::demonitor: text = text.substr(0, text.rfind(':')) + ": demonitor"; break;
    case troupe::detail::message_kind::down_notice: text += " (down)"; break;
    case troupe::detail::message_kind::context_task: text = text.substr(0, text.rfind(':')) + ": continuation"; break;
    case troupe::detail::message_kind::user: if (msg.request_id) text += " (request)"; break;
    case troupe::detail::message_kind::run: text += " (run)"; break;
  }
  return text;
}
}  // namespace

sim_engine::sim_engine(const simulation_options& opts)
    : options(opts),
      rng_state_(opts.seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL),
      library_rng_state_(opts.seed * 0xD1B54A32D192ED03ULL + 0x8CB92BA72F3D8DD7ULL) {
  if (options.mode == schedule_mode::pct) {
    for (unsigned i = 1; i < options.pct_depth; ++i)
      change_points_.push_back(1 + next_random() % std::max<std::size_t>(1, options.pct_steps));
    std::sort(change_points_.begin(), change_points_.end());
  }
}

sim_engine::~sim_engine() {
  for (auto& f : flights_) delete f.msg;
}

namespace {
// splitmix64: exactly specified, so a seed means the same on every build.
std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
}  // namespace

std::uint64_t sim_engine::next_random() noexcept { return splitmix64(rng_state_); }
std::uint64_t sim_engine::random() { return splitmix64(library_rng_state_); }

std::unique_ptr<troupe::detail::executor> sim_engine::make_executor(runtime_impl& rt) {
  return std::make_unique<det_executor>(*this, rt);
}

void sim_engine::attach(runtime_impl& rt, std::string name) {
  if (members_.empty()) now_ = rt.timers.now();
  members_.push_back({&rt, std::move(name)});
  if (rt.timers.now() < now_) rt.timers.advance_to(now_);
}

void sim_engine::detach(runtime_impl& rt) {
  std::size_t dropped = 0;
  for (std::size_t i = 0; i < flights_.size();) {
    actor_cell* target = actor_cell::of(flights_[i].to);
    if (flights_[i].context == &rt || (target && &target->rt == &rt)) {
      delete flights_[i].msg;
      flights_.erase(flights_.begin() + static_cast<std::ptrdiff_t>(i));
      ++dropped;
    } else {
      ++i;
    }
  }
  std::erase_if(ready_, [&rt](actor_cell* cell) { return &cell->rt == &rt; });
  const std::string who = prefix(&rt);
  std::erase_if(members_, [&rt](const member& m) { return m.rt == &rt; });
  trace.push_back(who + "gone (" + std::to_string(dropped) + " messages in flight dropped)");
}

void sim_engine::set_paused(runtime_impl& rt, bool paused) {
  for (auto& m : members_)
    if (m.rt == &rt) m.paused = paused;
}

bool sim_engine::paused(const runtime_impl& rt) const {
  const member* m = member_of(&rt);
  return m && m->paused;
}

const sim_engine::member* sim_engine::member_of(const runtime_impl* rt) const {
  for (auto& m : members_)
    if (m.rt == rt) return &m;
  return nullptr;
}

bool sim_engine::runs(const runtime_impl* rt) const {
  const member* m = member_of(rt);
  return m && !m->paused;
}

std::string sim_engine::prefix(const runtime_impl* rt) const {
  const member* m = member_of(rt);
  return m && !m->name.empty() ? "[" + m->name + "] " : std::string();
}

std::string sim_engine::prefix(const pid& who) const {
  actor_cell* cell = actor_cell::of(who);
  return cell ? prefix(&cell->rt) : std::string();
}

void sim_engine::at(time_point when, std::function<void()> fn) {
  events_.emplace(std::max(when, now_), std::move(fn));
}

send_status sim_engine::on_send(runtime_impl& context, const pid& to, message* msg) {
  actor_cell* target = actor_cell::of(to);
  // A proxy (a remote actor's stand-in) forwards on the sender's thread in
  // production, as part of the send: the network is where its message
  // waits and reorders, and the sender hears at once when the link is gone.
  if (!target || target->box.closed() || target->is_proxy()) {
    if (target && target->is_proxy()) {
      trace.push_back(prefix(&context) + "send " + describe(msg->sender, to, *msg) + " [to a remote actor]");
      return runtime_impl::deliver_now(context, to, msg);
    }
    trace.push_back(prefix(&context) + "send " + describe(msg->sender, to, *msg) + " [receiver dead]");
    return runtime_impl::deliver_now(context, to, msg);
  }
  trace.push_back(prefix(&context) + "send " + describe(msg->sender, to, *msg));
  flights_.push_back(flight{msg->sender, to, msg, next_seq_++, &context});
  return send_status::ok;
}

void sim_engine::on_spawn(const pid& who) { trace.push_back(prefix(who) + "spawn " + who.to_string()); }

void sim_engine::on_exit(const pid& who, const exit_reason& reason) {
  trace.push_back(prefix(who) + "exit " + who.to_string() + ": " + reason.to_string());
}

std::vector<sim_engine::step_choice> sim_engine::enabled() const {
  std::vector<step_choice> choices;
  for (std::size_t i = 0; i < flights_.size(); ++i) {
    if (members_.size() > 1) {  // a paused runtime's messages wait
      actor_cell* target = actor_cell::of(flights_[i].to);
      if (!runs(flights_[i].context) || (target && !runs(&target->rt))) continue;
    }
    bool oldest_of_pair = true;
    for (std::size_t j = 0; j < i && oldest_of_pair; ++j)
      oldest_of_pair = !(flights_[j].from == flights_[i].from && flights_[j].to == flights_[i].to);
    if (oldest_of_pair) choices.push_back({true, i});
  }
  for (std::size_t i = 0; i < ready_.size(); ++i)
    if (members_.size() <= 1 || runs(&ready_[i]->rt)) choices.push_back({false, i});
  return choices;
}

sim_engine::pct_key sim_engine::key_of(const step_choice& choice) const {
  // Actor numbers restart in each runtime of a cluster: the runtime's
  // place among the members tells <0.3.0> of one node from another's.
  auto node_bits = [this](const runtime_impl* rt) {
    std::uint64_t i = 0;
    while (i < members_.size() && members_[i].rt != rt) ++i;
    return i << 48;
  };
  if (choice.is_flight) {
    const flight& f = flights_[choice.index];
    return {f.from.id() ^ node_bits(f.context), f.to.id() ^ node_bits(f.context)};
  }
  actor_cell* cell = ready_[choice.index];
  return {troupe::pid(cell).id() ^ node_bits(&cell->rt), ~std::uint64_t{0}};
}

std::uint64_t sim_engine::priority_of(const pct_key& key) {
  auto [it, fresh] = priorities_.try_emplace(key, 0);
  if (fresh) it->second = lowest_priority_ + 1 + next_random() % 1'000'000'000ULL;
  return it->second;
}

std::size_t sim_engine::pick(const std::vector<step_choice>& choices) {
  if (options.mode == schedule_mode::random) return next_random() % choices.size();
  // PCT: the step of the highest-priority channel or actor; ties go to the
  // oldest. At each change point the chosen one drops below all others.
  std::size_t best = 0;
  std::uint64_t best_priority = 0;
  for (std::size_t i = 0; i < choices.size(); ++i) {
    std::uint64_t p = priority_of(key_of(choices[i]));
    if (p > best_priority) {
      best_priority = p;
      best = i;
    }
  }
  if (std::binary_search(change_points_.begin(), change_points_.end(), steps_ + 1))
    priorities_[key_of(choices[best])] = --lowest_priority_;
  return best;
}

void sim_engine::count_step() {
  if (++steps_ > options.max_steps)
    throw sim_error("troupe simulation: more than " + std::to_string(options.max_steps) +
                    " steps (a livelock?); seed " + std::to_string(options.seed));
}

void sim_engine::deliver(std::size_t index) {
  flight f = flights_[index];
  flights_.erase(flights_.begin() + static_cast<std::ptrdiff_t>(index));
  trace.push_back(prefix(f.context) + "deliver " + describe(f.from, f.to, *f.msg));
  runtime_impl::deliver_now(*f.context, f.to, f.msg);
}

void sim_engine::run_ready(std::size_t index) {
  actor_cell* cell = ready_[index];
  ready_.erase(ready_.begin() + static_cast<std::ptrdiff_t>(index));
  trace.push_back(prefix(&cell->rt) + "run " + troupe::pid(cell).to_string());
  if (runtime_impl::run_turn(cell, 1) != troupe::detail::executor::after_turn::done)
    ready_.push_back(cell);
}

bool sim_engine::step() {
  auto choices = enabled();
  if (choices.empty()) return false;
  count_step();
  step_choice chosen = choices[pick(choices)];
  if (chosen.is_flight)
    deliver(chosen.index);
  else
    run_ready(chosen.index);
  return true;
}

bool sim_engine::deliver_one() {
  auto choices = enabled();
  std::erase_if(choices, [](const step_choice& c) { return !c.is_flight; });
  if (choices.empty()) return false;
  count_step();
  deliver(choices[pick(choices)].index);
  return true;
}

std::size_t sim_engine::run_until_idle() {
  std::size_t n = 0;
  while (step()) ++n;
  return n;
}

std::optional<time_point> sim_engine::next_due() const {
  std::optional<time_point> next;
  if (!events_.empty()) next = events_.begin()->first;
  for (auto& m : members_)
    if (auto t = m.rt->timers.next_event(); t && (!next || *t < *next)) next = *t;
  return next;
}

void sim_engine::move_clock_to(time_point t) {
  if (t < now_) return;
  now_ = t;
  // Every runtime's wheel moves to t (what is due fires into flights),
  // then the events due by t run, in order.
  for (std::size_t i = 0; i < members_.size(); ++i) members_[i].rt->timers.advance_to(t);
  while (!events_.empty() && events_.begin()->first <= now_) {
    auto fn = std::move(events_.begin()->second);
    events_.erase(events_.begin());
    fn();
  }
}

void sim_engine::advance(duration by) {
  time_point target = now_ + by;
  trace.push_back("advance " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(by).count()) + " ms");
  // Through every instant in between, so events run at their own time.
  while (auto next = next_due()) {
    if (*next > target) break;
    move_clock_to(*next);
  }
  move_clock_to(target);
}

void sim_engine::run_for(duration span) {
  const time_point end = now_ + span;
  note("run for " + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(span).count()) + " ms");
  for (;;) {
    run_until_idle();
    auto next = next_due();
    if (!next || *next > end) break;
    move_clock_to(*next);
  }
  move_clock_to(end);
  run_until_idle();
}

bool sim_engine::advance_to_next_timer() {
  // The wheel reports cascades too; step through them to the next expiry.
  const std::size_t before = flights_.size(), ready_before = ready_.size();
  while (auto next = next_due()) {
    const bool event = !events_.empty() && events_.begin()->first <= *next;
    auto gap = *next - now_;
    trace.push_back("timer: time jumps " +
                    std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(gap).count()) +
                    " ms");
    move_clock_to(*next);
    if (event || flights_.size() != before || ready_.size() != ready_before) return true;
  }
  return flights_.size() != before;
}

void sim_engine::wait_for_mail(actor_cell& waiter) {
  while (waiter.box.blocked()) {
    if (step()) continue;
    if (advance_to_next_timer()) continue;
    throw sim_error("troupe simulation: deadlock: " + troupe::pid(&waiter).to_string() +
                    " waits for a message, nothing can run and no timer is pending; seed " +
                    std::to_string(options.seed) + "\nlast events:\n" +
                    [this] {
                      std::string text;
                      std::size_t from = trace.size() > 20 ? trace.size() - 20 : 0;
                      for (std::size_t i = from; i < trace.size(); ++i) text += "  " + trace[i] + "\n";
                      return text;
                    }());
  }
}

std::vector<std::string> sim_engine::in_flight() const {
  std::vector<std::string> out;
  for (auto& f : flights_) out.push_back(describe(f.from, f.to, *f.msg));
  return out;
}

bool sim_engine::deliver_matching(
    const std::function<bool(const pid& from, const pid& to, message&)>& accept) {
  for (auto& choice : enabled()) {
    if (!choice.is_flight) continue;
    flight& f = flights_[choice.index];
    if (!accept(f.from, f.to, *f.msg)) continue;
    pid receiver = f.to;
    count_step();
    deliver(choice.index);
    // Run the receiver until it has handled what it was given.
    for (;;) {
      auto it = std::find(ready_.begin(), ready_.end(), actor_cell::of(receiver));
      if (it == ready_.end()) break;
      count_step();
      run_ready(static_cast<std::size_t>(it - ready_.begin()));
    }
    return true;
  }
  return false;
}

}  // namespace troupe::testing::detail
