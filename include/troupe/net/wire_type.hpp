// wire_type: which C++ types may cross the network, and their stable names.
//
//   struct order { std::string item; int qty; };        // a plain aggregate
//   troupe::net::register_type<order>("shop.order");    // on every node
//
// A message travels as its registered name and its encoding
// (serialize.hpp). Both ends register the type under the same name; the
// C++ type may differ between versions (fields added at the end). A send
// of an unregistered type goes to dead letters on the sender ("not a wire
// type"); a name the receiver does not know goes to its dead letters. The
// registry is process-wide; registering the same type twice under the same
// name is harmless, a conflicting name throws std::logic_error.
// std::string, bool, the integer types, double and troupe::pid come
// registered ("string", "bool", "i32", "u32", "i64", "u64", "f64", "pid").
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "troupe/core/message.hpp"
#include "troupe/net/serialize.hpp"

namespace troupe::net {

// A registry entry: a type's stable name and its type-erased encoding.
struct wire_type_info {
  // The name both ends register the type under ("shop.order").
  std::string name;
  // The C++ type it stands for on this node.
  type_key key = nullptr;
  // Writes the T that `value` points to.
  void (*encode)(writer& out, const void* value) = nullptr;
  // A new message holding the decoded value (throws decode_error).
  troupe::detail::message* (*decode)(reader& in) = nullptr;
};

// Registers an entry. The same type under the same name again is a no-op;
// a name or type already taken otherwise throws std::logic_error.
void add_wire_type(wire_type_info info);
// Null when the type or name is not registered. The entries live as long
// as the process.
const wire_type_info* wire_type_of(type_key key);
// The entry registered under `name`, or null.
const wire_type_info* wire_type_named(std::string_view name);

// T's entry: its name, and its encoding as a type-erased pair.
template <class T>
wire_type_info wire_type_for(std::string name) {
  static_assert(std::is_default_constructible_v<T>, "a wire type needs a default constructor");
  wire_type_info info;
  info.name = std::move(name);
  info.key = type_key_of<T>;
  info.encode = [](writer& out, const void* value) { net::encode(out, *static_cast<const T*>(value)); };
  info.decode = [](reader& in) -> troupe::detail::message* {
    auto msg = std::make_unique<troupe::detail::typed_message<T>>();
    net::decode(in, msg->value);
    return msg.release();
  };
  return info;
}

// Makes T a wire type named `name`; do it on every node that sends or
// receives T, before the first one crosses.
template <class T>
void register_type(std::string name) {
  add_wire_type(wire_type_for<T>(std::move(name)));
}

// What a receiver makes of a message whose type it does not know: it goes
// to dead letters under this type, which names the sender's type.
struct unknown_wire_type {
  // The name the sender's type is registered under.
  std::string name;
};

}  // namespace troupe::net
