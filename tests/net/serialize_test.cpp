// troupe::net serialization: round trips for every built-in kind, the wire
// form where it is part of the contract, versioning between differently
// shaped structs, ADL hooks, pids through a node's codec, and malformed
// input (every truncation, corrupted bytes, lying counts, deep nesting):
// always decode_error, never a read out of bounds.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "troupe/core/pid.hpp"
#include "troupe/net/serialize.hpp"

namespace {

namespace net = troupe::net;

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string text;
  for (const unsigned char c : bytes) {
    if (!text.empty()) text += ' ';
    text += digits[c >> 4];
    text += digits[c & 15];
  }
  return text;
}

// "02 0a ff" -> the three bytes.
std::string from_hex(std::string_view text) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < text.size(); i += 3)
    bytes += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  return bytes;
}

template <class T>
std::string encoded(const T& value, net::pid_codec* pids = nullptr) {
  std::string out;
  net::writer w(out, pids);
  net::encode(w, value);
  return out;
}

// Decodes the whole input: bytes left over are a failure.
template <class T>
T decoded(std::string_view bytes, net::pid_codec* pids = nullptr) {
  net::reader r(bytes, pids);
  T value{};
  net::decode(r, value);
  EXPECT_EQ(r.remaining(), 0u) << "bytes left after decoding " << hex(bytes);
  return value;
}

template <class T>
void expect_round_trip(const T& value) {
  const std::string bytes = encoded(value);
  EXPECT_TRUE(decoded<T>(bytes) == value) << "encoding: " << hex(bytes);
}

enum class color : std::uint8_t { red, green, blue = 200 };
enum legacy { below = -3, above = 3 };

struct nothing {
  friend bool operator==(const nothing&, const nothing&) = default;
};
struct point {
  int x = 0, y = 0;
  friend bool operator==(const point&, const point&) = default;
};
struct item {
  std::string name;
  std::int32_t count = 0;
  color shade = color::red;
  friend bool operator==(const item&, const item&) = default;
};

struct basket {
  std::vector<item> items;
  std::map<std::string, item> by_name;
  std::optional<item> favourite;
  std::variant<std::monostate, std::int64_t, item> extra;
  std::array<item, 2> ends;
  std::chrono::milliseconds age{0};
  double weight = 0;
  bool sealed = false;
  friend bool operator==(const basket&, const basket&) = default;
};

basket sample_basket() {
  const item apple{"apple", 3, color::red};
  const item pear{"pear", -1, color::blue};
  basket b;
  b.items = {apple, pear, item{}};
  b.by_name = {{"apple", apple}, {"pear", pear}};
  b.favourite = pear;
  b.extra = item{"plum", 7, color::green};
  b.ends = {apple, pear};
  b.age = std::chrono::milliseconds(-1500);
  b.weight = 2.25;
  b.sealed = true;
  return b;
}

// Field types with converting constructors of their own (optional,
// one-alternative variant, one-element tuple): counting must not trip on them.
struct awkward {
  std::optional<int> a;
  std::variant<int> b;
  std::tuple<int> c;
  std::variant<int, std::string> d;
  std::pair<int, std::string> e;
  std::vector<std::string> f;
  std::chrono::seconds g{0};
  std::unordered_map<int, point> h;
  friend bool operator==(const awkward&, const awkward&) = default;
};

struct wide {
  int f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12;
  int f13, f14, f15, f16, f17, f18, f19, f20, f21, f22, f23, f24;
  friend bool operator==(const wide&, const wide&) = default;
};

namespace sd = troupe::net::serialize_detail;
static_assert(sd::field_count<nothing>() == 0);
static_assert(sd::field_count<point>() == 2);
static_assert(sd::field_count<basket>() == 8);
static_assert(sd::field_count<awkward>() == 8);
static_assert(sd::field_count<wide>() == 24);

// Two versions of each message: v2 added fields at the end.
struct order_v1 { std::string product; int quantity = 0; double price = 0; };
struct order_v2 { std::string product; int quantity = 0; double price = 0;
                  std::vector<std::string> notes{"none"}; };
