// Codecs: newline-delimited lines, length-prefixed frames, RESP2, HTTP/1.1.
//
// Each codec is fed its input the way a connection feeds it (pieces, parse
// until need_more, drop what each message used) split at every byte offset
// and byte by byte: a codec must answer need_more for every valid prefix
// and then give exactly the messages it gives for the whole input.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "troupe/io/codec.hpp"
#include "troupe/io/codecs/http.hpp"
#include "troupe/io/codecs/length_prefixed.hpp"
#include "troupe/io/codecs/line.hpp"
#include "troupe/io/codecs/resp.hpp"

namespace troupe::io::resp {
// Failure messages show values as redis-cli prints them.
void PrintTo(const value& v, std::ostream* os) { *os << to_string(v); }
}  // namespace troupe::io::resp

namespace {

namespace io = troupe::io;
namespace resp = troupe::io::resp;
namespace http = troupe::io::http;

static_assert(io::codec<io::line_codec>);
static_assert(io::codec<io::length_prefixed_codec>);
static_assert(io::codec<resp::codec>);
static_assert(io::codec<http::server_codec>);
static_assert(io::codec<http::client_codec>);

// ---- feeding helpers ----

template <class Codec>
struct fed {
  std::vector<typename Codec::input> messages;
  std::optional<io::parse_error> error;
  std::size_t left = 0;  // bytes received but not used by any message
};

// Delivers stream to codec in pieces ending at cuts (ascending), as a
// connection does: after each piece, parse until need_more, dropping the
// bytes each message used.
template <class Codec>
fed<Codec> feed(Codec codec, std::string_view stream, const std::vector<std::size_t>& cuts) {
  fed<Codec> out;
  std::string buffer;
  auto drain = [&] {
    for (;;) {
      auto r = codec.parse(buffer);
      if (r.needs_more()) return true;
      if (r.failed()) {
        out.error = r.error();
        return false;
      }
      const std::size_t used = r.consumed();
      if (used == 0 || used > buffer.size()) {
        ADD_FAILURE() << "consumed " << used << " of " << buffer.size() << " bytes";
        return false;
      }
      out.messages.push_back(std::move(r).message());
      buffer.erase(0, used);
    }
  };
  std::size_t at = 0;
  for (std::size_t cut : cuts) {
    buffer.append(stream.substr(at, cut - at));
    at = cut;
    if (!drain()) return out;
  }
  buffer.append(stream.substr(at));
  if (drain()) out.left = buffer.size();
  return out;
}

std::vector<std::size_t> every_byte(std::size_t size) {
  std::vector<std::size_t> cuts;
  for (std::size_t i = 1; i < size; ++i) cuts.push_back(i);
  return cuts;
}

std::string error_of(const std::optional<io::parse_error>& e) { return e ? e->reason : std::string("none"); }

// ---- line ----

TEST(LineCodec, DeliversLinesWithoutTheirLineEnds) {
  io::line_codec c;
  auto r = c.parse("hello\r\nworld\n");
  ASSERT_TRUE(r.has_message());
  EXPECT_EQ(r.message(), "hello");
  EXPECT_EQ(r.consumed(), 7u);
  auto r2 = c.parse("world\n");
  ASSERT_TRUE(r2.has_message());
  EXPECT_EQ(r2.message(), "world");
  EXPECT_EQ(r2.consumed(), 6u);
  EXPECT_TRUE(c.parse("no newline yet").needs_more());
  EXPECT_TRUE(c.parse("").needs_more());
}

TEST(LineCodec, RoundTripsAtEverySplitPoint) {
  const std::vector<std::string> lines = {"alpha", "", "beta gamma", "x"};
  io::line_codec c;
  std::string stream;
  for (const std::string& l : lines) c.encode(l, stream);
  EXPECT_EQ(stream, "alpha\n\nbeta gamma\nx\n");
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    const auto out = feed(c, stream, {k});
    EXPECT_FALSE(out.error.has_value()) << error_of(out.error);
    EXPECT_EQ(out.messages, lines);
    EXPECT_EQ(out.left, 0u);
  }
  const auto out = feed(c, stream, every_byte(stream.size()));
  EXPECT_EQ(out.messages, lines);
}

TEST(LineCodec, RefusesALineOverTheLimit) {
  io::line_codec c;
  c.max_line = 4;
  auto ok = c.parse("abcd\n");
  ASSERT_TRUE(ok.has_message());
  EXPECT_EQ(ok.message(), "abcd");
  EXPECT_TRUE(c.parse("abcd").needs_more());
  EXPECT_TRUE(c.parse("abcde").failed());  // no newline needed to know
  EXPECT_TRUE(c.parse("abcde\n").failed());
}

// ---- length-prefixed ----

TEST(LengthPrefixedCodec, RoundTripsBinaryPayloadsAtEverySplitPoint) {
  std::string binary(300, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<char>(i);
  const std::vector<std::string> payloads = {"", "x", binary, std::string("a\0b", 3)};
  io::length_prefixed_codec c;
  std::string stream;
  for (const std::string& p : payloads) c.encode(p, stream);
  ASSERT_EQ(stream.size(), 4u * 4 + 1 + 300 + 3);
  EXPECT_EQ(stream.substr(4, 5), std::string("\0\0\0\1x", 5));
  EXPECT_EQ(stream.substr(9, 4), std::string("\0\0\1\x2c", 4));  // 300
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    const auto out = feed(c, stream, {k});
    EXPECT_FALSE(out.error.has_value()) << error_of(out.error);
    EXPECT_EQ(out.messages, payloads);
    EXPECT_EQ(out.left, 0u);
  }
  EXPECT_EQ(feed(c, stream, every_byte(stream.size())).messages, payloads);
}

