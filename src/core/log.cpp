// Logging: the default format, the runtime's entry points and thresholds.
#include <cstdio>
#include <ctime>

#include "runtime_impl.hpp"
#include "troupe/core/context.hpp"
#include "troupe/core/log.hpp"
#include "troupe/core/runtime.hpp"

namespace troupe {

std::string_view to_string(log_level level) noexcept {
  switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    case log_level::off: return "off";
  }
  return "?";
}

std::string_view to_string(log_component component) noexcept {
  switch (component) {
    case log_component::core: return "core";
    case log_component::fault: return "fault";
    case log_component::async: return "async";
    case log_component::sync: return "sync";
    case log_component::io: return "io";
    case log_component::net: return "net";
    case log_component::user: return "user";
  }
  return "?";
}

std::string format_log_line(const log_record& r) {
  // UTC, microseconds: lines from several nodes sort together.
  const auto since_epoch = r.time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(since_epoch - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char stamp[48];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<long>(micros));
  std::string line = stamp;
  line.append(" ").append(to_string(r.level)).append(" ").append(to_string(r.component));
  if (r.source) line.append(" ").append(r.source.to_string());
  if (!r.node.empty()) line.append(" ").append(r.node);
  line.append(": ").append(r.text);
  return line;
}

namespace detail {

void runtime_impl::log(log_level level, log_component component, std::string_view text, const pid& source) const {
  if (!logs(level, component)) return;
  const std::string* node = log_node_.load(std::memory_order_acquire);
  const log_record record{level, component, std::chrono::system_clock::now(), source,
                          node ? std::string_view(*node) : std::string_view(), text};
  if (cfg.log_sink) {
    // A sink that throws must not take its caller down: logging runs in
    // reactors, in catch blocks and while actors end.
    try {
      cfg.log_sink(record);
      return;
    } catch (...) {
      static constexpr std::string_view failed = "troupe: the log sink threw; this record follows on stderr\n";
      std::fwrite(failed.data(), 1, failed.size(), stderr);
    }
  }
  std::string line = format_log_line(record);
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stderr);  // one call: lines from threads do not interleave
}

void runtime_impl::set_log_node(std::string name) {
  std::lock_guard lock(log_node_mu_);
  log_node_names_.push_back(std::move(name));
  // ordering: release pairs with log()'s acquire (the string's contents).
  log_node_.store(&log_node_names_.back(), std::memory_order_release);
}

}  // namespace detail

void runtime::log(log_level level, std::string_view text) const {
  actor* running = current_actor();
  impl_->log(level, log_component::user, text, running ? running->pid() : pid());
}
void runtime::log(log_level level, log_component component, std::string_view text, const pid& source) const {
  impl_->log(level, component, text, source);
}
bool runtime::logs(log_level level, log_component component) const noexcept {
  return impl_->logs(level, component);
}
void runtime::set_log_level(log_component component, log_level level) noexcept {
  impl_->set_log_level(component, level);
}
void runtime::set_log_node(std::string name) { impl_->set_log_node(std::move(name)); }

}  // namespace troupe
