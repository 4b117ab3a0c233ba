// HTTP/1.1 messages and encoding (parsing is in http_parse.cpp).
#include "troupe/io/codecs/http.hpp"
#include "troupe/io/codecs/http_trace.hpp"

#include <charconv>
#include <cstdio>

#include "core/causal.hpp"
#include "io/http_text.hpp"

namespace troupe::io::http {

using namespace text;

// ---- messages ----

const std::string* request::find_header(std::string_view name) const { return find_in(headers, name); }

bool request::keep_alive() const {
  if (has_token(headers, "connection", "close")) return false;
  return version_minor >= 1 || has_token(headers, "connection", "keep-alive");
}

reply_shape request::shape() const {
  return {method == "HEAD", version_minor == 0 && keep_alive()};
}

const std::string* response::find_header(std::string_view name) const { return find_in(headers, name); }

response response::text(int status, std::string body, std::string content_type) {
  response r;
  r.status = status;
  r.headers.push_back(header{"Content-Type", std::move(content_type)});
  r.body = std::move(body);
  return r;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "";
  }
}

// ---- server ----

void server_codec::encode(const response& r, std::string& out) const {
  const bool bodiless = is_bodiless(r.status);
  const bool chunked = r.chunked && !bodiless && r.version_minor >= 1;
  const std::string_view reason = r.reason.empty() ? reason_phrase(r.status) : std::string_view(r.reason);

  std::size_t need = 96 + reason.size() + (bodiless || r.head_only ? 0 : r.body.size());
  for (const header& h : r.headers) need += h.name.size() + h.value.size() + 4;
  reserve_more(out, need);

  out.append(r.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_decimal(out, r.status);
  out.push_back(' ');
  append_field(out, reason);
  out.append("\r\n");
  bool has_length = false;
  for (const header& h : r.headers) {
    if (iequals(h.name, "transfer-encoding")) continue;
    if (iequals(h.name, "content-length")) {
      if (chunked || (bodiless && r.status != 304)) continue;
      has_length = true;
    }
    if ((r.close || r.keep_alive) && iequals(h.name, "connection")) continue;
    append_field(out, h.name);
    out.append(": ");
    append_field(out, h.value);
    out.append("\r\n");
  }
  if (chunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (!bodiless && !has_length) {
    out.append("Content-Length: ");
    append_decimal(out, r.body.size());
    out.append("\r\n");
  }
  if (r.close)
    out.append("Connection: close\r\n");
  else if (r.keep_alive)
    out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
  if (bodiless || r.head_only) return;
  if (!chunked) {
    out.append(r.body);
    return;
  }
  if (!r.body.empty()) {
    char buf[24];
    const char* end = std::to_chars(buf, buf + sizeof buf, r.body.size(), 16).ptr;
    out.append(buf, static_cast<std::size_t>(end - buf));
    out.append("\r\n");
    out.append(r.body);
    out.append("\r\n");
  }
  out.append("0\r\n\r\n");
}

// ---- client ----

void client_codec::encode(const request& q, std::string& out) const {
  const std::string_view method = q.method.empty() ? std::string_view("GET") : std::string_view(q.method);
  {
    std::lock_guard lock(asked_->mu);
    asked_->head.push_back(method == "HEAD");
  }
  const std::string_view target = q.target.empty() ? std::string_view("/") : std::string_view(q.target);

  std::size_t need = 64 + method.size() + target.size() + q.body.size();
  for (const header& h : q.headers) need += h.name.size() + h.value.size() + 4;
  reserve_more(out, need);

  append_field(out, method);
  out.push_back(' ');
  append_field(out, target);
  out.append(q.version_minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  bool framed = false, traced = false;
  for (const header& h : q.headers) {
    if (iequals(h.name, "content-length") || iequals(h.name, "transfer-encoding")) framed = true;
    if (iequals(h.name, "traceparent")) traced = true;
    append_field(out, h.name);
    out.append(": ");
    append_field(out, h.value);
    out.append("\r\n");
  }
  // Sent while a trace is current (a request_context's scope, a handler of
  // a traced message, a continuation): the server continues it. Read from
  // the thread's causal ids (core), which every such context sets, so the
  // codec needs nothing of the async layer's code.
  if (!traced && troupe::detail::current_causal.trace != 0) {
    request_context ctx;
    ctx.trace_id = troupe::detail::current_causal.trace;
    ctx.span_id = troupe::detail::current_causal.span;
    out.append("traceparent: ");
    out.append(traceparent_of(ctx));
    out.append("\r\n");
  }
  if (!framed && (!q.body.empty() || iequals(method, "POST") || iequals(method, "PUT"))) {
    out.append("Content-Length: ");
    append_decimal(out, q.body.size());
    out.append("\r\n");
  }
  out.append("\r\n");
  out.append(q.body);
}

namespace {
bool hex_digits(std::string_view text, std::uint64_t* high, std::uint64_t* low) {
  // Lowercase hex only, as the spec says; up to 32 digits into high:low.
  std::uint64_t h = 0, l = 0;
  for (char c : text) {
    unsigned v;
    if (c >= '0' && c <= '9') v = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') v = static_cast<unsigned>(c - 'a' + 10);
    else return false;
    h = (h << 4) | (l >> 60);
    l = (l << 4) | v;
  }
  if (high) *high = h;
  *low = l;
  return true;
}
}  // namespace

std::optional<request_context> parse_traceparent(std::string_view value) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55
  // characters for version 00; a later version may append "-..." fields.
  if (value.size() < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  if (value.size() > 55 && value[55] != '-') return std::nullopt;
  std::uint64_t version = 0, flags = 0, trace_high = 0, trace_low = 0, parent = 0;
  if (!hex_digits(value.substr(0, 2), nullptr, &version) || version == 0xff) return std::nullopt;
  if (version == 0 && value.size() != 55) return std::nullopt;
  if (!hex_digits(value.substr(3, 32), &trace_high, &trace_low) || !hex_digits(value.substr(36, 16), nullptr, &parent) ||
      !hex_digits(value.substr(53, 2), nullptr, &flags))
    return std::nullopt;
  if ((trace_high == 0 && trace_low == 0) || parent == 0) return std::nullopt;
  request_context ctx;
  ctx.trace_id = trace_low != 0 ? trace_low : trace_high;  // 64 bits kept (see the header)
  ctx.span_id = parent;
  return ctx;
}

std::string traceparent_of(const request_context& ctx) {
  char text[64];
  std::snprintf(text, sizeof text, "00-0000000000000000%016llx-%016llx-01",
                static_cast<unsigned long long>(ctx.trace_id), static_cast<unsigned long long>(ctx.span_id));
  return text;
}

}  // namespace troupe::io::http
