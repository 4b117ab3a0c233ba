// HTTP/1.1 parsing (encoding is in http.cpp).
//
// parse() reads a message in two stages. The head is found by scanning lines
// for the empty one, at most lim.max_header_bytes bytes (a head that is not
// all there yet is scanned on from where the last call stopped, each byte
// once: read_cursor's head_* fields), then
// parsed into the message and its framing. A message with a body is then kept
// in the codec with a read_cursor, and each later call reads on from the
// cursor: a Content-Length body is copied once when all of it is there, and
// chunks are appended as they arrive, so a large chunked body costs O(bytes)
// over all calls, not O(bytes^2).
//
// Lengths (Content-Length, chunk sizes) saturate instead of overflowing and
// are compared with lim.max_body_bytes before any byte of the body is waited
// for.
#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "io/http_text.hpp"

static_assert(troupe::io::codec<troupe::io::http::server_codec>);
static_assert(troupe::io::codec<troupe::io::http::client_codec>);

namespace troupe::io::http {
namespace {

using namespace text;

enum class step : std::uint8_t { done, more, bad };

// Why a message is refused: the status a server answers with, and a short text.
struct failure {
  int status = 400;
  std::string reason;
};

step fail(failure& f, int status, std::string reason) {
  f.status = status;
  f.reason = std::move(reason);
  return step::bad;
}

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

// A chunk-size line (size and extensions) holds at most this many bytes.
constexpr std::size_t max_chunk_line = 4096;

// read_cursor::phase for chunked bodies.
constexpr std::uint8_t phase_size = 0;      // reading a chunk-size line
constexpr std::uint8_t phase_data = 1;      // reading chunk data
constexpr std::uint8_t phase_data_end = 2;  // reading the CRLF after chunk data
constexpr std::uint8_t phase_trailers = 3;  // reading trailer lines up to the empty one

// RFC 9110 5.6.2 token characters.
bool is_tchar(char c) noexcept {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) noexcept { return !s.empty() && std::all_of(s.begin(), s.end(), is_tchar); }

// Field values and reason phrases: visible characters, spaces, tabs, obs-text.
bool is_field_char(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

bool is_field_text(std::string_view s) noexcept { return std::all_of(s.begin(), s.end(), is_field_char); }

// Request targets: visible characters and obs-text, no spaces.
bool is_target_char(char ch) noexcept {
  const auto c = static_cast<unsigned char>(ch);
  return c > 0x20 && c != 0x7f;
}

// Decimal digits only; saturates.
bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    const auto d = static_cast<std::uint64_t>(c - '0');
    n = n > (saturated - d) / 10 ? saturated : n * 10 + d;
  }
  out = n;
  return true;
}

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// chunk-size [ BWS ";" chunk-ext ]: the size (saturated); extensions are
// checked for control characters and dropped.
bool parse_chunk_size(std::string_view line, std::uint64_t& size) noexcept {
  std::size_t i = 0;
  std::uint64_t n = 0;
  for (; i < line.size(); ++i) {
    const int d = hex_digit(line[i]);
    if (d < 0) break;
    n = n > (saturated >> 4) ? saturated : (n << 4) | static_cast<std::uint64_t>(d);
  }
  if (i == 0) return false;
  while (i < line.size() && is_ows(line[i])) ++i;
  if (i < line.size() && line[i] != ';') return false;
  if (!is_field_text(line.substr(i))) return false;
  size = n;
  return true;
}

std::string error_reply(int status, std::string_view reason) {
  std::string out;
  out.reserve(112 + reason.size());
  out.append("HTTP/1.1 ");
  append_decimal(out, status);
  out.push_back(' ');
  const std::string_view phrase = reason_phrase(status);
  out.append(phrase.data(), phrase.size());
  out.append("\r\nContent-Type: text/plain\r\nContent-Length: ");
  append_decimal(out, reason.size() + 1);
  out.append("\r\nConnection: close\r\n\r\n");
  out.append(reason.data(), reason.size());
  out.push_back('\n');
  return out;
}

// ---- the head ----

struct head_span {
  std::size_t start = 0;  // the start line's first byte (after empty lines before it)
  std::size_t end = 0;    // one past the '\n' of the empty line that ends the head
};

// Finds the head among the first lim.max_header_bytes bytes, resuming the
// scan where the cursor's last one stopped: each byte is looked at once,
// however the head is split (a long line trickled in included).
step find_head(std::string_view in, const limits& lim, detail::read_cursor& c, head_span& h, failure& f) {
  const std::size_t window = std::min(in.size(), lim.max_header_bytes);
  if (c.head_scanned > window) c.restart();  // not the bytes it was reading
  bool before_start_line = !c.head_begun;
  std::size_t line = c.head_line;   // where the line being read starts
  std::size_t pos = c.head_scanned;  // [line, pos) holds no '\n'
  h.start = c.head_start;
  for (;;) {
    const char* nl =
        pos < window ? static_cast<const char*>(std::memchr(in.data() + pos, '\n', window - pos)) : nullptr;
    if (nl == nullptr) {
      c.examined += window - pos;
      c.head_line = line;
      c.head_scanned = window;
      c.head_start = h.start;
      c.head_begun = !before_start_line;
      if (in.size() >= lim.max_header_bytes)
        return fail(f, 431, "header section larger than " + std::to_string(lim.max_header_bytes) + " bytes");
      return step::more;
    }
    const auto end = static_cast<std::size_t>(nl - in.data());
    c.examined += end + 1 - pos;
    const bool empty = end == line || (end == line + 1 && in[line] == '\r');
    line = pos = end + 1;
    if (!empty) {
      before_start_line = false;
    } else if (before_start_line) {
      h.start = pos;
    } else {
      h.end = pos;
      return step::done;
    }
  }
}

// The line of the head at pos, without "\r\n" or "\n"; pos moves past it.
std::string_view next_line(std::string_view head, std::size_t& pos) {
  const std::size_t nl = head.find('\n', pos);  // the head ends in '\n'
  std::size_t end = nl;
  if (end > pos && head[end - 1] == '\r') --end;
  const std::string_view line = head.substr(pos, end - pos);
  pos = nl + 1;
  return line;
}

// The field lines from pos to the empty line.
step parse_fields(std::string_view head, std::size_t pos, const limits& lim, std::vector<header>& out,
                  failure& f) {
  const std::string_view rest = head.substr(pos);
  const auto lines = static_cast<std::size_t>(std::count(rest.begin(), rest.end(), '\n'));
  out.reserve(std::min(lines, lim.max_headers));
  for (;;) {
    const std::string_view line = next_line(head, pos);
    if (line.empty()) return step::done;
    if (is_ows(line.front())) return fail(f, 400, "obsolete line folding in header section");
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return fail(f, 400, "header line without a colon");
    const std::string_view name = line.substr(0, colon);
    if (!is_token(name)) return fail(f, 400, "invalid header name");
    const std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_field_text(value)) return fail(f, 400, "invalid character in header value");
    if (out.size() == lim.max_headers)
      return fail(f, 431, "more than " + std::to_string(lim.max_headers) + " header fields");
    out.push_back(header{std::string(name), std::string(value)});
  }
}

