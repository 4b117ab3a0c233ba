// The message envelope. A message is any movable C++ type; no registration.
//
// Each type is identified in-process by the address of a per-type tag
// (`type_key_of<T>`), so matching a handler is one pointer compare and no
// RTTI. The envelope is intrusive (`next`) so the mailbox never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "troupe/core/pid.hpp"

namespace troupe {

// Identifies a message type in-process: the address of its tag, compared
// and never dereferenced.
using type_key = const void*;

namespace detail {
template <class T>
struct type_tag {
  static constexpr char id = 0;
};
}  // namespace detail

// The type_key of T, ignoring references and cv-qualifiers (std::decay_t).
template <class T>
inline constexpr type_key type_key_of = &detail::type_tag<std::decay_t<T>>::id;

namespace detail {

// What a message is to the runtime. Everything but `user` travels in the
// system lane: never bounded, never dropped, handled before user messages.
enum class message_kind : std::uint8_t {
  user,             // an ordinary message (request_id != 0: a request)
  reply,            // the answer to request `request_id`
  error_reply,      // a failed answer; the payload is a troupe::error
  request_timeout,  // request `request_id` ran out of time
  receive_timeout,  // a receive or idle timeout; request_id is the token
  exit,             // an exit signal: the payload is a detail::signal
  link,             // the sender links to the receiver
  unlink,           // the sender unlinks from the receiver
  monitor,          // the sender monitors the receiver; request_id is the ref
  demonitor,        // the sender's monitor request_id is cancelled
  down_notice,      // a down for the user lane (never bounded, never dropped)
  context_task,     // code to run in the receiver's context (context.hpp)
  run,              // mailbox internal: a FIFO run of user messages pushed
                    // as one entry (detail::message_run); never handled
};

// The payload of timeout and link/monitor control messages: they carry
// nothing but their kind, sender and id.
struct timeout_marker {};

struct message {
  message* next = nullptr;
  pid sender;
  std::uint64_t request_id = 0;
  type_key key = nullptr;
  message_kind kind = message_kind::user;
  std::uint32_t seq = 0;  // arrival order, for selective receive across types
  // The request trace it belongs to (0: none) and the span of this send;
  // stamped when sent while a trace is current (src/core/causal.hpp).
  std::uint64_t trace_id = 0;
  std::uint64_t span_id = 0;

  explicit message(type_key k) noexcept : key(k) {}
  message(const message&) = delete;
  message& operator=(const message&) = delete;
  virtual ~message() = default;
  virtual void* payload() noexcept = 0;
  // The C++ type's name, demangled; used by dead letters and logs only.
  virtual std::string type_name() const = 0;

  bool is_system() const noexcept { return kind != message_kind::user; }
  template <class T>
  T& as() noexcept {
    return *static_cast<T*>(payload());
  }
};

std::string demangle(const char* mangled);

// Envelope memory comes from a recycling pool (src/core/message_pool.cpp):
// a message is usually freed on another thread than the one that made it,
// which is malloc's slowest path.
void* allocate_message(std::size_t size);
void free_message_memory(void* block, std::size_t size) noexcept;

// A base for small objects made on one thread and freed on another
// (envelopes, continuations, futures' states): allocated from the pool.
// Over-aligned types bypass it.
struct pool_allocated {
  static void* operator new(std::size_t size) { return allocate_message(size); }
  static void operator delete(void* block, std::size_t size) noexcept {
    free_message_memory(block, size);
  }
  static void* operator new(std::size_t size, std::align_val_t alignment) {
    return ::operator new(size, alignment);
  }
  static void operator delete(void* block, std::size_t, std::align_val_t alignment) noexcept {
    // The unsized form: clang declares the sized global one only with
    // -fsized-deallocation, and this header is compiled by users' compilers.
    ::operator delete(block, alignment);
  }
};

template <class T>
struct typed_message final : message, pool_allocated {
  using pool_allocated::operator new;
  using pool_allocated::operator delete;

  template <class... Args>
  explicit typed_message(Args&&... args)
      : message(type_key_of<T>), value(std::forward<Args>(args)...) {}
  void* payload() noexcept override { return &value; }
  std::string type_name() const override { return demangle(typeid(T).name()); }
  T value;
};

template <class T>
message* make_message(T&& value) {
  return new typed_message<std::decay_t<T>>(std::forward<T>(value));
}

}  // namespace detail
}  // namespace troupe
