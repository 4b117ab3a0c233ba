// serialize: the wire encoding of values sent between troupe nodes.
//
//   net::writer w(out, pids);           // appends to std::string out; pids: the node's codec
//   net::encode(w, order{"tea", 2});
//   net::reader r(out, pids);
//   auto o = net::decode<order>(r);      // throws net::decode_error if malformed
//
// No per-type registration code. Plain aggregates (public fields, no base
// class, no constructors) are encoded field by field; the kinds below are
// built in. A type takes over its own encoding with both of these, found by ADL:
//   void troupe_encode(troupe::net::writer&, const T&);
//   void troupe_decode(troupe::net::reader&, T&);
//
// Wire form. No type tags: both ends know the type.
//   unsigned integers, char, wchar_t, charN_t   LEB128 varint
//   signed integers                            zigzag, then varint
//   bool; optional                             byte 0/1; byte 0/1, then the value
//   float, double                              IEEE bits, 4 or 8 bytes little-endian
//   std::string                                varint length, bytes
//   vector, deque, list, (unordered) set, map  varint count, elements (map: key, value)
//   std::array, pair, tuple                    the elements, no count
//   variant                                    varint index, the alternative
//   enum; chrono duration                      its underlying integer; its count
//   troupe::pid                                whatever the node's pid_codec writes
//   aggregate                                  varint field count, varint byte length, fields
//
// Versioning. An integer decodes into any integer type of the same
// signedness that holds its value. An aggregate may gain fields at its end:
// the receiver decodes the fields both versions have, leaves the ones the
// sender lacks untouched (their defaults, when decoding into a fresh T{}),
// and skips the ones it does not know (the byte length says where they
// end). Removing, reordering or retyping a field breaks the wire form.
//
// Safety. The reader never reads outside its input: every read checks the
// bytes left and throws decode_error. A length or element count larger than
// the bytes left is refused before anything is allocated for it, so every
// element must encode to at least one byte (containers of std::monostate or
// std::tuple<> do not compile; a troupe_encode hook for a type kept in
// containers must write a byte). Containers and structs nest at most 100
// deep. On decode_error the target holds a valid but unspecified value.
//
// Not supported (compile errors): aggregates with a base class, C-array,
// reference or bit-field members, or more than 24 fields; pointers;
// long double. A writer or reader belongs to one thread at a time.
#pragma once

#include <array>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "troupe/core/pid.hpp"
#include "troupe/net/fields.hpp"

namespace troupe::net {

class decode_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class writer;
class reader;

// How pids travel: only a node knows how to name its actors to another.
struct pid_codec {
  virtual ~pid_codec() = default;
  // Writes `p` so that the peer's decode names the same actor.
  virtual void encode(writer& out, const troupe::pid& p) = 0;
  // Reads a pid a peer's encode wrote.
  virtual troupe::pid decode(reader& in) = 0;  // throws decode_error
};

// Appends to a string it does not own.
class writer {
 public:
  // Appends to `out`; `codec` writes pids (null: none may be written).
  explicit writer(std::string& out, pid_codec* codec = nullptr) noexcept : pids(codec), out_(&out) {}

  // One byte, as is.
  void byte(std::uint8_t b) { out_->push_back(static_cast<char>(b)); }
  // LEB128: 7 bits a byte, lowest first; at most 10 bytes.
  void varint(std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    for (; v >= 0x80; v >>= 7) buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    buf[n++] = static_cast<char>(v);
    out_->append(buf, n);
  }
  // 4 bytes, little-endian.
  void fixed32(std::uint32_t v) { little_endian(v, 4); }
  // 8 bytes, little-endian.
  void fixed64(std::uint64_t v) { little_endian(v, 8); }
  // A varint length, then the bytes.
  void bytes(std::string_view s) {
    varint(s.size());
    out_->append(s);
  }
  // `n` bytes as they are, with no length.
  void raw(const void* data, std::size_t n) {
    if (n != 0) out_->append(static_cast<const char*>(data), n);
  }
  // The string being appended to.
  std::string& buffer() noexcept { return *out_; }

  // The node's pid codec.
  pid_codec* pids;  // null outside a node: encoding a pid then throws std::logic_error

