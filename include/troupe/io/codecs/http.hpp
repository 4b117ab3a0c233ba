// http: HTTP/1.1 message codecs (RFC 9112). server_codec turns bytes into
// requests and responses into bytes; client_codec does the reverse.
//
// Parsing. A message is a head (start line, header fields, an empty line)
// and a body framed by Content-Length or by Transfer-Encoding: chunked.
// parse() returns one message and the bytes it used, so pipelined messages
// come out one per call. Lines of the head may end in "\r\n" or "\n"; the
// lines of a chunked body must end in "\r\n" (lenient chunk parsing is a
// request-smuggling vector). Empty lines before a request line are skipped.
// Refused, with the status a server answers:
//   400  a malformed start line or field (no colon, space before the colon,
//        obs-fold line continuation, control characters), a bad or
//        conflicting Content-Length, both Content-Length and
//        Transfer-Encoding, Transfer-Encoding not ending in chunked or in an
//        HTTP/1.0 message, a malformed chunk;
//   413  a body over lim.max_body_bytes, decided from Content-Length as soon
//        as the head is read, or as chunks arrive;
//   431  a head over lim.max_header_bytes (decided before its end arrives),
//        more than lim.max_headers fields, trailers over max_header_bytes;
//   501  a transfer coding other than chunked (gzip, chunked);
//   505  an HTTP version other than 1.x.
// server_codec's parse_error.reply is then a complete response with
// "Connection: close" and a one-line text body saying why; client_codec's
// reply is empty. Fields keep their order, case and repeats; values have
// surrounding spaces and tabs trimmed. Chunk extensions and trailers are
// read and dropped.
//
// State. A codec remembers how far it has read into a message whose head it
// has parsed, so a long body arriving in many reads is read once, not from
// the start on each call. It relies on the codec contract (the same buffer
// start, plus more bytes); a buffer shorter than what was read starts over.
// One connection's thread uses a codec at a time.
//
// Not supported: "Expect: 100-continue" is not answered (the codec cannot
// write; clients send the body after their timeout), responses framed by the
// connection closing, and responses to HEAD (their Content-Length describes a
// body that is not sent: client_codec would wait for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/io/codec.hpp"

namespace troupe::io::http {

// One header field, as sent: its name keeps its case.
struct header {
  // The field name ("Content-Type"); compare without case.
  std::string name;
  // The field value, surrounding spaces and tabs trimmed.
  std::string value;
  // Equal when name and value are, byte for byte.
  friend bool operator==(const header&, const header&) = default;
};

// What a codec accepts before it refuses a message (431 or 413).
struct limits {
  // Largest head, in bytes (default 8 KiB); over it: 431.
  std::size_t max_header_bytes = 8192;   // start line and fields, up to and including the empty line
  // Largest body, in bytes (default 1 MiB); over it: 413.
  std::size_t max_body_bytes = 1u << 20;  // Content-Length, or the sum of the chunks
  // Most header fields in one head (default 100); over it: 431.
  std::size_t max_headers = 100;          // fields in the head
};

// What a request asks of its response's framing; io::serve applies it to
// the handler's response (response::fit), so a handler need not care.
struct reply_shape {
  // Send the head only: the request was a HEAD.
  bool head_only = false;   // a HEAD request: the head goes, the body never does
  // Add "Connection: keep-alive": an HTTP/1.0 client asked for it.
  bool keep_alive = false;  // an HTTP/1.0 request kept alive: say so in the response
};

// An HTTP request: what server_codec parses and client_codec encodes.
struct request {
  // The method, case as sent.
  std::string method;  // "GET"
  // The request target: path and query.
  std::string target;  // "/path?query", as sent
  // 1 for HTTP/1.1, 0 for HTTP/1.0.
  int version_minor = 1;
  // The header fields, in the order, case and repeats they came in.
  std::vector<header> headers;
  // The body, empty if none.
  std::string body;  // decoded if it was chunked

  // The first field of that name (any case), or nullptr.
  const std::string* find_header(std::string_view name) const;
  // Whether the connection stays open after this request: for HTTP/1.1
  // unless a Connection field lists "close", for HTTP/1.0 only if one lists
  // "keep-alive".
  bool keep_alive() const;
  // What this request asks of its response: head_only for a HEAD,
  // keep_alive for an HTTP/1.0 request kept alive.
  reply_shape shape() const;
};

// An HTTP response: what server_codec encodes and client_codec parses.
struct response {
  // The status code (200, 404, ...).
  int status = 200;
  // The reason phrase of the status line.
  std::string reason;  // empty: reason_phrase(status)
  // 1 for HTTP/1.1, 0 for HTTP/1.0.
  int version_minor = 1;
  // The header fields, in order; encode() adds the framing ones.
  std::vector<header> headers;
  // The body, decoded if it came chunked.
  std::string body;
  // Encoding: send the body with Transfer-Encoding: chunked (one chunk and
  // the last chunk). Parsing: the body came chunked.
  bool chunked = false;
  // Encoding: add "Connection: close" (the server closes after writing it).
  // Parsing: a Connection field lists "close".
  bool close = false;
  // Encoding: the answer to a HEAD request: the head (with the
  // Content-Length the body would have), never the body. RFC 9110 9.3.2.
  bool head_only = false;
  // Encoding: add "Connection: keep-alive" (an HTTP/1.0 client kept alive).
  bool keep_alive = false;

