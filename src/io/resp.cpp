// RESP2 parsing and encoding.
//
// parse() makes two passes over a frame. The scanner checks it and finds its
// end without allocating anything; only a complete, valid frame is then
// built, by build(), which checks nothing again. So incomplete input costs a
// scan and no allocation, and since lengths let the scan skip bulk payloads,
// a scan costs O(elements), not O(bytes). A scan stopped for more bytes is
// kept (codec::partial_scan: where the next value starts and what each open
// array still holds) and resumed by the next call, which the codec contract
// says offers the same frame again: a frame trickled in costs O(elements)
// in all, not per piece. Every length is checked against its
// limit as soon as its line is read, before its payload is waited for, and
// the vectors build() reserves are as long as elements the scan has seen.
//
// Number lines hold at most max_number_line bytes and are read with
// std::from_chars into an int64_t, which reports overflow; a longer line is
// refused without waiting for its end.
#include "troupe/io/codecs/resp.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <system_error>
#include <utility>

static_assert(troupe::io::codec<troupe::io::resp::codec>);

namespace troupe::io::resp {
namespace {

enum class step : std::uint8_t { done, more, bad };

// Bytes between a number line's type byte and its "\r\n": a sign and 19
// digits need 20; the rest allows leading zeros.
constexpr std::size_t max_number_line = 32;

bool is_type_byte(char c) noexcept { return c == '+' || c == '-' || c == ':' || c == '$' || c == '*'; }

bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

// The whole of s as a decimal int64_t ("-" allowed, "+" not), like Redis's string2ll.
bool to_int(std::string_view s, std::int64_t& out) noexcept {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc{} && ptr == end;
}

// A byte for an error message, which must not carry CR or LF.
std::string quoted_byte(char c) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7f) return std::string{'\'', c, '\''};
  return std::string{'\'', '\\', 'x', hex[u >> 4], hex[u & 15], '\''};
}

parse_error protocol_error(std::string reason) {
  std::string reply;
  reply.reserve(reason.size() + 24);
  reply.append("-ERR Protocol error: ").append(reason).append("\r\n");
  return parse_error{std::move(reason), std::move(reply)};
}

// Calls f(word) for each run of bytes between spaces and tabs.
template <class F>
void for_each_word(std::string_view line, F&& f) {
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && is_blank(line[i])) ++i;
    if (i == line.size()) return;
    const std::size_t start = i;
    while (i < line.size() && !is_blank(line[i])) ++i;
    f(line.substr(start, i - start));
  }
}

// Checks the frame that starts at a position and finds its end.
class scanner {
 public:
  scanner(const codec& lim, std::string_view in, std::uint64_t& examined) noexcept
      : lim_(lim), in_(in), examined_(examined) {}

  // Scans values from `pos` until the frame ends (done: pos is one past
  // it). `open` holds, for each array around the position, how many of its
  // elements are still to come, so that a scan stopped by `more` resumes
  // from pos and open, with more bytes, where it stopped: pos is then the
  // start of a value not yet scanned (nothing is half-read), and resuming
  // gives the answer a scan from the frame's start would.
  step frame(std::size_t& pos, std::vector<std::size_t>& open) {
    for (;;) {
      if (pos == in_.size()) return step::more;
      if (in_[pos] == '*') {
        std::size_t at = pos;
        std::int64_t n = 0;
        const step s = number(at, "invalid multibulk length", n);
        if (s != step::done) return s;
        if (n != -1 && (n < 0 || static_cast<std::uint64_t>(n) > lim_.max_elements))
          return fail("invalid multibulk length");
        if (n >= 0 && open.size() >= lim_.max_depth)
          return fail("arrays nested deeper than " + std::to_string(lim_.max_depth));
        pos = at;
        if (n > 0) {
          open.push_back(static_cast<std::size_t>(n));
          continue;  // its first element
        }
      } else {
        std::size_t at = pos;  // value_at moves it past a bulk's header before its payload is in
        const step s = value_at(at);
        if (s != step::done) return s;
        pos = at;
      }
      // A value ended at pos: count it in the arrays it closes.
      while (!open.empty() && --open.back() == 0) open.pop_back();
      if (open.empty()) return step::done;
    }
  }