 private:
  void little_endian(std::uint64_t v, std::size_t n) {
    char buf[8];
    for (std::size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(v >> (8 * i));
    out_->append(buf, n);
  }
  std::string* out_;
};

namespace serialize_detail {
class nesting;
}

// Reads a view it does not own; the bytes must outlive the reader.
class reader {
 public:
  // Reads `in` from its start; `codec` reads pids (null: none may be read).
  explicit reader(std::string_view in, pid_codec* codec = nullptr) noexcept : pids(codec), in_(in) {}

  // One byte.
  std::uint8_t byte() {
    need(1, "a byte");
    return static_cast<std::uint8_t>(in_[pos_++]);
  }
  // At most 10 bytes, and the 10th may only hold bit 63.
  std::uint64_t varint() {
    std::uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      need(1, "a varint");
      const auto b = static_cast<std::uint8_t>(in_[pos_++]);
      if (shift == 63 && b > 1) throw decode_error("varint longer than 10 bytes or over 64 bits");
      value |= std::uint64_t{b & 0x7fu} << shift;
      if (b < 0x80) return value;
    }
  }
  // 4 bytes, little-endian.
  std::uint32_t fixed32() { return static_cast<std::uint32_t>(little_endian(4, "a fixed32")); }
  // 8 bytes, little-endian.
  std::uint64_t fixed64() { return little_endian(8, "a fixed64"); }
  // A view into the input.
  std::string_view bytes() { return take(varint(), "a string"); }
  // The next `n` bytes, as a view into the input.
  std::string_view raw(std::size_t n) { return take(n, "raw bytes"); }

  // Bytes left to read (inside a struct, to the struct's end).
  std::size_t remaining() const noexcept { return in_.size() - pos_; }
  // Bytes read so far, counted from the start of the input.
  std::size_t position() const noexcept { return pos_; }
  // Forward only, and not past the end of the input (or of the struct
  // being decoded).
  void skip_to(std::size_t pos) {
    if (pos < pos_ || pos > in_.size()) throw decode_error("skip_to outside the input left");
    pos_ = pos;
  }

  // The node's pid codec.
  pid_codec* pids;  // null outside a node: decoding a pid then throws decode_error

 private:
  friend class serialize_detail::nesting;

  void need(std::uint64_t n, const char* what) const {
    if (n > remaining()) throw decode_error(std::string("truncated input reading ") + what);
  }
  std::string_view take(std::uint64_t n, const char* what) {
    need(n, what);
    const auto s = in_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += s.size();
    return s;
  }
  std::uint64_t little_endian(std::size_t n, const char* what) {
    need(n, what);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= std::uint64_t{static_cast<std::uint8_t>(in_[pos_++])} << (8 * i);
    return v;
  }