struct cart_v1 { std::vector<order_v1> orders; std::uint32_t id = 0; };
struct cart_v2 { std::vector<order_v2> orders; std::uint32_t id = 0; std::optional<std::string> coupon; };

namespace app {
int hook_calls = 0;

struct celsius {
  double degrees = 0;
  friend bool operator==(const celsius&, const celsius&) = default;
};
// Tenths of a degree as one integer, instead of the aggregate form.
void troupe_encode(net::writer& w, const celsius& c) {
  ++hook_calls;
  net::encode(w, static_cast<std::int64_t>(std::lround(c.degrees * 10)));
}
void troupe_decode(net::reader& r, celsius& c) {
  ++hook_calls;
  c.degrees = static_cast<double>(net::decode<std::int64_t>(r)) / 10;
}

struct reading {
  celsius temperature;
  std::string where;
  friend bool operator==(const reading&, const reading&) = default;
};
}  // namespace app

struct tree {
  std::vector<tree> kids;  // recursive: nesting depth comes from the input
};

tree chain(int depth) {
  tree t;
  for (int i = 0; i < depth; ++i) {
    tree parent;
    parent.kids.push_back(std::move(t));
    t = std::move(parent);
  }
  return t;
}

int depth_of(const tree& t) {
  int depth = 0;
  for (const tree* p = &t; !p->kids.empty(); p = &p->kids.front()) ++depth;
  return depth;
}

struct test_cell final : troupe::detail::cell_base {
  using cell_base::cell_base;
};
troupe::pid make_pid(std::uint64_t id) {
  auto* cell = new test_cell(id);
  troupe::pid p(cell);
  cell->release();  // the pid holds the only reference now
  return p;
}

// Writes a pid as its id; reads an id back as the pid it was written for.
class fake_codec final : public net::pid_codec {
 public:
  void encode(net::writer& w, const troupe::pid& p) override {
    ++encodes;
    seen.push_back(p);
    w.varint(p.id());
  }
  troupe::pid decode(net::reader& r) override {
    ++decodes;
    const std::uint64_t id = r.varint();
    for (const auto& p : seen)
      if (p.id() == id) return p;
    throw net::decode_error("unknown pid");
  }

  std::vector<troupe::pid> seen;
  int encodes = 0;
  int decodes = 0;
};

struct addressed {
  troupe::pid to;
  point where;
  friend bool operator==(const addressed&, const addressed&) = default;
};
struct envelope {
  troupe::pid from;
  std::vector<troupe::pid> cc;
  std::optional<addressed> forward;
  friend bool operator==(const envelope&, const envelope&) = default;
};

TEST(SerializeWire, IntegersAreVarintsAndSignedOnesZigzag) {
  EXPECT_EQ(hex(encoded(std::uint64_t{0})), "00");
  EXPECT_EQ(hex(encoded(std::uint64_t{127})), "7f");
  EXPECT_EQ(hex(encoded(std::uint64_t{300})), "ac 02");
  EXPECT_EQ(hex(encoded(std::numeric_limits<std::uint64_t>::max())), "ff ff ff ff ff ff ff ff ff 01");
  EXPECT_EQ(hex(encoded(-1)), "01");
  EXPECT_EQ(hex(encoded(1)), "02");
  EXPECT_EQ(hex(encoded(std::int8_t{-64})), "7f");
  EXPECT_EQ(hex(encoded(std::numeric_limits<std::int64_t>::min())), "ff ff ff ff ff ff ff ff ff 01");
  EXPECT_EQ(hex(encoded('A')), "41");
}

TEST(SerializeWire, FixedWidthIsLittleEndian) {
  std::string out;
  net::writer w(out);
  w.fixed64(0x0102030405060708);
  w.fixed32(0x0a0b0c0d);
  EXPECT_EQ(hex(out), "08 07 06 05 04 03 02 01 0d 0c 0b 0a");
  EXPECT_EQ(hex(encoded(1.0)), "00 00 00 00 00 00 f0 3f");
  EXPECT_EQ(hex(encoded(1.0f)), "00 00 80 3f");
}

