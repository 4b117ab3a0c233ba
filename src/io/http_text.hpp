// The text-level pieces HTTP parsing and encoding share: case-insensitive
// names, comma-separated field values, appending fields and numbers.
// Private to src/io.
#pragma once

#include <algorithm>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/io/codecs/http.hpp"

namespace troupe::io::http::text {

inline char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

inline bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }

inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

// Calls f(item) for each element of a comma-separated list, trimmed (empty
// ones too); stops early when f returns false.
template <class F>
inline bool for_each_item(std::string_view list, F&& f) {
  for (;;) {
    const std::size_t comma = list.find(',');
    if (!f(trim_ows(list.substr(0, comma)))) return false;
    if (comma == std::string_view::npos) return true;
    list.remove_prefix(comma + 1);
  }
}

inline bool has_token(const std::vector<header>& headers, std::string_view field, std::string_view token) {
  for (const header& h : headers) {
    if (!iequals(h.name, field)) continue;
    const bool found = !for_each_item(h.value, [&](std::string_view item) { return !iequals(item, token); });
    if (found) return true;
  }
  return false;
}

inline const std::string* find_in(const std::vector<header>& headers, std::string_view name) {
  for (const header& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

template <class Int>
inline void append_decimal(std::string& out, Int n) {
  char buf[24];
  const char* end = std::to_chars(buf, buf + sizeof buf, n).ptr;
  out.append(buf, static_cast<std::size_t>(end - buf));
}

// Appends text, with CR and LF (which would end the line) as spaces.
inline void append_field(std::string& out, std::string_view text) {
  const std::size_t start = out.size();
  out.append(text.data(), text.size());
  if (text.find_first_of("\r\n") != std::string_view::npos)
    std::replace_if(out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
                    [](char c) { return c == '\r' || c == '\n'; }, ' ');
}

inline void reserve_more(std::string& out, std::size_t extra) {
  const std::size_t need = out.size() + extra;
  if (need > out.capacity()) out.reserve(std::max(need, 2 * out.capacity()));
}

inline bool is_bodiless(int status) noexcept { return (status >= 100 && status < 200) || status == 204 || status == 304; }

}  // namespace troupe::io::http::text