  std::string_view in_;  // while decoding a struct, cut at its recorded end
  std::size_t pos_ = 0;  // invariant: pos_ <= in_.size()
  int depth_ = 0;        // containers and structs being decoded
};

template <class T>
void encode(writer& w, const T& value);
template <class T>
void decode(reader& r, T& value);

// Decodes into a fresh T{} and returns it.
template <class T>
T decode(reader& r) {
  T value{};
  net::decode(r, value);
  return value;
}

namespace serialize_detail {

// False for every type: a static_assert on it fails only if instantiated.
template <class>
inline constexpr bool always_false = false;

// Whether T is Template<...> (type parameters only).
template <class T, template <class...> class Template>
inline constexpr bool is_instance = false;
// The match: T is an instance of Template.
template <template <class...> class Template, class... Args>
inline constexpr bool is_instance<Template<Args...>, Template> = true;

// Whether T is a std::array.
template <class T>
inline constexpr bool is_std_array = false;
template <class E, std::size_t N>
inline constexpr bool is_std_array<std::array<E, N>> = true;

// vector, deque and list: decoded with push_back.
template <class T>
inline constexpr bool is_sequence =
    is_instance<T, std::vector> || is_instance<T, std::deque> || is_instance<T, std::list>;
// set and unordered_set.
template <class T>
inline constexpr bool is_set = is_instance<T, std::set> || is_instance<T, std::unordered_set>;
// map and unordered_map.
template <class T>
inline constexpr bool is_map = is_instance<T, std::map> || is_instance<T, std::unordered_map>;
// The kinds encoded as a count, then the elements.
template <class T>
inline constexpr bool is_container = is_sequence<T> || is_set<T> || is_map<T>;
// Encoded field by field, with a count and a byte length.
template <class T>
inline constexpr bool is_aggregate = std::is_class_v<T> && std::is_aggregate_v<T>;

// Types whose encoding can be zero bytes: no container may hold them.
template <class T>
inline constexpr bool may_be_empty = std::is_same_v<T, std::monostate>;
template <class... E>
inline constexpr bool may_be_empty<std::tuple<E...>> = (may_be_empty<E> && ...);
template <class A, class B>
inline constexpr bool may_be_empty<std::pair<A, B>> = may_be_empty<A> && may_be_empty<B>;
template <class E, std::size_t N>
inline constexpr bool may_be_empty<std::array<E, N>> = N == 0 || may_be_empty<E>;

// Plain char and wchar_t travel as unsigned code units whatever their
// signedness on this platform.
template <class T>
inline constexpr bool wire_unsigned =
    std::is_unsigned_v<T> || std::is_same_v<T, char> || std::is_same_v<T, wchar_t>;

// User hooks. The deleted declarations stop ordinary lookup here, so only
// ADL finds a hook.
void troupe_encode() = delete;
void troupe_decode() = delete;
template <class T>
concept has_encode_hook = requires(writer& w, const T& v) { troupe_encode(w, v); };
template <class T>
concept has_decode_hook = requires(reader& r, T& v) { troupe_decode(r, v); };
// Calls T's troupe_encode, found by ADL.
template <class T>
void call_encode_hook(writer& w, const T& v) { troupe_encode(w, v); }
// Calls T's troupe_decode, found by ADL.
template <class T>
void call_decode_hook(reader& r, T& v) { troupe_decode(r, v); }

// How deep containers and structs may nest in an input.
inline constexpr int max_nesting = 100;

// Held while decoding a container's or a struct's contents. It bounds
// nesting (else a hostile input could recurse through a recursive type
// until the stack overflows) and, for a struct, cuts the input at the
// struct's recorded end, so that no field reads past it.
class nesting {
 public:
  // One level deeper, with the input cut at position `end` (a struct);
  // throws decode_error past max_nesting.
  nesting(reader& r, std::size_t end) : r_(r), saved_(r.in_) {
    if (r.depth_ == max_nesting) throw decode_error("input nested more than 100 deep");
    ++r.depth_;
    r.in_ = r.in_.substr(0, end);
  }
  // One level deeper, the input left whole (a container).
  explicit nesting(reader& r) : nesting(r, r.in_.size()) {}
  ~nesting() {
    r_.in_ = saved_;
    --r_.depth_;
  }
  nesting(const nesting&) = delete;
  nesting& operator=(const nesting&) = delete;