TEST(LengthPrefixedCodec, RefusesAFrameOverTheLimitBeforeItsPayload) {
  io::length_prefixed_codec c;
  c.max_frame = 3;
  EXPECT_TRUE(c.parse(std::string("\0\0\0", 3)).needs_more());
  EXPECT_TRUE(c.parse(std::string("\0\0\0\4", 4)).failed());
  EXPECT_TRUE(c.parse(std::string("\0\0\0\3ab", 6)).needs_more());
  auto ok = c.parse(std::string("\0\0\0\3abc", 7));
  ASSERT_TRUE(ok.has_message());
  EXPECT_EQ(ok.message(), "abc");
  EXPECT_EQ(ok.consumed(), 7u);
}

// ---- RESP ----

using resp::value;

std::string encoded(const value& v) {
  std::string out;
  resp::codec{}.encode(v, out);
  return out;
}

// The one value bytes hold, all of them used.
value parse_whole(std::string_view bytes, const resp::codec& c = {}) {
  auto r = c.parse(bytes);
  EXPECT_TRUE(r.has_message()) << (r.failed() ? r.error().reason : std::string("need more"));
  if (!r.has_message()) return value::error("<no value>");
  EXPECT_EQ(r.consumed(), bytes.size());
  return std::move(r).message();
}

// The reply sent for bytes, which must be refused.
std::string refusal_reply(std::string_view bytes, const resp::codec& c = {}) {
  auto r = c.parse(bytes);
  EXPECT_TRUE(r.failed()) << "not refused: " << bytes;
  return r.failed() ? r.error().reply : std::string();
}

TEST(RespCodec, EncodesEachTypeAsRedisDoes) {
  EXPECT_EQ(encoded(value::simple("OK")), "+OK\r\n");
  EXPECT_EQ(encoded(value::error("ERR unknown command")), "-ERR unknown command\r\n");
  EXPECT_EQ(encoded(value::number(-42)), ":-42\r\n");
  EXPECT_EQ(encoded(value::bulk("foo")), "$3\r\nfoo\r\n");
  EXPECT_EQ(encoded(value::bulk("")), "$0\r\n\r\n");
  EXPECT_EQ(encoded(value::null()), "$-1\r\n");
  EXPECT_EQ(encoded(value::null_array()), "*-1\r\n");
  EXPECT_EQ(encoded(value::array({})), "*0\r\n");
  EXPECT_EQ(encoded(value::command({"GET", "k"})), "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
  EXPECT_EQ(encoded(value::array({value::number(1), value::array({value::bulk("x")})})),
            "*2\r\n:1\r\n*1\r\n$1\r\nx\r\n");
  // A simple string or an error cannot carry CR or LF.
  EXPECT_EQ(encoded(value::simple("a\r\nb")), "+a  b\r\n");
  // encode appends.
  std::string out = "before";
  resp::codec{}.encode(value::number(1), out);
  EXPECT_EQ(out, "before:1\r\n");
}

TEST(RespCodec, EveryTypeRoundTrips) {
  const std::string binary("a\0b\r\n\xff", 6);
  const std::vector<value> values = {
      value::simple("OK"),
      value::simple(""),
      value::error("ERR bad thing"),
      value::number(0),
      value::number(std::numeric_limits<std::int64_t>::min()),
      value::number(std::numeric_limits<std::int64_t>::max()),
      value::bulk("hello"),
      value::bulk(""),
      value::bulk(binary),
      value::bulk(std::string(100000, 'v')),
      value::null(),
      value::null_array(),
      value::array({}),
      value::array({value::bulk("a"), value::number(1), value::null(),
                    value::array({value::array({value::simple("deep")}), value::null_array()}),
                    value::error("E")}),
  };
  for (const value& v : values) {
    SCOPED_TRACE(resp::to_string(v).substr(0, 80));
    EXPECT_EQ(parse_whole(encoded(v)), v);
  }
}

TEST(RespCodec, ParsesACommandArray) {
  const value v = parse_whole("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n");
  EXPECT_EQ(v, value::command({"SET", "key", "va\r\nl"}));
  ASSERT_TRUE(v.is_array());
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].type, resp::kind::bulk);
  EXPECT_EQ(v[2].str, "va\r\nl");
}

TEST(RespCodec, ParsesPipelinedValuesOneAtATime) {
  const std::string first = "*1\r\n$4\r\nPING\r\n";
  const std::string second = ":7\r\n";
  const std::string both = first + second;
  resp::codec c;
  auto r = c.parse(both);
  ASSERT_TRUE(r.has_message());
  EXPECT_EQ(r.consumed(), first.size());
  EXPECT_EQ(r.message(), value::command({"PING"}));
  auto r2 = c.parse(std::string_view(both).substr(first.size()));
  ASSERT_TRUE(r2.has_message());
  EXPECT_EQ(r2.consumed(), second.size());
  EXPECT_EQ(r2.message(), value::number(7));
}