  // A value that is not an array; on done, pos is one past it.
  step value_at(std::size_t& pos) {
    if (pos == in_.size()) return step::more;
    const char type = in_[pos];
    switch (type) {
      case '+':
      case '-': {
        std::size_t cr = 0;
        const step s = line(pos + 1, lim_.max_inline, type == '+' ? "too big simple string" : "too big error string", cr);
        if (s == step::done) pos = cr + 2;
        return s;
      }
      case ':': {
        std::int64_t n = 0;
        return number(pos, "invalid integer", n);
      }
      case '$': {
        std::int64_t n = 0;
        const step s = number(pos, "invalid bulk length", n);
        if (s != step::done || n == -1) return s;
        if (n < 0 || static_cast<std::uint64_t>(n) > lim_.max_bulk) return fail("invalid bulk length");
        const auto len = static_cast<std::size_t>(n);
        const std::size_t avail = in_.size() - pos;
        if (avail <= len) return step::more;
        if (in_[pos + len] != '\r') return fail("expected CRLF after bulk string");
        if (avail - len < 2) return step::more;
        if (in_[pos + len + 1] != '\n') return fail("expected CRLF after bulk string");
        pos += len + 2;
        return step::done;
      }
      default:
        return fail("expected '$', '*', '+', '-' or ':', got " + quoted_byte(type));
    }
  }

  std::string reason;  // why, after bad

 private:
  step fail(std::string why) {
    reason = std::move(why);
    return step::bad;
  }

  // Finds the "\r\n" that ends the line starting at from (from <= size),
  // whose text may hold at most max_len bytes; cr is the index of its '\r'.
  step line(std::size_t from, std::size_t max_len, const char* too_long, std::size_t& cr) {
    const std::size_t avail = in_.size() - from;
    const std::size_t window = avail > max_len ? max_len + 1 : avail;
    const char* p = window == 0 ? nullptr : static_cast<const char*>(std::memchr(in_.data() + from, '\r', window));
    examined_ += p == nullptr ? window : static_cast<std::size_t>(p - (in_.data() + from)) + 1;
    if (p == nullptr) return avail > max_len ? fail(too_long) : step::more;
    cr = static_cast<std::size_t>(p - in_.data());
    if (cr + 1 == in_.size()) return step::more;
    if (in_[cr + 1] != '\n') return fail("expected '\\n' after '\\r'");
    return step::done;
  }

  // The number line whose type byte is at pos; on done, pos is past its "\r\n".
  step number(std::size_t& pos, const char* invalid, std::int64_t& n) {
    std::size_t cr = 0;
    const step s = line(pos + 1, max_number_line, invalid, cr);
    if (s != step::done) return s;
    if (!to_int(in_.substr(pos + 1, cr - pos - 1), n)) return fail(invalid);
    pos = cr + 2;
    return step::done;
  }

  const codec& lim_;
  std::string_view in_;
  std::uint64_t& examined_;
};

// Builds the value at pos, which the scanner has accepted, so nothing is
// checked again; pos ends one past it.
value build(std::string_view in, std::size_t& pos) {
  const char type = in[pos];
  const std::size_t cr = in.find('\r', pos + 1);
  const std::string_view text = in.substr(pos + 1, cr - pos - 1);
  pos = cr + 2;
  value v;
  switch (type) {
    case '+':
      v.type = kind::simple;
      v.str.assign(text.data(), text.size());
      break;
    case '-':
      v.type = kind::error;
      v.str.assign(text.data(), text.size());
      break;
    case ':':
      v.type = kind::integer;
      to_int(text, v.integer);
      break;
    case '$': {
      std::int64_t n = -1;
      to_int(text, n);
      if (n < 0) break;  // $-1: null
      const auto len = static_cast<std::size_t>(n);
      v.type = kind::bulk;
      v.str.assign(in.data() + pos, len);
      pos += len + 2;
      break;
    }
    default: {  // '*'
      std::int64_t n = -1;
      to_int(text, n);
      if (n < 0) {
        v.type = kind::null_array;
        break;
      }
      v.type = kind::array;
      v.elements.reserve(static_cast<std::size_t>(n));
      for (std::int64_t i = 0; i < n; ++i) v.elements.push_back(build(in, pos));
      break;
    }
  }
  return v;
}