 private:
  reader& r_;
  std::string_view saved_;
};

// Unsigned (and plain char, wchar_t) as a varint; signed zigzagged first,
// so that small negative numbers stay short.
template <class T>
void encode_integer(writer& w, T v) {
  static_assert(sizeof(T) <= 8, "troupe::net: integers wider than 64 bits have no wire form");
  if constexpr (wire_unsigned<T>) {
    w.varint(static_cast<std::make_unsigned_t<T>>(v));
  } else {
    const auto s = static_cast<std::int64_t>(v);
    w.varint((static_cast<std::uint64_t>(s) << 1) ^ static_cast<std::uint64_t>(s >> 63));
  }
}

// The inverse of encode_integer; decode_error if the value does not fit T.
template <class T>
void decode_integer(reader& r, T& v) {
  const std::uint64_t raw = r.varint();
  if constexpr (wire_unsigned<T>) {
    using U = std::make_unsigned_t<T>;
    if (!std::in_range<U>(raw)) throw decode_error("integer out of range for its type");
    v = static_cast<T>(static_cast<U>(raw));
  } else {
    const auto s = static_cast<std::int64_t>((raw >> 1) ^ (0 - (raw & 1)));
    if (!std::in_range<T>(s)) throw decode_error("integer out of range for its type");
    v = static_cast<T>(s);
  }
}

// An element count, refused when larger than the bytes left.
template <class Element>
std::size_t read_count(reader& r) {
  static_assert(!may_be_empty<Element>,
                "troupe::net: a container's elements must encode to at least one byte");
  const std::uint64_t n = r.varint();
  if (n > r.remaining()) throw decode_error("truncated input reading a container");
  return static_cast<std::size_t>(n);
}

// Reserves at most about 1 MiB up front: the count is checked only against
// the bytes left, and an element may be much larger in memory than on the wire.
template <class C>
void reserve_some(C& c, std::size_t n) {
  constexpr std::size_t cap = (std::size_t{1} << 20) / sizeof(typename C::value_type) + 1;
  if constexpr (requires(C& x) { x.reserve(std::size_t{}); }) c.reserve(n < cap ? n : cap);
}

// What a container's element is on the wire: a map's is (key, value).
template <class C>
struct element {
  // The element's type.
  using type = typename C::value_type;
};
template <class K, class V, class... R>
struct element<std::map<K, V, R...>> { using type = std::pair<K, V>; };
template <class K, class V, class... R>
struct element<std::unordered_map<K, V, R...>> { using type = std::pair<K, V>; };

// Replaces c's contents with the count and elements read; a duplicate key
// in a set or map is a decode_error.
template <class C>
void decode_container(reader& r, C& c) {
  using element_type = typename element<C>::type;
  const std::size_t n = read_count<element_type>(r);
  nesting scope(r);
  c.clear();
  reserve_some(c, n);
  for (std::size_t i = 0; i < n; ++i) {
    element_type e{};
    net::decode(r, e);
    if constexpr (is_sequence<C>)
      c.push_back(std::move(e));
    else if (!c.insert(std::move(e)).second)
      throw decode_error("duplicate key in a set or map");
  }
}

template <class... A>
void decode_variant(reader& r, std::variant<A...>& v) {
  const std::uint64_t index = r.varint();
  if (index >= sizeof...(A)) throw decode_error("variant index out of range");
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    // Exactly one I is the index: make that alternative and decode into it.
    (void)((I == index && (net::decode(r, v.template emplace<I>()), true)) || ...);
  }(std::index_sequence_for<A...>{});
}

template <class T>
void encode_aggregate(writer& w, const T& v) {
  // The byte length goes before the fields, so the fields are encoded
  // apart first: one copy of their bytes per nested aggregate.
  std::string body;
  writer fields(body, w.pids);
  for_fields(v, [&](const auto&... field) { (net::encode(fields, field), ...); });
  w.varint(field_count<T>());
  w.bytes(body);
}

// Reads the fields both versions have, leaves those the sender lacks, and
// skips those a newer sender added.
template <class T>
void decode_aggregate(reader& r, T& v) {
  constexpr std::size_t own = field_count<T>();
  const std::uint64_t sent = r.varint();
  const std::uint64_t length = r.varint();
  if (length > r.remaining()) throw decode_error("truncated input reading a struct");
  const std::size_t end = r.position() + static_cast<std::size_t>(length);
  nesting scope(r, end);  // no field reads past `end`
  std::uint64_t index = 0;
  for_fields(v, [&](auto&... field) { ((index++ < sent ? net::decode(r, field) : void()), ...); });
  if (sent <= own && r.position() != end)
    throw decode_error("a struct's fields do not fill its recorded length");
  r.skip_to(end);  // past the fields of a newer sender's version
}

}  // namespace serialize_detail