TEST(SerializeWire, ShapesOfTheOtherKinds) {
  EXPECT_EQ(hex(encoded(true)), "01");
  EXPECT_EQ(hex(encoded(color::blue)), "c8 01");
  EXPECT_EQ(hex(encoded(std::string("hi"))), "02 68 69");
  EXPECT_EQ(hex(encoded(std::vector<int>{1, -1})), "02 02 01");
  EXPECT_EQ(hex(encoded(std::array<int, 3>{1, 2, 3})), "02 04 06");
  EXPECT_EQ(hex(encoded(std::map<int, bool>{{1, true}})), "01 02 01");
  EXPECT_EQ(hex(encoded(std::optional<int>{})), "00");
  EXPECT_EQ(hex(encoded(std::optional<int>{5})), "01 0a");
  EXPECT_EQ(hex(encoded(std::variant<int, std::string>{"x"})), "01 01 78");
  EXPECT_EQ(hex(encoded(point{1, -1})), "02 02 02 01");  // field count, byte length, fields
  EXPECT_EQ(hex(encoded(nothing{})), "00 00");
}

TEST(SerializeWire, ReaderTracksPositionAndSkipsForwardOnly) {
  std::string out;
  net::writer w(out);
  w.byte(7);
  w.bytes("abc");
  w.raw("xyz", 3);
  w.varint(300);
  EXPECT_EQ(&w.buffer(), &out);

  net::reader r(out);
  EXPECT_EQ(r.byte(), 7);
  EXPECT_EQ(r.position(), 1u);
  EXPECT_EQ(r.bytes(), "abc");
  EXPECT_EQ(r.raw(3), "xyz");
  EXPECT_EQ(r.remaining(), 2u);
  EXPECT_THROW(r.skip_to(1), net::decode_error);
  EXPECT_THROW(r.skip_to(out.size() + 1), net::decode_error);
  EXPECT_EQ(r.varint(), 300u);
  r.skip_to(out.size());
  EXPECT_THROW(r.byte(), net::decode_error);
}

template <class... T>
void expect_integer_round_trips() {
  const auto one_type = []<class I>(I) {
    using limits = std::numeric_limits<I>;
    for (const I v : {limits::min(), limits::max(), I(0), I(1), I(limits::max() / 2), I(-1)})
      expect_round_trip(v);
  };
  (one_type(T{}), ...);
}

TEST(SerializeRoundTrip, IntegersOfEveryWidthAndCharacterType) {
  expect_integer_round_trips<std::int8_t, std::int16_t, std::int32_t, std::int64_t, long long>();
  expect_integer_round_trips<std::uint8_t, std::uint16_t, std::uint32_t, std::uint64_t>();
  expect_integer_round_trips<char, signed char, wchar_t, char8_t, char16_t, char32_t>();
}

TEST(SerializeRoundTrip, BoolsEnumsAndFloats) {
  expect_round_trip(true);
  expect_round_trip(false);
  expect_round_trip(color::green);
  expect_round_trip(color::blue);
  expect_round_trip(below);
  expect_round_trip(above);
  using dl = std::numeric_limits<double>;
  for (const double d : {0.0, 1.5, -2.75, dl::max(), dl::lowest(), dl::denorm_min(), dl::infinity()})
    expect_round_trip(d);
  using fl = std::numeric_limits<float>;
  for (const float f : {0.0f, -1.25f, fl::max(), fl::denorm_min(), -fl::infinity()}) expect_round_trip(f);
  EXPECT_TRUE(std::signbit(decoded<double>(encoded(-0.0))));
}

TEST(SerializeRoundTrip, Strings) {
  expect_round_trip(std::string());
  expect_round_trip(std::string("hello"));
  expect_round_trip(std::string("a\0b", 3));
  std::string large(std::size_t{1} << 20, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 7 + i / 251);
  const std::string bytes = encoded(large);
  EXPECT_EQ(bytes.size(), large.size() + 3);  // a 3-byte length
  EXPECT_TRUE(decoded<std::string>(bytes) == large);
}