  // The first field of that name (any case), or nullptr.
  const std::string* find_header(std::string_view name) const;
  // Takes head_only and keep_alive from the request's shape (keep_alive
  // never for a response that closes); io::serve calls it.
  void fit(const reply_shape& shape) {
    head_only = shape.head_only;
    keep_alive = shape.keep_alive && !close;
  }
  // A response with body and a Content-Type field.
  static response text(int status, std::string body, std::string content_type = "text/plain");
};

// "OK", "Not Found", ...; empty for a status it does not know.
std::string_view reason_phrase(int status);

namespace detail {
// How far parse() has read into a message. Each parse() sees the
// message's bytes from its first, more of them each time, and resumes
// where the last one stopped: work linear in the message however its bytes
// are split.
struct read_cursor {
  // The head, while it has not all come: every line before head_line is
  // complete and none ends the head, and [head_line, head_scanned) holds
  // no line break; the scan for the head's end resumes at head_scanned.
  std::size_t head_line = 0;
  std::size_t head_scanned = 0;
  std::size_t head_start = 0;      // the start line's first byte (after empty lines before it)
  bool head_begun = false;         // a line that is not empty came
  std::uint64_t examined = 0;      // bytes the head scans looked at, over the codec's life
  // The body, once the head is parsed.
  bool active = false;             // a head is parsed; its body is not complete yet
  bool chunked = false;            // else framed by Content-Length
  std::uint8_t phase = 0;          // chunked: size line, chunk data, CRLF after it, trailers
  std::size_t offset = 0;          // next byte to read, from the message's first byte
  std::size_t remaining = 0;       // Content-Length bytes, or bytes of the chunk, not yet read
  std::size_t trailer_bytes = 0;   // trailer section read so far
  // Starts on the next message (or on bytes that are not the ones it was
  // reading); the work done stays counted.
  void restart() noexcept { *this = read_cursor{.examined = examined}; }
};
}  // namespace detail

// The methods of RFC 9110 and PATCH (RFC 5789), CONNECT excepted: what
// server_codec::accepts_method takes by default.
bool standard_method(std::string_view method) noexcept;

// Requests in, responses out.
class server_codec {
 public:
  // Parsed from received bytes.
  using input = request;
  // Encoded into bytes to send.
  using output = response;

  // Size limits on requests; over one, the answer is a 413 or 431.
  limits lim;
  // A request whose method this refuses is answered 501 Not Implemented
  // and the connection closes (RFC 9110 15.6.2). Null: any method reaches
  // the handler (a server of WebDAV or other extension methods).
  bool (*accepts_method)(std::string_view method) = standard_method;

  // The next request, need_more, or a parse_error whose reply is the
  // error response (400, 413, 431, 501, 505) with "Connection: close".
  parsed<request> parse(std::string_view bytes);
  // Bytes parse() has looked at while finding heads: how the tests bound
  // its work.
  std::uint64_t examined() const noexcept { return cursor_.examined; }
  // Appends the response: status line (reason_phrase if r.reason is empty),
  // r's fields, then the framing, which is the codec's: "Content-Length: N"
  // unless r has one already, or "Transfer-Encoding: chunked" for r.chunked
  // (r's own Content-Length and Transfer-Encoding fields are then dropped;
  // an HTTP/1.0 response is never chunked), and "Connection: close" for
  // r.close (replacing r's Connection fields). 1xx, 204 and 304 responses
  // get no body and no added Content-Length. CR and LF in a reason, name or
  // value are sent as spaces.
  void encode(const response& r, std::string& out) const;

 private:
  request pending_;  // the message whose body is being read
  detail::read_cursor cursor_;
};

namespace detail {
// What a client connection asked, oldest first: whether each request not
// yet answered was a HEAD (its response has a Content-Length but no body).
// encode() runs on the writer's thread and parse() on the I/O thread.
struct asked_heads {
  std::mutex mu;
  std::deque<bool> head;
};
}  // namespace detail

// Responses in, requests out.
class client_codec {
 public:
  // Parsed from received bytes.
  using input = response;
  // Encoded into bytes to send.
  using output = request;

  // Size limits on responses; over one, parse() fails.
  limits lim;

  // A connection's encoder and reader are copies of one codec and share
  // its record of what was asked; each connection starts a record of its
  // own (see codec.hpp).
  void begin_connection() { asked_ = std::make_shared<detail::asked_heads>(); }

  // 1xx, 204 and 304 responses, and the response to a HEAD this codec
  // encoded, have no body; any other needs Content-Length or chunked (one
  // delimited by the connection closing is a parse_error).
  parsed<response> parse(std::string_view bytes);
  // Bytes parse() has looked at while finding heads.
  std::uint64_t examined() const noexcept { return cursor_.examined; }  // as server_codec's
  // Appends the request ("GET" and "/" if method or target are empty), with
  // "Content-Length: N" added when the body is not empty or the method is
  // POST or PUT, unless the request has Content-Length or
  // Transfer-Encoding already. The caller supplies Host.
  void encode(const request& q, std::string& out) const;

 private:
  response pending_;
  detail::read_cursor cursor_;
  std::shared_ptr<detail::asked_heads> asked_ = std::make_shared<detail::asked_heads>();
};

}  // namespace troupe::io::http
