// Small out-of-line pieces of the public core types: printing, errors,
// timer handles, behavior::after.
#include <cxxabi.h>

#include <cstdlib>
#include <string_view>
#include <ostream>

#include "timer_service.hpp"
#include "troupe/core/behavior.hpp"
#include "troupe/core/error.hpp"
#include "troupe/core/exit_reason.hpp"
#include "troupe/core/pid.hpp"
#include "troupe/core/timer.hpp"

namespace troupe {

std::string pid::to_string() const {
  if (!cell_) return "<none>";
  // Appended piecewise: g++ 12 warns falsely (-Wrestrict, PR 105329) on a
  // chain of operator+ starting from a literal.
  std::string text = "<";
  text.append(std::to_string(node())).append(".").append(std::to_string(id()));
  text.append(".").append(std::to_string(serial())).append(">");
  return text;
}

std::ostream& operator<<(std::ostream& out, const pid& p) { return out << p.to_string(); }

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::timeout: return "timeout";
    case errc::receiver_down: return "receiver_down";
    case errc::no_handler: return "no_handler";
    case errc::no_reply: return "no_reply";
    case errc::mailbox_full: return "mailbox_full";
    case errc::bad_reply_type: return "bad_reply_type";
    case errc::handler_failed: return "handler_failed";
    case errc::exception: return "exception";
    case errc::interrupted: return "interrupted";
    case errc::broken_promise: return "broken_promise";
    case errc::already_satisfied: return "already_satisfied";
    case errc::overloaded: return "overloaded";
    case errc::circuit_open: return "circuit_open";
    case errc::closed: return "closed";
    case errc::io_error: return "io_error";
    case errc::noconnection: return "noconnection";
    case errc::node_suspected: return "node_suspected";
  }
  return "unknown";
}

error error::from_exception(std::exception_ptr caught) {
  std::string text = "unknown exception";
  try {
    if (caught) std::rethrow_exception(caught);
  } catch (const std::exception& e) {
    text = e.what();
  } catch (...) {
  }
  error e(errc::exception, std::move(text));
  e.exception_ = std::move(caught);
  return e;
}

void error::raise() const {
  if (exception_) std::rethrow_exception(exception_);
  throw error_exception(*this);
}

std::string error::message() const {
  std::string text(to_string(code_));
  if (!detail_.empty()) text += ": " + detail_;
  return text;
}

std::string exit_reason::to_string() const {
  static constexpr const char* names[] = {"normal", "shutdown", "kill", "killed", "error", "user"};
  std::string text = names[static_cast<int>(kind_)];
  if (!text_.empty()) text += ": " + text_;
  return text;
}

bool timer_handle::cancel() noexcept {
  return entry_ && detail::timer_service::cancel(*entry_);
}

bool timer_handle::active() const noexcept {
  return entry_ && !entry_->finished.load(std::memory_order_acquire);
}

behavior&& behavior::after(duration timeout, std::function<void()> on_idle) && {
  if (impl_)
    impl_->idle = std::make_unique<detail::behavior_impl::idle_handler>(
        detail::behavior_impl::idle_handler{timeout, std::move(on_idle)});
  return std::move(*this);
}

behavior&& behavior::or_else(behavior fallback) && {
  if (!impl_) {
    std::swap(impl_, fallback.impl_);
    return std::move(*this);
  }
  detail::behavior_impl* last = impl_;
  while (last->fallback) last = last->fallback;
  last->fallback = std::exchange(fallback.impl_, nullptr);
  return std::move(*this);
}

namespace detail {
std::string demangle(const char* mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status != 0 || !readable) return mangled;
  std::string out(readable);
  std::free(readable);
  // Readable names in logs and traces: drop the anonymous-namespace noise
  // and spell std::string as such.
  static constexpr std::string_view noise[] = {
      "(anonymous namespace)::",
      "std::__cxx11::",
  };
  for (auto n : noise)
    for (auto at = out.find(n); at != std::string::npos; at = out.find(n)) out.erase(at, n.size());
  static constexpr std::string_view long_string =
      "basic_string<char, std::char_traits<char>, std::allocator<char> >";
  for (auto at = out.find(long_string); at != std::string::npos; at = out.find(long_string))
    out.replace(at, long_string.size(), "string");
  return out;
}
}  // namespace detail

}  // namespace troupe