TEST(SerializeRoundTrip, Containers) {
  expect_round_trip(std::vector<int>{});
  expect_round_trip(std::vector<int>{1, -2, 3});
  expect_round_trip(std::vector<bool>{true, false, true, true});
  expect_round_trip(std::array<std::string, 2>{"a", ""});
  expect_round_trip(std::deque<std::string>{"x", "y"});
  expect_round_trip(std::list<std::int64_t>{std::numeric_limits<std::int64_t>::min(), 0});
  expect_round_trip(std::set<int>{3, 1, 2});
  expect_round_trip(std::unordered_set<std::string>{"a", "b"});
  expect_round_trip(std::map<std::string, int>{{"a", 1}, {"b", -1}});
  expect_round_trip(std::unordered_map<int, std::string>{{1, "one"}, {2, ""}});
  expect_round_trip(std::pair<int, std::string>{-3, "x"});
  expect_round_trip(std::tuple<int, std::string, double, bool>{1, "t", 0.5, true});
  expect_round_trip(std::tuple<>{});
  expect_round_trip(std::vector<std::vector<int>>{{1}, {}, {2, 3}});
  expect_round_trip(
      std::map<std::string, std::vector<item>>{{"fruit", {{"fig", 2, color::green}}}, {"none", {}}});
}

TEST(SerializeRoundTrip, OptionalVariantAndDurations) {
  expect_round_trip(std::optional<int>{});
  expect_round_trip(std::optional<int>{-7});
  expect_round_trip(std::optional<std::string>{""});
  using choice = std::variant<std::monostate, int, std::string>;
  expect_round_trip(choice{});
  expect_round_trip(choice{42});
  expect_round_trip(choice{std::string("s")});
  expect_round_trip(std::chrono::milliseconds(-1500));
  expect_round_trip(std::chrono::nanoseconds(std::numeric_limits<std::int64_t>::max()));
  expect_round_trip(std::chrono::duration<double>(1.5));
}

TEST(SerializeRoundTrip, AggregatesNestedInContainersAndEachOther) {
  expect_round_trip(point{3, -4});
  expect_round_trip(nothing{});
  expect_round_trip(basket{});
  expect_round_trip(sample_basket());
  expect_round_trip(std::vector<basket>{sample_basket(), basket{}, sample_basket()});
  expect_round_trip(awkward{5, 6, std::tuple<int>{7}, std::string("d"), {8, "e"}, {"f1", "f2"},
                            std::chrono::seconds(9), {{1, point{1, 2}}}});
  const wide w{1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
               13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24};
  expect_round_trip(w);
  EXPECT_EQ(decoded<wide>(encoded(w)).f24, 24);
}

TEST(SerializeVersioning, OlderSendersLeaveNewFieldsAtTheirDefaults) {
  const order_v1 sent{"tea", 2, 3.5};
  const auto got = decoded<order_v2>(encoded(sent));
  EXPECT_EQ(got.product, "tea");
  EXPECT_EQ(got.quantity, 2);
  EXPECT_EQ(got.price, 3.5);
  EXPECT_EQ(got.notes, std::vector<std::string>{"none"});

  const cart_v1 cart{{{"tea", 2, 3.5}, {"cake", 1, 4.0}}, 77};
  const auto newer = decoded<cart_v2>(encoded(cart));
  ASSERT_EQ(newer.orders.size(), 2u);
  EXPECT_EQ(newer.orders[1].product, "cake");
  EXPECT_EQ(newer.orders[1].notes, std::vector<std::string>{"none"});
  EXPECT_EQ(newer.id, 77u);
  EXPECT_FALSE(newer.coupon.has_value());
}

TEST(SerializeVersioning, NewerSendersExtraFieldsAreSkipped) {
  const order_v2 sent{"tea", 2, 3.5, {"gift", "fragile"}};
  std::string bytes;
  net::writer w(bytes);
  net::encode(w, sent);
  net::encode(w, 42);
  net::reader r(bytes);
  order_v1 got;
  net::decode(r, got);
  EXPECT_EQ(got.product, "tea");
  EXPECT_EQ(got.quantity, 2);
  EXPECT_EQ(got.price, 3.5);
  EXPECT_EQ(net::decode<int>(r), 42);  // the reader stopped right after the struct
  EXPECT_EQ(r.remaining(), 0u);

  const cart_v2 cart{{sent, sent}, 9, "SPRING"};
  const auto older = decoded<cart_v1>(encoded(cart));  // and used the whole input
  ASSERT_EQ(older.orders.size(), 2u);
  EXPECT_EQ(older.orders[1].product, "tea");
  EXPECT_EQ(older.id, 9u);
}