template <class T>
void encode(writer& w, const T& v) {
  namespace sd = serialize_detail;
  static_assert(sd::has_encode_hook<T> == sd::has_decode_hook<T>,
                "troupe::net: define both troupe_encode and troupe_decode for a type, or neither");
  if constexpr (sd::has_encode_hook<T>) {
    sd::call_encode_hook(w, v);
  } else if constexpr (std::is_same_v<T, troupe::pid>) {
    if (!w.pids) throw std::logic_error("a pid can only be encoded by a node");
    w.pids->encode(w, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    w.byte(v ? 1 : 0);
  } else if constexpr (std::is_enum_v<T>) {
    net::encode(w, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {
    sd::encode_integer(w, v);
  } else if constexpr (std::is_same_v<T, float>) {
    w.fixed32(std::bit_cast<std::uint32_t>(v));
  } else if constexpr (std::is_same_v<T, double>) {
    w.fixed64(std::bit_cast<std::uint64_t>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    w.bytes(v);
  } else if constexpr (std::is_same_v<T, std::monostate>) {
    // nothing to send
  } else if constexpr (sd::is_instance<T, std::chrono::duration>) {
    net::encode(w, v.count());
  } else if constexpr (sd::is_instance<T, std::optional>) {
    w.byte(v.has_value() ? 1 : 0);
    if (v) net::encode(w, *v);
  } else if constexpr (sd::is_instance<T, std::variant>) {
    if (v.valueless_by_exception()) throw std::logic_error("a valueless variant cannot be encoded");
    w.varint(v.index());
    std::visit([&](const auto& alternative) { net::encode(w, alternative); }, v);
  } else if constexpr (sd::is_instance<T, std::pair> || sd::is_instance<T, std::tuple>) {
    std::apply([&](const auto&... e) { (net::encode(w, e), ...); }, v);
  } else if constexpr (sd::is_std_array<T>) {
    for (const auto& e : v) net::encode(w, e);
  } else if constexpr (sd::is_container<T>) {
    w.varint(v.size());
    for (const auto& e : v) net::encode(w, e);  // a map's: pair<const K, V>
  } else if constexpr (sd::is_aggregate<T>) {
    sd::encode_aggregate(w, v);
  } else {
    static_assert(sd::always_false<T>,
                  "troupe::net: no wire form for this type; give it troupe_encode/troupe_decode");
  }
}

template <class T>
void decode(reader& r, T& v) {
  namespace sd = serialize_detail;
  static_assert(sd::has_encode_hook<T> == sd::has_decode_hook<T>,
                "troupe::net: define both troupe_encode and troupe_decode for a type, or neither");
  if constexpr (sd::has_decode_hook<T>) {
    sd::call_decode_hook(r, v);
  } else if constexpr (std::is_same_v<T, troupe::pid>) {
    if (!r.pids) throw decode_error("a pid can only be decoded by a node");
    v = r.pids->decode(r);
  } else if constexpr (std::is_same_v<T, bool>) {
    const std::uint8_t b = r.byte();
    if (b > 1) throw decode_error("bool is neither 0 nor 1");
    v = b == 1;
  } else if constexpr (std::is_enum_v<T>) {
    std::underlying_type_t<T> underlying{};
    net::decode(r, underlying);
    v = static_cast<T>(underlying);
  } else if constexpr (std::is_integral_v<T>) {
    sd::decode_integer(r, v);
  } else if constexpr (std::is_same_v<T, float>) {
    v = std::bit_cast<float>(r.fixed32());
  } else if constexpr (std::is_same_v<T, double>) {
    v = std::bit_cast<double>(r.fixed64());
  } else if constexpr (std::is_same_v<T, std::string>) {
    v.assign(r.bytes());
  } else if constexpr (std::is_same_v<T, std::monostate>) {
    // nothing was sent
  } else if constexpr (sd::is_instance<T, std::chrono::duration>) {
    typename T::rep count{};
    net::decode(r, count);
    v = T(count);
  } else if constexpr (sd::is_instance<T, std::optional>) {
    const std::uint8_t tag = r.byte();
    if (tag > 1) throw decode_error("optional tag is neither 0 nor 1");
    v.reset();
    if (tag == 1) net::decode(r, v.emplace());
  } else if constexpr (sd::is_instance<T, std::variant>) {
    sd::decode_variant(r, v);
  } else if constexpr (sd::is_instance<T, std::pair> || sd::is_instance<T, std::tuple>) {
    std::apply([&](auto&... e) { (net::decode(r, e), ...); }, v);
  } else if constexpr (sd::is_std_array<T>) {
    for (auto& e : v) net::decode(r, e);
  } else if constexpr (sd::is_container<T>) {
    sd::decode_container(r, v);
  } else if constexpr (sd::is_aggregate<T>) {
    sd::decode_aggregate(r, v);
  } else {
    static_assert(sd::always_false<T>,
                  "troupe::net: no wire form for this type; give it troupe_encode/troupe_decode");
  }
}

}  // namespace troupe::net
