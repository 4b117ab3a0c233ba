// exit_reason: why an actor ended. A small closed set of kinds drives later
// policy (links, supervisors); `error` carries the escaped exception's text.
#pragma once

#include <string>
#include <utility>

namespace troupe {

// Why an actor ended: a kind and, for `error` and `user`, a text.
class exit_reason {
 public:
  // The closed set of reasons; the functions below make each one.
  enum class kind { normal, shutdown, kill, killed, error, user };

  // Finished its work: not a crash (a link ignores it unless it traps exits).
  static exit_reason normal() { return exit_reason(kind::normal, {}); }
  // Stopped on purpose (a supervisor, the runtime's shutdown): not a crash.
  static exit_reason shutdown() { return exit_reason(kind::shutdown, {}); }
  // Sent with send_exit to end an actor whether it traps exits or not.
  static exit_reason kill() { return exit_reason(kind::kill, {}); }
  // The reason of an actor ended by `kill`, as its links and monitors see it.
  static exit_reason killed() { return exit_reason(kind::killed, {}); }
  // A crash; `text` says what went wrong (an escaped exception's what()).
  static exit_reason error(std::string text) { return exit_reason(kind::error, std::move(text)); }
  // A reason of the program's, named by `text` (abnormal, e.g. noproc).
  static exit_reason user(std::string text) { return exit_reason(kind::user, std::move(text)); }

  // The reason's kind.
  kind what() const noexcept { return kind_; }
  // The text of `error` and `user` reasons; empty for the others.
  const std::string& text() const noexcept { return text_; }
  // normal and shutdown are the two reasons that do not count as a crash.
  bool is_abnormal() const noexcept { return kind_ != kind::normal && kind_ != kind::shutdown; }
  // "normal", "shutdown", "error: boom", ...
  std::string to_string() const;

  // Same kind and same text.
  friend bool operator==(const exit_reason& a, const exit_reason& b) {
    return a.kind_ == b.kind_ && a.text_ == b.text_;
  }

 private:
  exit_reason(kind k, std::string text) : kind_(k), text_(std::move(text)) {}
  kind kind_;
  std::string text_;
};

}  // namespace troupe