TEST(RespCodec, ParsesInlineCommands) {
  EXPECT_EQ(parse_whole("PING\r\n"), value::command({"PING"}));
  EXPECT_EQ(parse_whole("SET a  b\t c\n"), value::command({"SET", "a", "b", "c"}));
  EXPECT_EQ(parse_whole("  GET key  \r\n"), value::command({"GET", "key"}));

  resp::codec c;
  // Empty lines are skipped, and consumed with the value after them.
  auto r = c.parse("\r\n\n  \r\nPING\r\n");
  ASSERT_TRUE(r.has_message());
  EXPECT_EQ(r.consumed(), 13u);
  EXPECT_EQ(r.message(), value::command({"PING"}));
  auto t = c.parse("\r\n:1\r\n");
  ASSERT_TRUE(t.has_message());
  EXPECT_EQ(t.consumed(), 6u);
  EXPECT_EQ(t.message(), value::number(1));

  EXPECT_TRUE(c.parse("\r\n").needs_more());
  EXPECT_TRUE(c.parse(" \t\r\n").needs_more());
  EXPECT_TRUE(c.parse("PIN").needs_more());
  EXPECT_TRUE(c.parse("PING\r").needs_more());
}

TEST(RespCodec, PartialInputAtEverySplitPointNeedsMoreThenGivesTheSameValues) {
  const std::string stream = std::string("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n") +
                             "PING\r\n" + "\r\n" + "*2\r\n*1\r\n:42\r\n$-1\r\n" + "+OK\r\n" +
                             "-ERR wrong\r\n" + ":-7\r\n" + "*-1\r\n" + "*0\r\n" + "$0\r\n\r\n" + "GET  k\n";
  const std::vector<value> expected = {
      value::command({"SET", "key", "va\r\nl"}),
      value::command({"PING"}),
      value::array({value::array({value::number(42)}), value::null()}),
      value::simple("OK"),
      value::error("ERR wrong"),
      value::number(-7),
      value::null_array(),
      value::array({}),
      value::bulk(""),
      value::command({"GET", "k"}),
  };
  const resp::codec c;
  const auto whole = feed(c, stream, {});
  ASSERT_FALSE(whole.error.has_value()) << error_of(whole.error);
  EXPECT_EQ(whole.messages, expected);
  EXPECT_EQ(whole.left, 0u);
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    const auto out = feed(c, stream, {k});
    EXPECT_FALSE(out.error.has_value()) << error_of(out.error);
    EXPECT_EQ(out.messages, expected);
    EXPECT_EQ(out.left, 0u);
  }
  const auto bytewise = feed(c, stream, every_byte(stream.size()));
  EXPECT_FALSE(bytewise.error.has_value()) << error_of(bytewise.error);
  EXPECT_EQ(bytewise.messages, expected);

  // Every strict prefix of one nested value needs more.
  const std::string one = "*2\r\n$3\r\nGET\r\n*1\r\n:5\r\n";
  for (std::size_t k = 0; k < one.size(); ++k) EXPECT_TRUE(c.parse(one.substr(0, k)).needs_more()) << k;
  EXPECT_EQ(parse_whole(one), value::array({value::bulk("GET"), value::array({value::number(5)})}));
}

// A frame that arrives in many pieces is scanned on from where the last
// piece left it, not from its start: the work is linear in its size however
// it is split (a 7 MB array trickled in used to be read again from its
// first element on every read: 41 s of CPU).
TEST(RespCodec, AFrameArrivingInPiecesCostsWorkLinearInItsSize) {
  std::string frame = "*100000\r\n";
  for (int i = 0; i < 100000; ++i) frame += "$1\r\nx\r\n";
  frame += "+OK\r\n";  // and a value after it
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}}) {
    SCOPED_TRACE(piece);
    resp::codec c;
    std::string buffer;
    std::vector<value> got;
    for (std::size_t at = 0; at < frame.size(); at += piece) {
      buffer.append(frame, at, piece);
      for (;;) {
        auto r = c.parse(buffer);
        ASSERT_FALSE(r.failed());
        if (r.needs_more()) break;
        buffer.erase(0, r.consumed());
        got.push_back(std::move(r).message());
      }
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].elements.size(), 100000u);
    EXPECT_EQ(got[1], value::simple("OK"));
    // Each piece may re-read the one header it cut (at most 32 bytes).
    const std::size_t pieces = (frame.size() + piece - 1) / piece;
    EXPECT_LE(c.examined(), 3 * frame.size() + 32 * pieces);
  }
}

