// troupe's log records through spdlog: any logger plugs in as
// config::log_sink. Prints a program line and a crash report, each with
// its component and source, in spdlog's format.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "troupe/troupe.hpp"

int main() {
  auto logger = spdlog::stdout_color_mt("troupe");
  logger->set_pattern("[%l] %v");
  troupe::config cfg{.log_sink = [logger](const troupe::log_record& r) {
    // troupe's levels, debug to error, in order; `off` is never a record's.
    static constexpr spdlog::level::level_enum levels[] = {spdlog::level::debug, spdlog::level::info,
                                                           spdlog::level::warn, spdlog::level::err};
    logger->log(levels[static_cast<int>(r.level)], "{} {}{}: {}", troupe::to_string(r.component),
                r.source ? r.source.to_string() : "-", r.node.empty() ? "" : " " + std::string(r.node), r.text);
  }};
  troupe::runtime rt(cfg);
  rt.log(troupe::log_level::info, "hello through spdlog");
  troupe::scoped_actor self(rt);
  auto doomed = rt.spawn([](troupe::actor&) -> troupe::behavior {
    return {[](int) { throw std::runtime_error("a crash, reported through spdlog"); }};
  });
  self.monitor(doomed);
  self.send(doomed, 1);
  (void)self.receive<troupe::down>(std::chrono::seconds(10));
  logger->flush();
}