// "HTTP/1.x"
step parse_version(std::string_view v, int& minor, failure& f) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !digit(v[5]) || v[6] != '.' || !digit(v[7]))
    return fail(f, 400, "malformed HTTP version");
  if (v[5] != '1') return fail(f, 505, "HTTP version not supported");
  minor = v[7] - '0';
  return step::done;
}

// method SP request-target SP HTTP-version
step parse_request_line(std::string_view line, request& req, failure& f) {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return fail(f, 400, "malformed request line");
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return fail(f, 400, "malformed request line");
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (!is_token(method)) return fail(f, 400, "invalid method");
  if (target.empty() || !std::all_of(target.begin(), target.end(), is_target_char))
    return fail(f, 400, "invalid request target");
  const step s = parse_version(line.substr(sp2 + 1), req.version_minor, f);
  if (s != step::done) return s;
  req.method.assign(method.data(), method.size());
  req.target.assign(target.data(), target.size());
  return step::done;
}

// HTTP-version SP 3DIGIT [ SP reason-phrase ]
step parse_status_line(std::string_view line, response& r, failure& f) {
  const std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return fail(f, 400, "malformed status line");
  const step s = parse_version(line.substr(0, sp), r.version_minor, f);
  if (s != step::done) return s;
  const std::string_view rest = line.substr(sp + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (rest.size() < 3 || !digit(rest[0]) || !digit(rest[1]) || !digit(rest[2]) || rest[0] == '0' ||
      (rest.size() > 3 && rest[3] != ' '))
    return fail(f, 400, "malformed status line");
  const std::string_view reason = rest.size() > 3 ? rest.substr(4) : std::string_view("");
  if (!is_field_text(reason)) return fail(f, 400, "malformed status line");
  r.status = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
  r.reason.assign(reason.data(), reason.size());
  return step::done;
}

// How the body is delimited (RFC 9112 6.3).
struct framing {
  bool delimited = false;    // Content-Length or Transfer-Encoding was present
  bool chunked = false;
  std::uint64_t length = 0;  // Content-Length
};

step body_framing(const std::vector<header>& headers, int version_minor, const limits& lim, framing& fr,
                  failure& f) {
  bool has_length = false;
  bool has_coding = false;
  bool chunked_last = false;      // the last coding so far is chunked
  bool chunked_not_last = false;  // a coding follows chunked
  bool other_coding = false;
  std::uint64_t length = 0;
  for (const header& h : headers) {
    if (iequals(h.name, "content-length")) {
      // A list of one repeated value is allowed (RFC 9110 8.6), as are repeated fields.
      bool bad = false;
      bool conflict = false;
      for_each_item(h.value, [&](std::string_view item) {
        std::uint64_t n = 0;
        if (!parse_decimal(item, n)) {
          bad = true;
          return false;
        }
        if (has_length && n != length) {
          conflict = true;
          return false;
        }
        has_length = true;
        length = n;
        return true;
      });
      if (bad) return fail(f, 400, "invalid Content-Length");
      if (conflict) return fail(f, 400, "conflicting Content-Length values");
    } else if (iequals(h.name, "transfer-encoding")) {
      has_coding = true;
      for_each_item(h.value, [&](std::string_view item) {
        const std::string_view coding = trim_ows(item.substr(0, item.find(';')));  // parameters dropped
        if (coding.empty()) return true;
        if (chunked_last) chunked_not_last = true;
        chunked_last = iequals(coding, "chunked");
        if (!chunked_last) other_coding = true;
        return true;
      });
    }
  }
  if (has_coding) {
    if (has_length) return fail(f, 400, "both Transfer-Encoding and Content-Length");
    if (version_minor == 0) return fail(f, 400, "Transfer-Encoding in an HTTP/1.0 message");
    if (!chunked_last || chunked_not_last) return fail(f, 400, "chunked is not the final transfer coding");
    if (other_coding) return fail(f, 501, "transfer coding other than chunked");
    fr.delimited = true;
    fr.chunked = true;
    return step::done;
  }
  if (has_length && length > lim.max_body_bytes)
    return fail(f, 413, "body larger than " + std::to_string(lim.max_body_bytes) + " bytes");
  fr.delimited = has_length;
  fr.length = length;
  return step::done;
}

// The head of a request or a response: start line, fields, framing.
template <class Message, class StartLine, class Framing>
step read_head(std::string_view in, const limits& lim, detail::read_cursor& c, Message& m, framing& fr,
               std::size_t& end, failure& f, StartLine parse_start_line, Framing frame) {
  head_span h;
  step s = find_head(in, lim, c, h, f);
  if (s != step::done) return s;
  const std::string_view head = in.substr(0, h.end);
  std::size_t pos = h.start;
  s = parse_start_line(next_line(head, pos), m, f);
  if (s != step::done) return s;
  s = parse_fields(head, pos, lim, m.headers, f);
  if (s != step::done) return s;
  s = frame(m, fr, f);
  if (s != step::done) return s;
  end = h.end;
  return step::done;
}

step read_request_head(std::string_view in, const limits& lim, detail::read_cursor& c, request& req, framing& fr,
                       std::size_t& end, failure& f) {
  return read_head(in, lim, c, req, fr, end, f, parse_request_line, [&](request& q, framing& fr2, failure& f2) {
    return body_framing(q.headers, q.version_minor, lim, fr2, f2);
  });
}

// `answers_head`: called once a final response's head is complete; true if
// it answers a HEAD (no body, whatever Content-Length says).
template <class AnswersHead>
step read_response_head(std::string_view in, const limits& lim, detail::read_cursor& c, response& r, framing& fr,
                        std::size_t& end, failure& f, AnswersHead answers_head) {
  return read_head(in, lim, c, r, fr, end, f, parse_status_line, [&](response& rep, framing& fr2, failure& f2) {
    rep.close = has_token(rep.headers, "connection", "close");
    if (rep.status < 200) return step::done;  // interim (1xx): its request's final response follows
    const bool head = answers_head();
    if (is_bodiless(rep.status) || head) return step::done;
    const step s = body_framing(rep.headers, rep.version_minor, lim, fr2, f2);
    if (s != step::done) return s;
    if (!fr2.delimited)
      return fail(f2, 400,
                  "response without Content-Length or chunked Transfer-Encoding (a body delimited by "
                  "the connection closing is not supported)");
    rep.chunked = fr2.chunked;
    return step::done;
  });
}

// ---- the body ----

// Finds the "\r\n" ending the chunked-body line at from, whose text may hold
// at most max_len bytes; cr is the index of its '\r'.
step crlf_line(std::string_view in, std::size_t from, std::size_t max_len, std::size_t& cr, failure& f,
               int too_long_status, const char* too_long) {
  const std::size_t avail = in.size() - from;
  const std::size_t window = avail > max_len ? max_len + 1 : avail;
  const char* p = window == 0 ? nullptr : static_cast<const char*>(std::memchr(in.data() + from, '\r', window));
  if (p == nullptr) return avail > max_len ? fail(f, too_long_status, too_long) : step::more;
  cr = static_cast<std::size_t>(p - in.data());
  if (cr + 1 == in.size()) return step::more;
  if (in[cr + 1] != '\n') return fail(f, 400, "CR without LF in chunked body");
  return step::done;
}

step read_chunked(std::string_view in, const limits& lim, detail::read_cursor& c, std::string& body,
                  failure& f) {
  for (;;) {
    if (c.phase == phase_size) {
      std::size_t cr = 0;
      const step s = crlf_line(in, c.offset, max_chunk_line, cr, f, 400, "chunk size line too long");
      if (s != step::done) return s;
      std::uint64_t size = 0;
      if (!parse_chunk_size(in.substr(c.offset, cr - c.offset), size)) return fail(f, 400, "malformed chunk size");
      if (size > lim.max_body_bytes - body.size())
        return fail(f, 413, "body larger than " + std::to_string(lim.max_body_bytes) + " bytes");
      c.offset = cr + 2;
      if (size == 0) {
        c.phase = phase_trailers;
        c.trailer_bytes = 0;
      } else {
        c.phase = phase_data;
        c.remaining = static_cast<std::size_t>(size);
      }
    } else if (c.phase == phase_data) {
      const std::size_t take = std::min(c.remaining, in.size() - c.offset);
      body.append(in.data() + c.offset, take);
      c.offset += take;
      c.remaining -= take;
      if (c.remaining > 0) return step::more;
      c.phase = phase_data_end;
    } else if (c.phase == phase_data_end) {
      const std::size_t avail = in.size() - c.offset;
      if (avail >= 1 && in[c.offset] != '\r') return fail(f, 400, "chunk data not followed by CRLF");
      if (avail < 2) return step::more;
      if (in[c.offset + 1] != '\n') return fail(f, 400, "chunk data not followed by CRLF");
      c.offset += 2;
      c.phase = phase_size;
    } else {  // phase_trailers
      std::size_t cr = 0;
      const step s = crlf_line(in, c.offset, lim.max_header_bytes - c.trailer_bytes, cr, f, 431,
                               "trailer section too large");
      if (s != step::done) return s;
      const std::string_view line = in.substr(c.offset, cr - c.offset);
      c.offset = cr + 2;
      if (line.empty()) return step::done;
      if (line.find('\n') != std::string_view::npos) return fail(f, 400, "LF without CR in chunked body");
      c.trailer_bytes += line.size() + 2;
      if (c.trailer_bytes > lim.max_header_bytes) return fail(f, 431, "trailer section too large");
    }
  }
}

step read_body(std::string_view in, const limits& lim, detail::read_cursor& c, std::string& body, failure& f) {
  if (c.chunked) return read_chunked(in, lim, c, body, f);
  if (in.size() - c.offset < c.remaining) return step::more;
  body.assign(in.data() + c.offset, c.remaining);
  c.offset += c.remaining;
  c.remaining = 0;
  return step::done;
}

// The shared driver: the head once, then the body from the cursor on.
template <class Message, class ReadHead, class OnError>
parsed<Message> parse_message(std::string_view in, const limits& lim, Message& pending,
                              detail::read_cursor& cursor, ReadHead read_head, OnError on_error) {
  if (cursor.active && in.size() < cursor.offset) cursor.restart();  // not the buffer it was reading
  failure f;
  if (!cursor.active) {
    Message msg;
    framing fr;
    std::size_t end = 0;
    const step s = read_head(in, lim, msg, fr, end, f);
    if (s == step::more) return need_more{};
    cursor.restart();
    if (s == step::bad) return on_error(f);
    if (!fr.chunked && fr.length == 0) return {std::move(msg), end};
    pending = std::move(msg);
    cursor.active = true;
    cursor.chunked = fr.chunked;
    cursor.offset = end;
    cursor.remaining = static_cast<std::size_t>(fr.length);  // <= lim.max_body_bytes
  }
  const step s = read_body(in, lim, cursor, pending.body, f);
  if (s == step::more) return need_more{};
  const std::size_t used = cursor.offset;
  cursor.restart();
  Message msg = std::move(pending);
  pending = Message{};
  if (s == step::bad) return on_error(f);
  return {std::move(msg), used};
}

}  // namespace

