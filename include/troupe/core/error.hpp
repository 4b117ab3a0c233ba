// error and result<T>: recoverable failures are values.
//
// Everything a caller must handle (a request that timed out, a receiver that
// died, a full mailbox) comes back as an `error` inside a `result<T>`; it
// never hangs and never throws across the runtime.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace troupe {

// What went wrong: the code of an error.
enum class errc {
  timeout = 1,        // no reply / no message within the deadline
  receiver_down,      // the target actor was dead or died before replying
  no_handler,         // the target had no handler for the request's type
  no_reply,           // the handler finished without replying
  mailbox_full,       // the target's bounded mailbox rejected the message
  bad_reply_type,     // the reply's type is not the one the requester awaited
  handler_failed,     // the handler threw while serving the request
  exception,          // an exception was captured (error::exception() has it)
  interrupted,        // the consumer of a future cancelled the work
  broken_promise,     // a promise was destroyed without a value
  already_satisfied,  // a promise was set twice
  overloaded,         // rejected at once to shed load (a concurrency limit)
  circuit_open,       // a circuit breaker is failing requests fast
  closed,             // the channel or connection is closed
  io_error,           // a socket operation failed (refused, reset, unresolvable)
  noconnection,       // the node holding the actor is unreachable (its link went down)
  node_suspected,     // the node holding the actor is silent (temp_fail), the caller asked not to wait
  // A new code goes above this line, and errc_count follows it.
};

// One past the largest errc: the size of a table indexed by code.
inline constexpr std::size_t errc_count = static_cast<std::size_t>(errc::node_suspected) + 1;

// The code's name, e.g. "receiver_down".
std::string_view to_string(errc code) noexcept;

// A failure as a value: a code, a detail text, maybe a caught exception,
// and whether sending the request again is safe.
class error {
 public:
  // An error with `code` and an optional human-readable `detail`.
  error(errc code, std::string detail = {}) : code_(code), detail_(std::move(detail)) {}
  // An error that carries a caught exception (errc::exception); the detail
  // is its what().
  static error from_exception(std::exception_ptr caught);

  // What went wrong; compare with `err == errc::timeout`.
  errc code() const noexcept { return code_; }
  const std::string& detail() const noexcept { return detail_; }
  // "timeout" or "receiver_down: <0.7.0> exited: boom".
  std::string message() const;
  // Whether `a` has the code `b`.
  friend bool operator==(const error& a, errc b) noexcept { return a.code_ == b; }

  // The captured exception of errc::exception (null otherwise).
  const std::exception_ptr& exception() const noexcept { return exception_; }
  // Throws the captured exception if there is one, else error_exception.
  [[noreturn]] void raise() const;

  // Retryable: the request was not acted upon (rejected before it ran, a
  // circuit open), so sending it again is safe. Retry filters retry only
  // these unless told otherwise.
  bool retryable() const noexcept { return retryable_; }
  // Sets (or clears) the retryable mark, for chaining on a variable.
  error& mark_retryable(bool on = true) & noexcept {
    retryable_ = on;
    return *this;
  }
  // The same on a temporary: `return error(errc::overloaded).mark_retryable();`
  error&& mark_retryable(bool on = true) && noexcept {
    retryable_ = on;
    return std::move(*this);
  }

 private:
  errc code_;
  bool retryable_ = false;
  std::string detail_;
  std::exception_ptr exception_;
};

// What error::raise() throws for an error that is not an exception.
class error_exception : public std::exception {
 public:
  // Wraps `e`; what() is its message().
  explicit error_exception(troupe::error e) : error_(std::move(e)), text_(error_.message()) {}
  // The error thrown.
  const troupe::error& error() const noexcept { return error_; }
  // The error's message().
  const char* what() const noexcept override { return text_.c_str(); }

 private:
  troupe::error error_;
  std::string text_;
};

// A value or an error. [[nodiscard]]: ignoring a failure must be a choice.
template <class T>
class [[nodiscard]] result {
 public:
  // A success holding `value`.
  result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  // A failure holding `e`.
  result(troupe::error e) : state_(std::in_place_index<1>, std::move(e)) {}

  // True for a value, false for an error.
  bool has_value() const noexcept { return state_.index() == 0; }
  // Same as has_value(): `if (r) use(*r);`
  explicit operator bool() const noexcept { return has_value(); }
  // The value; only when has_value() (else std::bad_variant_access).
  T& value() & { return std::get<0>(state_); }
  // The value, read-only; only when has_value().
  const T& value() const& { return std::get<0>(state_); }
  // Moves the value out; only when has_value().
  T&& value() && { return std::get<0>(std::move(state_)); }
  // The value, as value().
  T& operator*() & { return value(); }
  // The value, read-only, as value().
  const T& operator*() const& { return value(); }
  // Member access to the value; only when has_value().
  T* operator->() { return &value(); }
  // Read-only member access to the value; only when has_value().
  const T* operator->() const { return &value(); }
  // The error; only when !has_value() (else std::bad_variant_access).
  const troupe::error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, troupe::error> state_;
};

// Success without a value, or an error.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  // A failure holding `e`.
  result(troupe::error e) : error_(std::move(e)), failed_(true) {}
  // True for success, false for an error.
  bool has_value() const noexcept { return !failed_; }
  // Same as has_value().
  explicit operator bool() const noexcept { return !failed_; }
  // The error; only when !has_value() (a success holds a placeholder).
  const troupe::error& error() const { return error_; }

 private:
  troupe::error error_{errc::timeout};
  bool failed_ = false;
};

}  // namespace troupe