TEST(RespCodec, MalformedInputIsAProtocolErrorWithTheRedisReply) {
  const std::string bulk_length = "-ERR Protocol error: invalid bulk length\r\n";
  const std::string multibulk_length = "-ERR Protocol error: invalid multibulk length\r\n";
  const std::string integer = "-ERR Protocol error: invalid integer\r\n";
  const std::string crlf = "-ERR Protocol error: expected CRLF after bulk string\r\n";
  EXPECT_EQ(refusal_reply("$abc\r\n"), bulk_length);
  EXPECT_EQ(refusal_reply("$-2\r\n"), bulk_length);
  EXPECT_EQ(refusal_reply("$\r\n"), bulk_length);
  EXPECT_EQ(refusal_reply("*-2\r\n"), multibulk_length);
  EXPECT_EQ(refusal_reply("*1x\r\n"), multibulk_length);
  EXPECT_EQ(refusal_reply(":12a\r\n"), integer);
  EXPECT_EQ(refusal_reply(":+1\r\n"), integer);
  EXPECT_EQ(refusal_reply(":9223372036854775808\r\n"), integer);  // one over INT64_MAX
  EXPECT_EQ(refusal_reply("$3\r\nfooXY"), crlf);
  EXPECT_EQ(refusal_reply("$3\r\nfoo\rX"), crlf);
  EXPECT_EQ(refusal_reply("*1\r\nfoo\r\n"), "-ERR Protocol error: expected '$', '*', '+', '-' or ':', got 'f'\r\n");
  EXPECT_EQ(refusal_reply("*1\r\n\r\n"), "-ERR Protocol error: expected '$', '*', '+', '-' or ':', got '\\x0d'\r\n");
  EXPECT_EQ(refusal_reply("+OK\rX"), "-ERR Protocol error: expected '\\n' after '\\r'\r\n");
  // A length line too long to hold a number is refused before its end arrives.
  EXPECT_EQ(refusal_reply("$" + std::string(40, '1')), bulk_length);
  EXPECT_EQ(refusal_reply(":" + std::string(40, '1')), integer);
  // The reason, for the log, is the reply's text.
  auto r = resp::codec{}.parse("*x\r\n");
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().reason, "invalid multibulk length");
}

TEST(RespCodec, LimitsAreCheckedBeforeThePayloadArrives) {
  resp::codec c;
  c.max_bulk = 4;
  c.max_elements = 2;
  c.max_depth = 2;
  c.max_inline = 8;
  EXPECT_EQ(parse_whole("$4\r\nabcd\r\n", c), value::bulk("abcd"));
  EXPECT_EQ(refusal_reply("$5\r\n", c), "-ERR Protocol error: invalid bulk length\r\n");
  EXPECT_EQ(parse_whole("*2\r\n:1\r\n:2\r\n", c), value::array({value::number(1), value::number(2)}));
  EXPECT_EQ(refusal_reply("*3\r\n", c), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(parse_whole("*1\r\n*0\r\n", c), value::array({value::array({})}));
  EXPECT_EQ(refusal_reply("*1\r\n*1\r\n*0\r\n", c), "-ERR Protocol error: arrays nested deeper than 2\r\n");

  EXPECT_EQ(parse_whole("12345678\r\n", c), value::command({"12345678"}));
  EXPECT_TRUE(c.parse("12345678\r").needs_more());
  EXPECT_EQ(refusal_reply("123456789", c), "-ERR Protocol error: too big inline request\r\n");
  EXPECT_EQ(refusal_reply("123456789\r\n", c), "-ERR Protocol error: too big inline request\r\n");
  EXPECT_EQ(refusal_reply("a b c\r\n", c), "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(parse_whole("+12345678\r\n", c), value::simple("12345678"));
  EXPECT_EQ(refusal_reply("+123456789", c), "-ERR Protocol error: too big simple string\r\n");

  // Empty lines wait for the value after them, so they are bounded too.
  EXPECT_TRUE(c.parse("\r\n\r\n\r\n\r\n").needs_more());
  EXPECT_EQ(refusal_reply("\r\n\r\n\r\n\r\n\r\n", c), "-ERR Protocol error: too many empty lines\r\n");
}

TEST(RespValue, PrintsLikeRedisCli) {
  EXPECT_EQ(resp::to_string(value::simple("OK")), "OK");
  EXPECT_EQ(resp::to_string(value::error("ERR no")), "(error) ERR no");
  EXPECT_EQ(resp::to_string(value::number(-3)), "(integer) -3");
  EXPECT_EQ(resp::to_string(value::bulk("say \"hi\"\n\x01")), "\"say \\\"hi\\\"\\n\\x01\"");
  EXPECT_EQ(resp::to_string(value::null()), "(nil)");
  EXPECT_EQ(resp::to_string(value::null_array()), "(nil)");
  EXPECT_EQ(resp::to_string(value::array({})), "(empty array)");
  EXPECT_EQ(resp::to_string(value::array(
                {value::number(1), value::array({value::bulk("a"), value::null()}), value::bulk("b")})),
            "1) (integer) 1\n2) 1) \"a\"\n   2) (nil)\n3) \"b\"");
  // Indexes are right-aligned, as redis-cli aligns them.
  const std::string ten = resp::to_string(value::array(std::vector<value>(10, value::number(0))));
  EXPECT_EQ(ten.substr(0, 15), " 1) (integer) 0");
  EXPECT_NE(ten.find("\n10) (integer) 0"), std::string::npos);
}

TEST(RespValue, EqualityComparesKindAndContent) {
  EXPECT_NE(value::bulk("x"), value::simple("x"));
  EXPECT_NE(value::null(), value::null_array());
  EXPECT_NE(value::number(1), value::number(2));
  EXPECT_EQ(value::command({"a"}), value::array({value::bulk("a")}));
  EXPECT_TRUE(value::null_array().is_null());
  EXPECT_TRUE(value::error("E").is_error());
  EXPECT_TRUE(value::simple("s").is_string());
  EXPECT_FALSE(value::number(1).is_string());
}

// ---- HTTP ----

std::string describe(const http::request& r) {
  std::string s = r.method + " " + r.target + " HTTP/1." + std::to_string(r.version_minor) + "\n";
  for (const http::header& h : r.headers) s += h.name + ": " + h.value + "\n";
  return s + "\n" + r.body;
}

std::string describe(const http::response& r) {
  std::string s = "HTTP/1." + std::to_string(r.version_minor) + " " + std::to_string(r.status) + " " + r.reason + "\n";
  for (const http::header& h : r.headers) s += h.name + ": " + h.value + "\n";
  return s + "\n" + r.body;
}

template <class Message>
std::vector<std::string> describe_all(const std::vector<Message>& messages) {
  std::vector<std::string> out;
  for (const Message& m : messages) out.push_back(describe(m));
  return out;
}

// The one request bytes hold, all of them used.
http::request parse_request(std::string_view bytes, http::limits lim = {}) {
  http::server_codec c;
  c.lim = lim;
  auto r = c.parse(bytes);
  EXPECT_TRUE(r.has_message()) << (r.failed() ? r.error().reason : std::string("need more"));
  if (!r.has_message()) return {};
  EXPECT_EQ(r.consumed(), bytes.size());
  return std::move(r).message();
}

http::response parse_response(std::string_view bytes) {
  http::client_codec c;
  auto r = c.parse(bytes);
  EXPECT_TRUE(r.has_message()) << (r.failed() ? r.error().reason : std::string("need more"));
  if (!r.has_message()) return {};
  EXPECT_EQ(r.consumed(), bytes.size());
  return std::move(r).message();
}

// The status of the reply the server codec sends when it refuses bytes; 0
// if it does not refuse them. The reply must be a complete response that
// closes the connection and says why.
int refusal(std::string_view bytes, http::limits lim = {}) {
  http::server_codec c;
  c.lim = lim;
  auto r = c.parse(bytes);
  if (!r.failed()) return 0;
  const std::string& reply = r.error().reply;
  http::client_codec client;
  auto parsed_reply = client.parse(reply);
  EXPECT_TRUE(parsed_reply.has_message()) << reply;
  if (!parsed_reply.has_message()) return -1;
  const http::response& answer = parsed_reply.message();
  EXPECT_EQ(parsed_reply.consumed(), reply.size());
  EXPECT_TRUE(answer.close) << reply;
  EXPECT_EQ(answer.reason, http::reason_phrase(answer.status));
  EXPECT_EQ(answer.body, r.error().reason + "\n");
  return answer.status;
}

std::string encode_response(const http::response& r) {
  std::string out;
  http::server_codec{}.encode(r, out);
  return out;
}

std::string encode_request(const http::request& q) {
  std::string out;
  http::client_codec{}.encode(q, out);
  return out;
}

TEST(HttpServerCodec, ParsesAGet) {
  const http::request r =
      parse_request("GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: \t */* \t\r\n\r\n");
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.target, "/index.html?q=1");
  EXPECT_EQ(r.version_minor, 1);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[0], (http::header{"Host", "example.com"}));
  EXPECT_EQ(r.headers[1], (http::header{"Accept", "*/*"}));
  EXPECT_TRUE(r.body.empty());
  ASSERT_NE(r.find_header("HOST"), nullptr);
  EXPECT_EQ(*r.find_header("host"), "example.com");
  EXPECT_EQ(r.find_header("Cookie"), nullptr);

  // Bare LF line ends; empty lines before the request line.
  const http::request lf = parse_request("\r\n\nGET / HTTP/1.0\nHost: a\n\n");
  EXPECT_EQ(lf.target, "/");
  EXPECT_EQ(lf.version_minor, 0);
  ASSERT_EQ(lf.headers.size(), 1u);
  EXPECT_EQ(lf.headers[0].value, "a");
}