bool standard_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "POST" || m == "PUT" || m == "DELETE" || m == "OPTIONS" ||
         m == "PATCH" || m == "TRACE";
}

parsed<request> server_codec::parse(std::string_view bytes) {
  auto head = [this](std::string_view in, const limits& l, request& req, framing& fr, std::size_t& end,
                     failure& f) {
    const step s = read_request_head(in, l, cursor_, req, fr, end, f);
    if (s == step::done && accepts_method && !accepts_method(req.method))
      return fail(f, 501, "method not implemented");
    return s;
  };
  return parse_message(bytes, lim, pending_, cursor_, head, [](const failure& f) {
    return parse_error{f.reason, error_reply(f.status, f.reason)};
  });
}

parsed<response> client_codec::parse(std::string_view bytes) {
  auto head = [this](std::string_view in, const limits& l, response& r, framing& fr, std::size_t& end,
                     failure& f) {
    return read_response_head(in, l, cursor_, r, fr, end, f, [this] {
      std::lock_guard lock(asked_->mu);
      if (asked_->head.empty()) return false;  // an unasked response: framed as its fields say
      const bool was_head = asked_->head.front();
      asked_->head.pop_front();
      return was_head;
    });
  };
  return parse_message(bytes, lim, pending_, cursor_, head,
                       [](const failure& f) { return parse_error{f.reason, {}}; });
}

}  // namespace troupe::io::http