TEST(SerializeVersioning, StructLengthIsEnforced) {
  // Three fields sent, two known: the third (one byte) is skipped.
  EXPECT_TRUE(decoded<point>(from_hex("03 03 02 01 00")) == (point{1, -1}));
  // One field sent: the other is left alone.
  EXPECT_TRUE(decoded<point>(from_hex("01 01 02")) == (point{1, 0}));
  // The fields need more bytes than recorded.
  EXPECT_THROW(decoded<point>(from_hex("02 01 02 01")), net::decode_error);
  // Bytes left over, though the sender had no fields we do not know.
  EXPECT_THROW(decoded<point>(from_hex("02 03 02 01 00")), net::decode_error);
}

TEST(SerializeVersioning, IntegersWidenButMustFit) {
  EXPECT_EQ(decoded<std::int64_t>(encoded(std::int16_t{-5})), -5);
  EXPECT_EQ(decoded<std::uint32_t>(encoded(std::uint8_t{200})), 200u);
  EXPECT_THROW(decoded<std::uint8_t>(encoded(std::uint64_t{300})), net::decode_error);
  EXPECT_THROW(decoded<std::int8_t>(encoded(std::int64_t{-200})), net::decode_error);
  EXPECT_THROW(decoded<std::int32_t>(encoded(std::numeric_limits<std::int64_t>::min())),
               net::decode_error);
}

TEST(SerializeHooks, AnAdlHookReplacesTheAggregateForm) {
  app::hook_calls = 0;
  EXPECT_EQ(hex(encoded(app::celsius{21.5})), "ae 03");  // 215 tenths, zigzag
  EXPECT_EQ(app::hook_calls, 1);
  expect_round_trip(app::reading{{-4.5}, "roof"});
  EXPECT_EQ(app::hook_calls, 3);
  expect_round_trip(std::vector<app::celsius>{{1.5}, {-0.5}});
}

// Every strict prefix, each in a buffer of its own (so that a sanitizer
// sees any read past it), throws decode_error.
template <class T>
void expect_every_prefix_throws(const T& value) {
  const std::string bytes = encoded(value);
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const std::string prefix = bytes.substr(0, n);
    net::reader r(prefix);
    T got{};
    EXPECT_THROW(net::decode(r, got), net::decode_error) << n << " of " << bytes.size() << " bytes";
  }
  EXPECT_TRUE(decoded<T>(bytes) == value);
}

TEST(SerializeMalformed, EveryTruncationThrows) {
  expect_every_prefix_throws(sample_basket());
  // No length prefix around the whole: each element reads further.
  using record =
      std::tuple<std::string, std::vector<item>, std::optional<double>, std::map<int, std::string>>;
  expect_every_prefix_throws(record{"s", {{"a", 1, color::green}}, 2.5, {{1, "one"}}});
}

TEST(SerializeMalformed, CorruptedBytesThrowOrDecodeButNeverReadOutOfBounds) {
  const std::string bytes = encoded(sample_basket());
  int refused = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (const int value : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      std::string bad = bytes;
      bad[i] = static_cast<char>(value);
      net::reader r(bad);
      basket got;
      try {
        net::decode(r, got);  // any exception but decode_error fails the test
      } catch (const net::decode_error&) {
        ++refused;
      }
    }
  }
  EXPECT_GT(refused, 0);
}