TEST(HttpServerCodec, ReadsABodyByContentLength) {
  const std::string bytes = "POST /submit HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world";
  EXPECT_EQ(parse_request(bytes).body, "hello world");
  http::server_codec c;
  auto r = c.parse(bytes + "GET / HTTP/1.1\r\n");  // the next request's bytes are not used
  ASSERT_TRUE(r.has_message());
  EXPECT_EQ(r.consumed(), bytes.size());
  // Repeated equal lengths are one length.
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello").body, "hello");
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\nhello").body, "hello");
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body, "");
}

TEST(HttpServerCodec, DecodesAChunkedBody) {
  const http::request r = parse_request(
      "PUT /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Trailer: t\r\n\r\n");
  EXPECT_EQ(r.method, "PUT");
  EXPECT_EQ(r.body, "hello, chunked!");
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00b\r\nhello world\r\n0\r\n\r\n").body,
            "hello world");
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n").body, "");
}

TEST(HttpServerCodec, AChunkedBodyArrivingInPiecesIsReadOnce) {
  http::server_codec c;
  std::string buffer = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string expected;
  for (int i = 0; i < 2000; ++i) {
    buffer += "a\r\n0123456789\r\n";
    expected += "0123456789";
    ASSERT_TRUE(c.parse(buffer).needs_more()) << i;
  }
  buffer += "0\r\n\r\n";
  auto r = c.parse(buffer);
  ASSERT_TRUE(r.has_message());
  EXPECT_EQ(r.consumed(), buffer.size());
  EXPECT_EQ(r.message().body, expected);
  // The codec is ready for the next request.
  auto next = c.parse("GET / HTTP/1.1\r\n\r\n");
  ASSERT_TRUE(next.has_message());
  EXPECT_EQ(next.message().method, "GET");
}

