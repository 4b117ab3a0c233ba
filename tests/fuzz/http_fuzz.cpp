// libFuzzer target for io::http::server_codec (requests) and
// io::http::client_codec (responses). Built and run by scripts/fuzz (not
// part of the CMake build).
//
// The input is a byte stream as a peer would send it; it is parsed twice, as
// requests by a server_codec and as responses by a client_codec, message
// after message. Invariants (a violation traps):
//   - check_message (check.hpp): a message consumes at least one byte and no
//     more than offered; the same message from exactly its bytes, and from
//     its bytes split in three reads given to one codec (the first two need
//     more), which exercises the body state the codecs keep between calls;
//   - a parsed request without Transfer-Encoding, encoded by a client_codec,
//     parses back to the same method, target, fields (Content-Length may be
//     added), body and HTTP/1.0-ness, consuming exactly the encoded size;
//   - a parsed response, encoded by a server_codec, parses back to the same
//     status and body;
//   - an error has a reason; a server_codec's error reply is one complete
//     response, 4xx or 5xx, with Connection: close.
// The round trips reparse with roomier limits: encoding normalizes spacing
// ("Name:v" becomes "Name: v") and may add a field.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "check.hpp"
#include "troupe/io/codecs/http.hpp"

namespace {

namespace http = troupe::io::http;

bool same_request(const http::request& a, const http::request& b) {
  return a.method == b.method && a.target == b.target && a.version_minor == b.version_minor &&
         a.headers == b.headers && a.body == b.body;
}

bool same_response(const http::response& a, const http::response& b) {
  return a.status == b.status && a.reason == b.reason && a.version_minor == b.version_minor &&
         a.headers == b.headers && a.body == b.body && a.chunked == b.chunked &&
         a.close == b.close;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

http::limits roomy(const http::limits& lim) {
  http::limits l = lim;
  l.max_header_bytes = 4 * lim.max_header_bytes + 1024;
  l.max_headers = lim.max_headers + 2;
  return l;
}

void round_trip(const http::request& q, const http::limits& lim) {
  if (q.find_header("transfer-encoding") != nullptr) return;  // the body was decoded
  http::client_codec client;
  std::string encoded;
  client.encode(q, encoded);
  http::server_codec server;
  server.lim = roomy(lim);
  auto again = server.parse(encoded);
  FUZZ_CHECK(again.has_message() && again.consumed() == encoded.size());
  const http::request& b = again.message();
  FUZZ_CHECK(b.method == q.method && b.target == q.target && b.body == q.body &&
             (b.version_minor == 0) == (q.version_minor == 0));
  FUZZ_CHECK(b.headers.size() == q.headers.size() || b.headers.size() == q.headers.size() + 1);
  for (std::size_t i = 0; i < q.headers.size(); ++i) FUZZ_CHECK(b.headers[i] == q.headers[i]);
  if (b.headers.size() > q.headers.size()) FUZZ_CHECK(iequals(b.headers.back().name, "content-length"));
}

void round_trip(const http::response& r, const http::limits& lim) {
  http::server_codec server;
  std::string encoded;
  server.encode(r, encoded);
  http::client_codec client;
  client.lim = roomy(lim);
  auto again = client.parse(encoded);
  FUZZ_CHECK(again.has_message() && again.consumed() == encoded.size());
  FUZZ_CHECK(again.message().status == r.status && again.message().body == r.body);
}

// Parses the whole stream with a fresh Codec, checking every message.
template <class Codec, class Same>
void parse_stream(std::string_view rest, Same same, bool server_side) {
  const Codec proto{};
  Codec codec = proto;
  while (!rest.empty()) {
    auto r = codec.parse(rest);
    if (r.needs_more()) break;
    if (r.failed()) {
      const auto& err = r.error();
      FUZZ_CHECK(!err.reason.empty());
      if (server_side) {
        http::client_codec client;
        auto reply = client.parse(err.reply);
        FUZZ_CHECK(reply.has_message() && reply.consumed() == err.reply.size());
        FUZZ_CHECK(reply.message().status >= 400 && reply.message().status <= 599);
        FUZZ_CHECK(reply.message().close);
      }
      break;
    }
    FUZZ_CHECK(r.has_message());
    const std::size_t n = r.consumed();
    troupe_fuzz::check_message(proto, rest, n, r.message(), same);
    round_trip(r.message(), proto.lim);
    rest.remove_prefix(n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  parse_stream<http::server_codec>(input, same_request, true);
  parse_stream<http::client_codec>(input, same_response, false);
  return 0;
}
