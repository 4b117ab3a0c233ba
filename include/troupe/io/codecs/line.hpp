// line_codec: newline-delimited text. A received line is delivered without
// its "\n" (or "\r\n"); an outgoing string gets "\n" appended. A line longer
// than max_line bytes is a parse error (the connection closes), so a peer
// that never sends a newline cannot grow the buffer without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "troupe/io/codec.hpp"

namespace troupe::io {

// Newline-delimited text: one message per line.
struct line_codec {
  // A received line, without its "\n" or "\r\n".
  using input = std::string;
  // A line to send; encode() appends the "\n".
  using output = std::string;

  // Longest line accepted, in bytes (default 64 KiB); a longer one is a parse error.
  std::size_t max_line = 64 * 1024;

  // The next line, need_more, or a parse error once the line passes max_line.
  parsed<std::string> parse(std::string_view bytes) const {
    std::size_t end = bytes.find('\n');
    if (end == std::string_view::npos) {
      if (bytes.size() > max_line) return parse_error{"line longer than " + std::to_string(max_line) + " bytes", {}};
      return need_more{};
    }
    if (end > max_line) return parse_error{"line longer than " + std::to_string(max_line) + " bytes", {}};
    std::size_t len = (end > 0 && bytes[end - 1] == '\r') ? end - 1 : end;
    return {std::string(bytes.substr(0, len)), end + 1};
  }
  // Appends `line` and a "\n" to `out`.
  void encode(const std::string& line, std::string& out) const {
    out.append(line);
    out.push_back('\n');
  }
};

}  // namespace troupe::io