TEST(HttpServerCodec, KeepAliveFollowsTheVersionAndConnection) {
  const auto keep_alive = [](std::string_view bytes) { return parse_request(bytes).keep_alive(); };
  EXPECT_TRUE(keep_alive("GET / HTTP/1.1\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.1\r\nConnection: Upgrade, CLOSE\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\n\r\n"));
  EXPECT_TRUE(keep_alive("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
  EXPECT_FALSE(keep_alive("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n"));
}

const std::string get_a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
const std::string post_b = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
const std::string chunked_c =
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
    "4;ext=\"v\"\r\nabcd\r\n6\r\nefghij\r\n0\r\nT: x\r\n\r\n";
const std::string get_d = "GET /d HTTP/1.0\nConnection: keep-alive\n\n";

TEST(HttpServerCodec, ParsesPipelinedRequestsOneByOne) {
  const std::string stream = get_a + post_b + chunked_c + get_d;
  http::server_codec c;
  std::string_view rest = stream;
  std::vector<std::string> targets;
  for (const std::string* part : {&get_a, &post_b, &chunked_c, &get_d}) {
    auto r = c.parse(rest);
    ASSERT_TRUE(r.has_message()) << *part;
    EXPECT_EQ(r.consumed(), part->size());
    targets.push_back(r.message().target);
    rest.remove_prefix(r.consumed());
  }
  EXPECT_EQ(targets, (std::vector<std::string>{"/a", "/b", "/c", "/d"}));
  EXPECT_TRUE(rest.empty());
  EXPECT_TRUE(c.parse(rest).needs_more());
}

TEST(HttpServerCodec, PartialInputAtEverySplitPointNeedsMoreThenGivesTheSameRequests) {
  const std::string stream = "\r\n" + get_a + post_b + chunked_c + get_d;
  const http::server_codec c;
  const auto whole = feed(c, stream, {});
  ASSERT_FALSE(whole.error.has_value()) << error_of(whole.error);
  const std::vector<std::string> expected = {
      "GET /a HTTP/1.1\nHost: h\n\n",
      "POST /b HTTP/1.1\nHost: h\nContent-Length: 3\n\nxyz",
      "POST /c HTTP/1.1\nHost: h\nTransfer-Encoding: chunked\n\nabcdefghij",
      "GET /d HTTP/1.0\nConnection: keep-alive\n\n",
  };
  EXPECT_EQ(describe_all(whole.messages), expected);
  EXPECT_EQ(whole.left, 0u);
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    const auto out = feed(c, stream, {k});
    EXPECT_FALSE(out.error.has_value()) << error_of(out.error);
    EXPECT_EQ(describe_all(out.messages), expected);
    EXPECT_EQ(out.left, 0u);
  }
  const auto bytewise = feed(c, stream, every_byte(stream.size()));
  EXPECT_FALSE(bytewise.error.has_value()) << error_of(bytewise.error);
  EXPECT_EQ(describe_all(bytewise.messages), expected);

  // Every strict prefix of one request alone needs more, from a fresh codec.
  for (const std::string* part : {&post_b, &chunked_c}) {
    for (std::size_t k = 0; k < part->size(); ++k) {
      http::server_codec fresh;
      EXPECT_TRUE(fresh.parse(std::string_view(*part).substr(0, k)).needs_more()) << k << " of " << *part;
    }
  }
}

// Feeds `stream` to `c` in pieces of `piece` bytes, as a connection does
// (the unconsumed bytes and the new ones each time): the messages parsed.
template <class Codec>
std::vector<typename Codec::input> parse_in_pieces(Codec& c, const std::string& stream, std::size_t piece) {
  std::string buffer;
  std::vector<typename Codec::input> got;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    buffer.append(stream, at, piece);
    for (;;) {
      auto r = c.parse(buffer);
      EXPECT_FALSE(r.failed());
      if (r.failed() || r.needs_more()) break;
      buffer.erase(0, r.consumed());
      got.push_back(std::move(r).message());
    }
  }
  return got;
}

// A 5 KB head: a 4 KB line and 90 short ones.
std::string long_head(const std::string& start_line) {
  std::string head = start_line + "\r\nX-Long: " + std::string(4000, 'a') + "\r\n";
  for (int i = 0; i < 90; ++i) head += "X-F" + std::to_string(i) + ": v\r\n";
  return head + "\r\n";
}

// A head arriving in many pieces is scanned on from where the last piece
// left it, each byte once, however it is split (a long line trickled in
// byte by byte included): it used to be searched from the message's first
// byte on every read, so a slow client made the server do work quadratic
// in the head.
TEST(HttpServerCodec, AHeadArrivingInPiecesCostsWorkLinearInItsSize) {
  const std::string stream = long_head("GET /long HTTP/1.1") + get_a;  // and a request after it
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}}) {
    SCOPED_TRACE(piece);
    http::server_codec c;
    const auto got = parse_in_pieces(c, stream, piece);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].target, "/long");
    EXPECT_EQ(got[0].headers.size(), 91u);
    EXPECT_EQ(got[1].target, "/a");
    EXPECT_LE(c.examined(), stream.size());
  }
}

TEST(HttpClientCodec, AHeadArrivingInPiecesCostsWorkLinearInItsSize) {
  const std::string stream = long_head("HTTP/1.1 200 OK\r\nContent-Length: 0") + "HTTP/1.1 204 No Content\r\n\r\n";
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{4096}}) {
    SCOPED_TRACE(piece);
    http::client_codec c;
    const auto got = parse_in_pieces(c, stream, piece);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].status, 200);
    EXPECT_EQ(got[1].status, 204);
    EXPECT_LE(c.examined(), stream.size());
  }
}

