// error and result<T>: recoverable failures are values.
//
// Everything a caller must handle (a request that timed out, a receiver that
// died, a full mailbox) comes back as an `error` inside a `result<T>`; it
// never hangs and never throws across the runtime.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace troupe {

enum class errc {
  timeout = 1,        // no reply / no message within the deadline
  receiver_down,      // the target actor was dead or died before replying
  no_handler,         // the target had no handler for the request's type
  no_reply,           // the handler finished without replying
  mailbox_full,       // the target's bounded mailbox rejected the message
  bad_reply_type,     // the reply's type is not the one the requester awaited
  handler_failed,     // the handler threw while serving the request
};

std::string_view to_string(errc code) noexcept;

class error {
 public:
  error(errc code, std::string detail = {}) : code_(code), detail_(std::move(detail)) {}
  errc code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }
  // "timeout" or "receiver_down: <0.7.0> exited: boom".
  std::string message() const;
  friend bool operator==(const error& a, errc b) noexcept { return a.code_ == b; }

 private:
  errc code_;
  std::string detail_;
};

// A value or an error. [[nodiscard]]: ignoring a failure must be a choice.
template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  result(troupe::error e) : state_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const troupe::error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, troupe::error> state_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(troupe::error e) : error_(std::move(e)), failed_(true) {}
  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }
  const troupe::error& error() const { return error_; }

 private:
  troupe::error error_{errc::timeout};
  bool failed_ = false;
};

}  // namespace troupe