// ---- encoding ----

std::size_t decimal_size(std::int64_t n) noexcept {
  char buf[24];
  return static_cast<std::size_t>(std::to_chars(buf, buf + sizeof buf, n).ptr - buf);
}

std::size_t encoded_size(const value& v) noexcept {
  switch (v.type) {
    case kind::simple:
    case kind::error:
      return v.str.size() + 3;
    case kind::integer:
      return decimal_size(v.integer) + 3;
    case kind::bulk:
      return decimal_size(static_cast<std::int64_t>(v.str.size())) + v.str.size() + 5;
    case kind::null:
    case kind::null_array:
      return 5;
    case kind::array: {
      std::size_t n = decimal_size(static_cast<std::int64_t>(v.elements.size())) + 3;
      for (const value& e : v.elements) n += encoded_size(e);
      return n;
    }
  }
  return 0;
}

// type, n, "\r\n"
void append_number(std::string& out, char type, std::int64_t n) {
  char buf[24];
  buf[0] = type;
  char* end = std::to_chars(buf + 1, buf + 22, n).ptr;  // at most 20 characters
  end[0] = '\r';
  end[1] = '\n';
  out.append(buf, static_cast<std::size_t>(end + 2 - buf));
}

// type, text with CR and LF as spaces, "\r\n"
void append_line(std::string& out, char type, const std::string& text) {
  out.push_back(type);
  const std::size_t start = out.size();
  out.append(text);
  if (text.find_first_of("\r\n") != std::string::npos)
    std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                    [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out.append("\r\n", 2);
}

void encode_into(const value& v, std::string& out) {
  switch (v.type) {
    case kind::simple:
      append_line(out, '+', v.str);
      return;
    case kind::error:
      append_line(out, '-', v.str);
      return;
    case kind::integer:
      append_number(out, ':', v.integer);
      return;
    case kind::bulk:
      append_number(out, '$', static_cast<std::int64_t>(v.str.size()));
      out.append(v.str);
      out.append("\r\n", 2);
      return;
    case kind::null:
      out.append("$-1\r\n", 5);
      return;
    case kind::null_array:
      out.append("*-1\r\n", 5);
      return;
    case kind::array:
      append_number(out, '*', static_cast<std::int64_t>(v.elements.size()));
      for (const value& e : v.elements) encode_into(e, out);
      return;
  }
}

// ---- redis-cli style text ----

void append_repr(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '"': out.append("\\\""); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\a': out.append("\\a"); break;
      case '\b': out.append("\\b"); break;
      default: {
        const auto u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u < 0x7f) {
          out.push_back(c);
        } else {
          const char esc[4] = {'\\', 'x', hex[u >> 4], hex[u & 15]};
          out.append(esc, 4);
        }
      }
    }
  }
  out.push_back('"');
}

// indent: the column where the value starts, for an array's later lines.
void describe(std::string& out, const value& v, std::size_t indent) {
  switch (v.type) {
    case kind::simple:
      out.append(v.str);
      return;
    case kind::error:
      out.append("(error) ").append(v.str);
      return;
    case kind::integer:
      out.append("(integer) ").append(std::to_string(v.integer));
      return;
    case kind::bulk:
      append_repr(out, v.str);
      return;
    case kind::null:
    case kind::null_array:
      out.append("(nil)");
      return;
    case kind::array: {
      if (v.elements.empty()) {
        out.append("(empty array)");
        return;
      }
      const std::size_t width = std::to_string(v.elements.size()).size();
      for (std::size_t i = 0; i < v.elements.size(); ++i) {
        if (i > 0) {
          out.push_back('\n');
          out.append(indent, ' ');
        }
        const std::string index = std::to_string(i + 1);
        out.append(width - index.size(), ' ').append(index).append(") ");
        describe(out, v.elements[i], indent + width + 2);
      }
      return;
    }
  }
}

}  // namespace