TEST(HttpServerCodec, MalformedRequestsAre400) {
  const char* const bad[] = {
      "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\n: no name\r\n\r\n",
      "GET / HTTP/1.1\r\nX: a\x01" "b\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1 extra\r\n\r\n",
      "GET /\r\n\r\n",
      "G(T / HTTP/1.1\r\n\r\n",
      "GET / HTTX/1.1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\nhello!",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
  };
  for (const char* bytes : bad) {
    SCOPED_TRACE(bytes);
    EXPECT_EQ(refusal(bytes), 400);
  }
  http::server_codec c;
  auto r = c.parse("GET / HTTP/1.1\r\nNoColon\r\n\r\n");
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().reply,
            "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 28\r\n"
            "Connection: close\r\n\r\nheader line without a colon\n");
}

TEST(HttpServerCodec, UnsupportedCodingsAndVersions) {
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(refusal("GET / HTTP/2.0\r\n\r\n"), 505);
}

TEST(HttpServerCodec, AHeadOverTheLimitIs431BeforeItEnds) {
  http::limits lim;
  lim.max_header_bytes = 64;
  const auto head_of = [](std::size_t n) { return "GET / HTTP/1.1\r\nX: " + std::string(n, 'a') + "\r\n\r\n"; };
  ASSERT_EQ(head_of(41).size(), 64u);
  const http::request fits = parse_request(head_of(41), lim);
  ASSERT_NE(fits.find_header("x"), nullptr);
  EXPECT_EQ(fits.find_header("x")->size(), 41u);
  EXPECT_EQ(refusal(head_of(42), lim), 431);
  // Decided from the first 64 bytes, before the empty line arrives.
  EXPECT_EQ(refusal(head_of(100).substr(0, 64), lim), 431);
  http::server_codec c;
  c.lim = lim;
  EXPECT_TRUE(c.parse(head_of(100).substr(0, 63)).needs_more());
  auto r = c.parse(head_of(42));
  ASSERT_TRUE(r.failed());
  EXPECT_TRUE(r.error().reply.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n")) << r.error().reply;

  http::limits few;
  few.max_headers = 2;
  EXPECT_EQ(parse_request("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", few).headers.size(), 2u);
  EXPECT_EQ(refusal("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", few), 431);
}

TEST(HttpServerCodec, ABodyOverTheLimitIs413BeforeItArrives) {
  http::limits lim;
  lim.max_body_bytes = 10;
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", lim), 413);
  EXPECT_EQ(refusal("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999999\r\n\r\n"), 413);
  EXPECT_EQ(parse_request("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", lim).body, "0123456789");
  const std::string chunked = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
  EXPECT_EQ(refusal(chunked + "6\r\n", lim), 413);
  EXPECT_EQ(refusal(chunked + "fffffffffffffffffffffffff\r\n", lim), 413);
  EXPECT_EQ(parse_request(chunked + "5\r\nworld\r\n0\r\n\r\n", lim).body, "helloworld");
  http::server_codec c;
  c.lim = lim;
  auto r = c.parse("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n");
  ASSERT_TRUE(r.failed());
  EXPECT_TRUE(r.error().reply.starts_with("HTTP/1.1 413 Payload Too Large\r\n")) << r.error().reply;
}

TEST(HttpServerCodec, EncodesResponses) {
  EXPECT_EQ(encode_response(http::response::text(200, "hi")),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
  http::response r;
  r.status = 404;
  r.headers = {{"X-A", "1"}};
  EXPECT_EQ(encode_response(r), "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n");
  r.status = 299;
  r.reason = "Fine";
  EXPECT_TRUE(encode_response(r).starts_with("HTTP/1.1 299 Fine\r\n"));
  r.reason.clear();
  EXPECT_TRUE(encode_response(r).starts_with("HTTP/1.1 299 \r\n"));  // no standard phrase
  // encode appends.
  std::string out = "x";
  http::server_codec{}.encode(http::response::text(200, ""), out);
  EXPECT_TRUE(out.starts_with("xHTTP/1.1 200 OK\r\n"));
}

TEST(HttpServerCodec, EncodesChunkedAndClosingResponses) {
  http::response r = http::response::text(200, "hello", "text/html");
  r.chunked = true;
  EXPECT_EQ(encode_response(r),
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5\r\nhello\r\n0\r\n\r\n");
  r.body.assign(300, 'z');
  const std::string big = encode_response(r);
  EXPECT_NE(big.find("\r\n\r\n12c\r\nzzz"), std::string::npos);
  EXPECT_TRUE(big.ends_with("zzz\r\n0\r\n\r\n"));
  r.body.clear();
  EXPECT_TRUE(encode_response(r).ends_with("chunked\r\n\r\n0\r\n\r\n"));

  http::response busy = http::response::text(503, "busy");
  busy.close = true;
  busy.headers.push_back({"Connection", "keep-alive"});
  EXPECT_EQ(encode_response(busy),
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
            "Connection: close\r\n\r\nbusy");
}

TEST(HttpServerCodec, EncodesOneContentLengthAndNoneWhereThereIsNoBody) {
  http::response r;
  r.headers = {{"content-length", "2"}};
  r.body = "hi";
  EXPECT_EQ(encode_response(r), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
  r.chunked = true;  // the codec's framing replaces the caller's
  EXPECT_EQ(encode_response(r), "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");

  http::response none;
  none.status = 204;
  none.body = "ignored";
  EXPECT_EQ(encode_response(none), "HTTP/1.1 204 No Content\r\n\r\n");
  none.status = 100;
  EXPECT_EQ(encode_response(none), "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST(HttpServerCodec, LineBreaksInFieldsCannotSplitTheResponse) {
  http::response r;
  r.headers = {{"X", "a\r\nSet-Cookie: evil"}};
  EXPECT_EQ(encode_response(r), "HTTP/1.1 200 OK\r\nX: a  Set-Cookie: evil\r\nContent-Length: 0\r\n\r\n");
}

TEST(HttpClientCodec, ParsesWhatTheServerCodecEncodes) {
  http::response sent = http::response::text(201, "created");
  sent.headers.push_back({"X-Id", "7"});
  for (bool chunked : {false, true}) {
    for (bool close : {false, true}) {
      sent.chunked = chunked;
      sent.close = close;
      SCOPED_TRACE(std::string(chunked ? "chunked" : "length") + (close ? ", close" : ""));
      const http::response got = parse_response(encode_response(sent));
      EXPECT_EQ(got.status, 201);
      EXPECT_EQ(got.reason, "Created");
      EXPECT_EQ(got.version_minor, 1);
      EXPECT_EQ(got.body, "created");
      EXPECT_EQ(got.chunked, chunked);
      EXPECT_EQ(got.close, close);
      ASSERT_NE(got.find_header("x-id"), nullptr);
      EXPECT_EQ(*got.find_header("x-id"), "7");
      ASSERT_NE(got.find_header("content-type"), nullptr);
      EXPECT_EQ(*got.find_header("content-type"), "text/plain");
    }
  }
}

TEST(HttpClientCodec, ParsesPipelinedResponsesAtEverySplitPoint) {
  std::string stream = "HTTP/1.1 100 Continue\r\n\r\n";
  const http::server_codec server;
  http::response no_content;
  no_content.status = 204;
  server.encode(no_content, stream);
  http::response chunked = http::response::text(200, std::string(70, 'c'));
  chunked.chunked = true;
  server.encode(chunked, stream);
  server.encode(http::response::text(404, "nope"), stream);
  stream += "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";  // a 304 has no body
  stream += "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n";                 // no reason phrase

  const std::vector<std::string> expected = {
      "HTTP/1.1 100 Continue\n\n",
      "HTTP/1.1 204 No Content\n\n",
      "HTTP/1.1 200 OK\nContent-Type: text/plain\nTransfer-Encoding: chunked\n\n" + std::string(70, 'c'),
      "HTTP/1.1 404 Not Found\nContent-Type: text/plain\nContent-Length: 4\n\nnope",
      "HTTP/1.1 304 Not Modified\nContent-Length: 10\n\n",
      "HTTP/1.1 200 \nContent-Length: 0\n\n",
  };
  const http::client_codec c;
  for (std::size_t k = 0; k <= stream.size(); ++k) {
    SCOPED_TRACE(k);
    const auto out = feed(c, stream, {k});
    EXPECT_FALSE(out.error.has_value()) << error_of(out.error);
    EXPECT_EQ(describe_all(out.messages), expected);
    EXPECT_EQ(out.left, 0u);
  }
  const auto bytewise = feed(c, stream, every_byte(stream.size()));
  EXPECT_EQ(describe_all(bytewise.messages), expected);
}

TEST(HttpClientCodec, RefusesResponsesItCannotFrame) {
  http::client_codec c;
  auto r = c.parse("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello");
  ASSERT_TRUE(r.failed());
  EXPECT_NE(r.error().reason.find("connection closing"), std::string::npos) << r.error().reason;
  EXPECT_TRUE(r.error().reply.empty());
  EXPECT_TRUE(c.parse("HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n").failed());
  EXPECT_TRUE(c.parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").failed());
  http::client_codec small;
  small.lim.max_body_bytes = 3;
  EXPECT_TRUE(small.parse("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n").failed());
}

TEST(HttpClientCodec, EncodesRequestsWithContentLengthWhereNeeded) {
  http::request get;
  get.method = "GET";
  get.target = "/x";
  get.headers = {{"Host", "h"}};
  EXPECT_EQ(encode_request(get), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  http::request post = get;
  post.method = "POST";
  post.body = "abc";
  EXPECT_EQ(encode_request(post), "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc");
  http::request put = get;
  put.method = "PUT";
  EXPECT_EQ(encode_request(put), "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");

  // The server codec reads what the client codec writes.
  const http::request back = parse_request(encode_request(post));
  EXPECT_EQ(describe(back), "POST /x HTTP/1.1\nHost: h\nContent-Length: 3\n\nabc");
}

TEST(Http, ReasonPhrases) {
  EXPECT_EQ(http::reason_phrase(200), "OK");
  EXPECT_EQ(http::reason_phrase(404), "Not Found");
  EXPECT_EQ(http::reason_phrase(413), "Payload Too Large");
  EXPECT_EQ(http::reason_phrase(431), "Request Header Fields Too Large");
  EXPECT_TRUE(http::reason_phrase(299).empty());
}

}  // namespace
