// fields: a plain aggregate's fields, without per-type code (serialize.hpp
// encodes aggregates with it). The field count is the most initializers
// T{...} accepts; the fields are reached through structured bindings.
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace troupe::net::serialize_detail {

// Aggregates: the number of fields is the most initializers T{...} takes,
// each one an any_field that converts to whatever its field is.
inline constexpr std::size_t max_fields = 24;

// A stand-in initializer that converts to any field's type; the index only
// makes each one a distinct type in a pack.
template <std::size_t>
struct any_field {
  // Declared only (unevaluated use). `const&`: a field type's own
  // converting constructor taking any_field&& (std::optional's, say) then
  // wins over this instead of being ambiguous with it.
  template <class U>
  operator U() const&;
};

// Whether T{...} accepts sizeof...(I) initializers, each an any_field.
template <class T, std::size_t... I>
constexpr bool initializable_from(std::index_sequence<I...>) {
  return requires { T{any_field<I>{}...}; };
}

// max_fields + 1 means "more than max_fields".
template <class T, std::size_t N = max_fields + 1>
constexpr std::size_t field_count() {
  if constexpr (N == 0 || initializable_from<T>(std::make_index_sequence<N>{}))
    return N;
  else
    return field_count<T, N - 1>();
}

// Calls fn with every field of `obj`, in declaration order.
template <class T, class F>
void for_fields(T& obj, F&& fn) {
  constexpr std::size_t count = field_count<std::remove_const_t<T>>();
  static_assert(count <= max_fields,
                "troupe::net: an aggregate of more than 24 fields needs troupe_encode/troupe_decode");
  // clang-format off
  if constexpr (count == 0) { (void)obj; fn(); }
  else if constexpr (count == 1) { auto& [a] = obj; fn(a); }
  else if constexpr (count == 2) { auto& [a, b] = obj; fn(a, b); }
  else if constexpr (count == 3) { auto& [a, b, c] = obj; fn(a, b, c); }
  else if constexpr (count == 4) { auto& [a, b, c, d] = obj; fn(a, b, c, d); }
  else if constexpr (count == 5) { auto& [a, b, c, d, e] = obj; fn(a, b, c, d, e); }
  else if constexpr (count == 6) { auto& [a, b, c, d, e, f] = obj; fn(a, b, c, d, e, f); }
  else if constexpr (count == 7) { auto& [a, b, c, d, e, f, g] = obj; fn(a, b, c, d, e, f, g); }
  else if constexpr (count == 8) { auto& [a, b, c, d, e, f, g, h] = obj; fn(a, b, c, d, e, f, g, h); }
  else if constexpr (count == 9) { auto& [a, b, c, d, e, f, g, h, i] = obj;
                                   fn(a, b, c, d, e, f, g, h, i); }
  else if constexpr (count == 10) { auto& [a, b, c, d, e, f, g, h, i, j] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j); }
  else if constexpr (count == 11) { auto& [a, b, c, d, e, f, g, h, i, j, k] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k); }
  else if constexpr (count == 12) { auto& [a, b, c, d, e, f, g, h, i, j, k, l] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l); }
  else if constexpr (count == 13) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m); }
  else if constexpr (count == 14) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n); }
  else if constexpr (count == 15) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o); }
  else if constexpr (count == 16) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p); }
  else if constexpr (count == 17) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q); }
  else if constexpr (count == 18) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r); }
  else if constexpr (count == 19) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s); }
  else if constexpr (count == 20) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t); }
  else if constexpr (count == 21) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u); }
  else if constexpr (count == 22) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v); }
  else if constexpr (count == 23) { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w] = obj;
                                    fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w); }
  else { auto& [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x] = obj;
         fn(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, q, r, s, t, u, v, w, x); }
  // clang-format on
}

}  // namespace troupe::net::serialize_detail
