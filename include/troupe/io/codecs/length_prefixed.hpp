// length_prefixed_codec: frames of a 4-byte big-endian length followed by
// that many payload bytes. A length over max_frame is a parse error (the
// connection closes before anything is allocated for it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "troupe/io/codec.hpp"

namespace troupe::io {

// Frames of a 4-byte big-endian length, then that many payload bytes.
struct length_prefixed_codec {
  // A received frame's payload, without its length.
  using input = std::string;
  // A payload to send; encode() puts the length in front.
  using output = std::string;

  // Largest payload accepted, in bytes (default 16 MiB); a longer one is a parse error.
  std::uint32_t max_frame = 16 * 1024 * 1024;

  // One frame's payload, need_more, or a parse error for a length over max_frame.
  parsed<std::string> parse(std::string_view bytes) const {
    if (bytes.size() < 4) return need_more{};
    auto byte = [&](int i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i])); };
    std::uint32_t len = byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
    if (len > max_frame)
      return parse_error{"frame of " + std::to_string(len) + " bytes over the limit of " +
                             std::to_string(max_frame), {}};
    if (bytes.size() - 4 < len) return need_more{};
    return {std::string(bytes.substr(4, len)), 4 + static_cast<std::size_t>(len)};
  }
  // Appends the 4-byte length and `payload` to `out`.
  void encode(const std::string& payload, std::string& out) const {
    auto len = static_cast<std::uint32_t>(payload.size());
    char head[4] = {static_cast<char>(len >> 24), static_cast<char>(len >> 16),
                    static_cast<char>(len >> 8), static_cast<char>(len)};
    out.append(head, 4);
    out.append(payload);
  }
};

}  // namespace troupe::io
