// Selective receive, shared by coroutine actors (task.hpp) and scoped_actor:
// the value type a receive of Ts... produces, and how it is taken out of a
// message envelope.
#pragma once

#include <cstddef>
#include <variant>

#include "troupe/core/error.hpp"
#include "troupe/core/message.hpp"

namespace troupe::detail {

template <class... Ts>
struct received {
  static_assert(sizeof...(Ts) > 0, "receive<Ts...>() needs at least one message type");
  using value_type = std::variant<Ts...>;
  static constexpr type_key keys[] = {type_key_of<Ts>...};
  static constexpr std::size_t count = sizeof...(Ts);

  template <std::size_t I = 0>
  static value_type take(message& msg) {
    using T = std::variant_alternative_t<I, value_type>;
    if constexpr (I + 1 < sizeof...(Ts)) {
      if (msg.key != keys[I]) return take<I + 1>(msg);
    }
    return value_type(std::in_place_index<I>, std::move(msg.as<T>()));
  }
};

template <class T>
struct received<T> {
  using value_type = T;
  static constexpr type_key keys[] = {type_key_of<T>};
  static constexpr std::size_t count = 1;
  static value_type take(message& msg) { return std::move(msg.as<T>()); }
};

}  // namespace troupe::detail
