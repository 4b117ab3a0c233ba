// exit_reason: why an actor ended. A small closed set of kinds drives later
// policy (links, supervisors); `error` carries the escaped exception's text.
#pragma once

#include <string>
#include <utility>

namespace troupe {

class exit_reason {
 public:
  enum class kind { normal, shutdown, kill, killed, error, user };

  static exit_reason normal() { return exit_reason(kind::normal, {}); }
  static exit_reason shutdown() { return exit_reason(kind::shutdown, {}); }
  static exit_reason kill() { return exit_reason(kind::kill, {}); }
  static exit_reason killed() { return exit_reason(kind::killed, {}); }
  static exit_reason error(std::string text) { return exit_reason(kind::error, std::move(text)); }
  static exit_reason user(std::string text) { return exit_reason(kind::user, std::move(text)); }

  kind what() const noexcept { return kind_; }
  const std::string& text() const noexcept { return text_; }
  // normal and shutdown are the two reasons that do not count as a crash.
  bool is_abnormal() const noexcept { return kind_ != kind::normal && kind_ != kind::shutdown; }
  // "normal", "shutdown", "error: boom", ...
  std::string to_string() const;

  friend bool operator==(const exit_reason& a, const exit_reason& b) {
    return a.kind_ == b.kind_ && a.text_ == b.text_;
  }

 private:
  exit_reason(kind k, std::string text) : kind_(k), text_(std::move(text)) {}
  kind kind_;
  std::string text_;
};

}  // namespace troupe