TEST(SerializeMalformed, HugeCountsAndLengthsAreRefusedBeforeAllocating) {
  std::string bytes;
  net::writer w(bytes);
  w.varint(std::uint64_t{1} << 40);  // 6 bytes
  w.bytes("xyz");
  const auto expect_refused = [&](auto target) {
    net::reader r(bytes);
    EXPECT_THROW(net::decode(r, target), net::decode_error);
    EXPECT_EQ(r.position(), 6u);  // refused at the count: no element read
  };
  expect_refused(std::string{});
  expect_refused(std::vector<std::string>{});
  expect_refused(std::vector<bool>{});
  expect_refused(std::deque<int>{});
  expect_refused(std::list<int>{});
  expect_refused(std::set<int>{});
  expect_refused(std::map<int, std::string>{});
  expect_refused(std::unordered_map<std::string, int>{});
  // A count equal to the bytes left is fine (an empty string is one byte).
  EXPECT_EQ(decoded<std::vector<std::string>>(from_hex("03 00 00 00")),
            (std::vector<std::string>{"", "", ""}));
  EXPECT_THROW(decoded<std::vector<std::string>>(from_hex("04 00 00 00")), net::decode_error);

  std::string huge_struct;
  net::writer s(huge_struct);
  s.varint(2);
  s.varint(std::uint64_t{1} << 40);
  s.raw("\x02\x02", 2);
  EXPECT_THROW(decoded<point>(huge_struct), net::decode_error);
}

TEST(SerializeMalformed, BadVarintsTagsIndexesAndKeysThrow) {
  const auto read_varint = [](const std::string& bytes) {
    net::reader r(bytes);
    return r.varint();
  };
  EXPECT_EQ(read_varint(std::string(9, '\xff') + '\x01'), std::numeric_limits<std::uint64_t>::max());
  EXPECT_THROW(read_varint(std::string(9, '\xff') + '\x02'), net::decode_error);   // bit 64
  EXPECT_THROW(read_varint(std::string(10, '\x80') + '\x00'), net::decode_error);  // 11 bytes
  EXPECT_THROW(read_varint(std::string(3, '\x80')), net::decode_error);            // truncated

  EXPECT_THROW(decoded<bool>(from_hex("02")), net::decode_error);
  EXPECT_THROW(decoded<std::optional<int>>(from_hex("02 00")), net::decode_error);
  using choice = std::variant<std::monostate, int, std::string>;
  EXPECT_THROW(decoded<choice>(from_hex("03 00")), net::decode_error);
  EXPECT_THROW(decoded<choice>(from_hex("ff ff ff ff ff ff ff ff ff 01")), net::decode_error);
  using int_map = std::map<int, int>;
  EXPECT_THROW(decoded<int_map>(from_hex("02 02 02 02 04")), net::decode_error);  // key 1 twice
  EXPECT_THROW(decoded<std::set<int>>(from_hex("02 02 02")), net::decode_error);
}

TEST(SerializeMalformed, NestingIsBounded) {
  // Each tree level is a struct and a vector: 40 levels nest 82 deep.
  EXPECT_EQ(depth_of(decoded<tree>(encoded(chain(40)))), 40);
  const std::string deep = encoded(chain(300));
  EXPECT_THROW(decoded<tree>(deep), net::decode_error);
}

TEST(SerializePids, APidNeedsANode) {
  std::string out;
  net::writer w(out);
  try {
    net::encode(w, troupe::pid{});
    ADD_FAILURE() << "encoded a pid without a codec";
  } catch (const std::logic_error& e) {
    EXPECT_STREQ(e.what(), "a pid can only be encoded by a node");
  }
  EXPECT_THROW(net::encode(w, envelope{}), std::logic_error);

  const std::string zero = from_hex("00");
  net::reader r(zero);
  troupe::pid p;
  EXPECT_THROW(net::decode(r, p), net::decode_error);
}

TEST(SerializePids, PidsTravelThroughTheNodesCodec) {
  fake_codec codec;
  const troupe::pid a = make_pid(7);
  const troupe::pid b = make_pid(8);
  const troupe::pid c = make_pid(9);
  const envelope sent{a, {b, c, a}, addressed{c, {1, 2}}};
  const std::string bytes = encoded(sent, &codec);
  EXPECT_EQ(codec.encodes, 5);  // the nested struct's writer carries the codec too
  const auto got = decoded<envelope>(bytes, &codec);
  EXPECT_EQ(codec.decodes, 5);
  EXPECT_TRUE(got == sent);
  ASSERT_TRUE(got.forward.has_value());
  EXPECT_TRUE(got.forward->to == c);
}

}  // namespace
