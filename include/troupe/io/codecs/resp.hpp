// resp: the Redis serialization protocol, version 2 (RESP2).
//
// One codec for both ends: a server parses commands and encodes replies, a
// client does the reverse; both are `value`s. On the wire:
//
//   +OK\r\n             simple string      -ERR msg\r\n     error
//   :42\r\n             integer            $3\r\nfoo\r\n    bulk string
//   $-1\r\n             null (bulk)        *-1\r\n          null array
//   *2\r\n$1\r\na\r\n:1\r\n                array of any values, nested too
//
// parse() also takes "inline commands", a line typed by hand (telnet,
// `redis-cli` piping): `SET a b\r\n` is the array of bulk strings
// ["SET", "a", "b"], split at spaces and tabs; "\n" alone ends the line too.
// Empty inline lines are skipped: they are consumed with the next value.
//
// Malformed input or input over a limit is a parse_error whose reply is the
// "-ERR Protocol error: <reason>\r\n" Redis sends before closing. Limits are
// checked before anything is allocated for a value: a length line is refused
// as soon as it is read, not when its payload has arrived.
//
// The codec keeps no state that changes an answer: a frame is first
// checked for completeness without allocating, then built, so a large
// frame that arrives in many reads is not built over and over; the check
// of a frame still arriving is kept and resumed by the next parse, so it
// costs work linear in the frame however it is split.
// One connection's thread uses a codec at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "troupe/io/codec.hpp"

namespace troupe::io::resp {

// A value's RESP type: which of value's fields hold it.
enum class kind : std::uint8_t { simple, error, integer, bulk, null, array, null_array };

// A RESP value. Only the fields of its kind are meaningful (str for simple,
// error and bulk; integer; elements for array); the factories leave the
// others empty, and == compares only the meaningful ones.
struct value {
  // Which kind of value this is; a default value is a null bulk string.
  kind type = kind::null;
  // The text of a simple string, an error or a bulk string.
  std::string str;              // simple, error, bulk
  // The number of an integer.
  std::int64_t integer = 0;     // integer
  // The items of an array, in order.
  std::vector<value> elements;  // array

  // A simple string (+OK): one line, no CR or LF.
  static value simple(std::string s) { return with_text(kind::simple, std::move(s)); }
  // An error reply (-ERR msg): s is the text after the '-'.
  static value error(std::string s) { return with_text(kind::error, std::move(s)); }
  // A bulk string ($3 foo): any bytes.
  static value bulk(std::string s) { return with_text(kind::bulk, std::move(s)); }
  // An integer (:42).
  static value number(std::int64_t n) {
    value v;
    v.type = kind::integer;
    v.integer = n;
    return v;
  }
  // The null bulk string ($-1).
  static value null() { return value{}; }
  // The null array (*-1).
  static value null_array() {
    value v;
    v.type = kind::null_array;
    return v;
  }
  // An array of items, which may be arrays themselves.
  static value array(std::vector<value> items) {
    value v;
    v.type = kind::array;
    v.elements = std::move(items);
    return v;
  }
  // A command as clients send it: an array of bulk strings.
  static value command(std::initializer_list<std::string_view> args);

  // True for an array (not the null array).
  bool is_array() const noexcept { return type == kind::array; }
  // True for either null: the null bulk string or the null array.
  bool is_null() const noexcept { return type == kind::null || type == kind::null_array; }
  // True for an error reply.
  bool is_error() const noexcept { return type == kind::error; }
  // True for a simple or bulk string.
  bool is_string() const noexcept { return type == kind::simple || type == kind::bulk; }
  // An array's item count; 0 for any other kind.
  std::size_t size() const noexcept { return elements.size(); }
  // An array's i-th item; i must be below size().
  const value& operator[](std::size_t i) const { return elements[i]; }

  // Same kind and same meaningful fields; a null equals only the same null.
  friend bool operator==(const value& a, const value& b);

 private:
  static value with_text(kind k, std::string s) {
    value v;
    v.type = k;
    v.str = std::move(s);
    return v;
  }
};

// The value as redis-cli prints it: OK, (error) ERR x, (integer) 1, "bulk",
// (nil), (empty array), and numbered, indented lines for arrays. For logs,
// tests and demos; not a wire format.
std::string to_string(const value& v);

// RESP2 both ways: commands and replies are both values.
struct codec {
  // A parsed command or reply.
  using input = value;
  // A command or reply to encode.
  using output = value;

  // Largest bulk string, in bytes (default 512 MiB).
  std::size_t max_bulk = 512u << 20;    // bytes in a bulk string (Redis's proto-max-bulk-len)
  // Most elements in one array (default 1 Mi).
  std::size_t max_elements = 1u << 20;  // elements in one array
  // Longest line, in bytes (default 64 KiB): inline commands, simple strings, errors.
  std::size_t max_inline = 64u << 10;   // bytes in an inline command, a simple string or an error line
  // Deepest nesting of arrays in arrays (default 32).
  std::size_t max_depth = 32;           // arrays nested in arrays

  // One value and the bytes it used (with any empty inline lines before it),
  // need_more, or a protocol error. After need_more, the next call must
  // offer the same frame again (the codec contract): its scan resumes where
  // it stopped, so a frame that arrives in many pieces costs work linear in
  // its size, however it is split.
  parsed<value> parse(std::string_view bytes) const;
  // Bytes the parser has looked at since construction: the measure of its
  // work that the linear bound above is about (for tests and metrics).
  std::uint64_t examined() const noexcept { return examined_; }
  // True between a need_more for a frame and the parse that completes it.
  bool mid_frame() const noexcept { return partial_.active; }
  // Appends v's encoding to out. CR and LF inside a simple string or an
  // error, which cannot carry them, are sent as spaces.
  void encode(const value& v, std::string& out) const;

 private:
  // The scan of a frame that needed more bytes (see parse). Mutable: a
  // cache of work done, which changes no answer.
  struct partial_scan {
    bool active = false;
    std::size_t start = 0;      // where the frame starts (after empty lines)
    std::size_t resume_at = 0;  // the next value to scan
    std::vector<std::size_t> open;  // elements still to come, per open array
    std::array<char, 16> head{};    // the frame's first bytes: resumed only if they match
    std::size_t head_len = 0;
    // Keep open's capacity: a frame costs no allocation once one has.
    void begin(std::size_t at) {
      reset();
      active = true;
      start = resume_at = at;
    }
    void reset() {
      active = false;
      start = resume_at = head_len = 0;
      open.clear();
    }
  };
  mutable partial_scan partial_;
  mutable std::uint64_t examined_ = 0;
};

}  // namespace troupe::io::resp
