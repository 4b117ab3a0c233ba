// The admin server's request text: percent escapes, query strings and pid
// text. No runtime here, so the fuzz target (tests/fuzz/admin_fuzz.cpp)
// builds it alone.
#include <charconv>

#include "admin_api.hpp"

namespace troupe::observer::detail {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && plus_is_space) {
      out += ' ';
    } else if (in[i] == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

const std::string* query::find(const std::string& name) const {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

std::optional<query> parse_query(std::string_view text) {
  query q;
  while (!text.empty()) {
    const auto amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq));
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) return std::nullopt;
    if (q.params.size() >= 32) return std::nullopt;  // more than any route takes
    q.params.emplace_back(std::move(*key), std::move(*value));
  }
  return q;
}

std::optional<std::uint64_t> parse_local_id(std::string_view text) {
  if (text.size() > 5 && text.substr(0, 3) == "<0." && text.substr(text.size() - 3) == ".0>")
    text = text.substr(3, text.size() - 6);
  std::uint64_t id = 0;
  const char* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, id);
  if (ec != std::errc() || p != end || text.empty()) return std::nullopt;
  return id;
}

}  // namespace troupe::observer::detail
