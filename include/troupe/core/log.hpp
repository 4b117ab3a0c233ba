// Logging: structured records, levels per component, one sink.
//
// Everything troupe logs (crash reports, supervisors' restarts, refused
// connections, lost nodes) and what programs log with runtime::log is a
// log_record: its level, the component that wrote it, when, the actor it
// is about (if any), this process's node name (if it is one) and the text.
// A record under its component's level is dropped before it reaches the
// sink; runtime::logs() tells a caller so before it builds the text.
//
// The default sink writes one line per record to stderr:
//   2026-12-07T10:46:13.123456Z warning net <0.5.0> a@127.0.0.1: lost b@127.0.0.1: ...
// Any logger plugs in as config::log_sink; format_log_line() gives the
// default text for sinks that only route lines (a file, syslog, spdlog):
//
//   auto logger = spdlog::stderr_color_mt("troupe");
//   troupe::config cfg{.log_sink = [logger](const troupe::log_record& r) {
//     static constexpr spdlog::level::level_enum levels[] = {
//         spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
//     logger->log(levels[static_cast<int>(r.level)], "[{}] {} {}", troupe::to_string(r.component),
//                 r.source.to_string(), r.text);
//   }};
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "troupe/core/pid.hpp"

namespace troupe {

// `off` only as a threshold: nothing is logged at it.
enum class log_level : std::uint8_t { debug, info, warning, error, off };

// Who wrote a record: troupe's layers, or the program (runtime::log).
enum class log_component : std::uint8_t { core, fault, async, sync, io, net, user };
// How many log_component values there are: the size of a per-component table.
inline constexpr std::size_t log_component_count = 7;

// The level's name as the default sink prints it ("warning").
std::string_view to_string(log_level level) noexcept;
// The component's name as the default sink prints it ("net").
std::string_view to_string(log_component component) noexcept;

// One record, as the sink gets it. Its views are valid only during
// the sink's call: copy what must outlive it.
struct log_record {
  // How severe it is.
  log_level level = log_level::info;
  // Which layer wrote it (user: the program).
  log_component component = log_component::user;
  // When it was written (wall clock).
  std::chrono::system_clock::time_point time;
  // The actor it is about or that wrote it; null: none.
  troupe::pid source;     // the actor it is about or that wrote it; null: none
  // This runtime's node name; empty when it is not a node.
  std::string_view node;  // this runtime's node name; empty when it is not a node
  // The message, one line; what came from the network is sanitized.
  std::string_view text;  // one line; what came from the network is sanitized
};

// Called on the thread that logs, maybe several at once: a sink must be
// thread-safe, and should be quick (a worker waits on it).
using log_sink = std::function<void(const log_record&)>;

// The default sink's line, without the newline.
std::string format_log_line(const log_record& record);

}  // namespace troupe
