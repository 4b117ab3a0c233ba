#include "troupe/testing/simulation.hpp"

#include "sim_engine.hpp"

namespace troupe::testing {

simulation::simulation(simulation_options options)
    : engine_(std::make_unique<detail::sim_engine>(options)),
      rt_(std::make_unique<runtime>(options.runtime_config, *engine_)) {
  engine_->attach(rt_->impl());
}

simulation::~simulation() {
  rt_.reset();  // ends every actor while the engine still exists
  engine_.reset();
}

runtime& simulation::system() noexcept { return *rt_; }
std::uint64_t simulation::seed() const noexcept { return engine_->options.seed; }
std::uint64_t simulation::random() noexcept { return engine_->next_random(); }
bool simulation::step() { return engine_->step(); }
bool simulation::deliver_one() { return engine_->deliver_one(); }
std::size_t simulation::run_until_idle() { return engine_->run_until_idle(); }
void simulation::advance(duration by) { engine_->advance(by); }
bool simulation::advance_to_next_timer() { return engine_->advance_to_next_timer(); }
time_point simulation::now() const { return engine_->now(); }
std::size_t simulation::steps() const noexcept { return engine_->steps(); }

void simulation::run_for(duration span) { engine_->run_for(span); }

std::vector<std::string> simulation::mailbox(const pid& who) const {
  std::vector<std::string> out;
  if (auto* cell = troupe::detail::actor_cell::of(who))
    for (auto* msg : cell->queued_messages())
      out.push_back((msg->sender ? msg->sender.to_string() : std::string("outside")) + ": " +
                    msg->type_name());
  return out;
}
std::vector<std::string> simulation::in_flight() const { return engine_->in_flight(); }
const std::vector<std::string>& simulation::trace() const noexcept { return engine_->trace; }

std::string simulation::trace_text(std::size_t last) const {
  const auto& events = engine_->trace;
  std::size_t from = last == 0 || last >= events.size() ? 0 : events.size() - last;
  std::string text;
  for (std::size_t i = from; i < events.size(); ++i) text += "  " + events[i] + "\n";
  return text;
}

void simulation::note(std::string event) { engine_->note(std::move(event)); }

void simulation::crash(const pid& who, exit_reason reason) {
  engine_->note("crash " + who.to_string() + ": " + reason.to_string());
  auto* sig = new troupe::detail::typed_message<troupe::detail::signal>(
      troupe::detail::signal{pid(), std::move(reason), true});
  sig->kind = troupe::detail::message_kind::exit;
  troupe::detail::runtime_impl::deliver_now(rt_->impl(), who, sig);
  run_until_idle();
}

void simulation::require(bool condition, const std::string& what) const {
  if (!condition)
    throw sim_error("requirement failed: " + what + " (seed " + std::to_string(seed()) + ")");
}

namespace detail {

bool expect_step(simulation& sim, type_key key, const std::string& type_name, const pid& from,
                 const pid& to, const std::function<bool(troupe::detail::message&)>& match,
                 std::string& failure) {
  bool delivered = sim.engine().deliver_matching(
      [&](const pid& sender, const pid& receiver, troupe::detail::message& msg) {
        if (msg.key != key) return false;
        if (from && sender != from) return false;
        if (to && receiver != to) return false;
        return !match || match(msg);
      });
  if (delivered) return true;
  failure = "expected " + type_name;
  if (from) failure += " from " + from.to_string();
  if (to) failure += " to " + to.to_string();
  if (match) failure += " with the given value";
  auto flying = sim.in_flight();
  if (flying.empty()) {
    failure += ", but nothing is in flight";
  } else {
    failure += ", but in flight are:";
    for (auto& f : flying) failure += "\n  " + f;
  }
  failure += "\n(seed " + std::to_string(sim.seed()) + ")";
  return false;
}

}  // namespace detail
}  // namespace troupe::testing