value value::command(std::initializer_list<std::string_view> args) {
  value v;
  v.type = kind::array;
  v.elements.reserve(args.size());
  for (std::string_view a : args) v.elements.push_back(bulk(std::string(a)));
  return v;
}

bool operator==(const value& a, const value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case kind::simple:
    case kind::error:
    case kind::bulk:
      return a.str == b.str;
    case kind::integer:
      return a.integer == b.integer;
    case kind::array:
      return a.elements == b.elements;
    case kind::null:
    case kind::null_array:
      return true;
  }
  return false;
}

std::string to_string(const value& v) {
  std::string out;
  describe(out, v, 0);
  return out;
}

parsed<value> codec::parse(std::string_view in) const {
  std::size_t pos = 0;  // past the empty inline lines skipped so far
  if (partial_.active) {
    // The frame that needed more last time starts these bytes again (the
    // codec contract): resume its scan instead of starting over.
    if (in.size() >= partial_.resume_at && in.size() - partial_.start >= partial_.head_len &&
        std::memcmp(in.data() + partial_.start, partial_.head.data(), partial_.head_len) == 0) {
      pos = partial_.start;
    } else {
      partial_.reset();  // not the same frame (a caller that broke the contract): scan afresh
    }
  }
  while (pos < in.size()) {
    if (is_type_byte(in[pos])) {
      scanner scan(*this, in, examined_);
      if (!partial_.active) partial_.begin(pos);
      const step s = scan.frame(partial_.resume_at, partial_.open);
      if (s == step::bad) {
        partial_.reset();
        return protocol_error(std::move(scan.reason));
      }
      if (s == step::more) {
        partial_.head_len = std::min(partial_.head.size(), in.size() - partial_.start);
        std::memcpy(partial_.head.data(), in.data() + partial_.start, partial_.head_len);
        // Empty lines are consumed only with the value after them: bound them.
        if (pos > max_inline) {
          partial_.reset();
          return protocol_error("too many empty lines");
        }
        return need_more{};
      }
      const std::size_t end = partial_.resume_at;
      partial_.reset();
      std::size_t at = pos;
      value v = build(in, at);
      examined_ += end - pos;
      return {std::move(v), end};
    }

    // An inline command: text up to max_inline bytes, an optional '\r', '\n'.
    const std::size_t avail = in.size() - pos;
    const std::size_t window = (avail >= 2 && avail - 2 >= max_inline) ? max_inline + 2 : avail;
    const auto* nl = static_cast<const char*>(std::memchr(in.data() + pos, '\n', window));
    // An inline line is read again from its start as it grows: bounded by
    // max_inline per call, not resumed like a frame.
    examined_ += nl == nullptr ? window : static_cast<std::size_t>(nl - (in.data() + pos)) + 1;
    if (nl == nullptr) {
      const bool may_fit = avail <= max_inline || (avail == max_inline + 1 && in.back() == '\r');
      if (!may_fit) return protocol_error("too big inline request");
      break;
    }
    const std::size_t next = static_cast<std::size_t>(nl - in.data()) + 1;
    std::size_t stop = next - 1;
    if (stop > pos && in[stop - 1] == '\r') --stop;
    if (stop - pos > max_inline) return protocol_error("too big inline request");
    const std::string_view line = in.substr(pos, stop - pos);

    std::size_t words = 0;
    for_each_word(line, [&](std::string_view) { ++words; });
    if (words == 0) {  // an empty line: skip it
      pos = next;
      continue;
    }
    if (words > max_elements) return protocol_error("invalid multibulk length");
    value v;
    v.type = kind::array;
    v.elements.reserve(words);
    for_each_word(line, [&](std::string_view w) { v.elements.push_back(value::bulk(std::string(w))); });
    return {std::move(v), next};
  }
  // Empty lines are consumed only with the value after them: bound them.
  if (pos > max_inline) return protocol_error("too many empty lines");
  return need_more{};
}

void codec::encode(const value& v, std::string& out) const {
  const std::size_t need = out.size() + encoded_size(v);
  if (need > out.capacity()) out.reserve(std::max(need, 2 * out.capacity()));
  encode_into(v, out);
}

}  // namespace troupe::io::resp
