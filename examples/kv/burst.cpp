#include "burst.hpp"

#include <algorithm>
#include <utility>

namespace kv {
namespace {

// A length line's number starting at in[pos]: plain digits only, no sign,
// no leading zero, at most 9 of them (no overflow), then CRLF. The position
// after the CRLF, or 0 when the line is incomplete or not plain.
std::size_t plain_length(std::string_view in, std::size_t pos, std::uint32_t& n) {
  const std::size_t start = pos;
  n = 0;
  while (pos < in.size() && in[pos] >= '0' && in[pos] <= '9') {
    if (pos - start == 9) return 0;
    n = n * 10 + static_cast<std::uint32_t>(in[pos] - '0');
    ++pos;
  }
  const std::size_t digits = pos - start;
  if (digits == 0 || (digits > 1 && in[start] == '0')) return 0;
  if (in.size() - pos < 2 || in[pos] != '\r' || in[pos + 1] != '\n') return 0;
  return pos + 2;
}

// Bursts stop growing well before an argument's offset could overflow
// the 32-bit positions burst::command keeps.
constexpr std::size_t max_burst_bytes = std::size_t{1} << 30;

}  // namespace

std::size_t parse_flat_command(std::string_view in, const troupe::io::resp::codec& limits,
                               std::vector<std::string_view>& args) {
  if (in.empty() || in[0] != '*' || limits.max_depth == 0) return 0;
  std::uint32_t count = 0;
  std::size_t pos = plain_length(in, 1, count);
  if (pos == 0 || count == 0 || count > limits.max_elements) return 0;
  const std::size_t mark = args.size();
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t len = 0;
    if (pos == in.size() || in[pos] != '$' || (pos = plain_length(in, pos + 1, len)) == 0 ||
        len > limits.max_bulk || in.size() - pos < std::size_t{len} + 2 || in[pos + len] != '\r' ||
        in[pos + len + 1] != '\n') {
      args.resize(mark);
      return 0;
    }
    args.push_back(in.substr(pos, len));
    pos += len + 2;
  }
  return pos;
}

troupe::io::parsed<burst> codec::parse(std::string_view bytes) const {
  burst out;
  std::size_t used = 0;
  const std::size_t most = std::max<std::size_t>(max_burst, 1);
  while (used < bytes.size() && out.commands_.size() < most && used < max_burst_bytes) {
    const std::string_view rest = bytes.substr(used);
    const std::size_t first = out.args_.size();
    // A frame the generic parser has half-scanned goes on there: the flat
    // parser would read it from its start again on every piece of it that
    // arrives (quadratic for a big array trickled in).
    std::size_t n = 0;
    if (!mid_frame() && (n = parse_flat_command(rest, *this, out.args_)) != 0) {
      out.commands_.push_back({static_cast<std::uint32_t>(first),
                               static_cast<std::uint32_t>(out.args_.size() - first), 0});
      used += n;
      continue;
    }
    auto step = troupe::io::resp::codec::parse(rest);
    if (step.needs_more()) break;
    if (step.failed()) {
      if (out.commands_.empty()) return step.error();
      break;  // deliver the good ones first
    }
    used += step.consumed();
    out.commands_.push_back({0, 0, static_cast<std::uint32_t>(out.odd_.size())});
    out.odd_.push_back(std::move(step).message());
  }
  if (out.commands_.empty()) return troupe::io::need_more{};
  // The views point into the caller's bytes, which are reused after this
  // returns: they move to the burst's own copy, at the same offsets.
  auto copy = std::make_shared<const std::string>(bytes.substr(0, used));
  for (auto& arg : out.args_) arg = std::string_view(copy->data() + (arg.data() - bytes.data()), arg.size());
  out.bytes_ = std::move(copy);
  return {std::move(out), used};
}

void codec::encode(const reply& r, std::string& out) const {
  if (!r.wire.empty())
    out += r.wire;
  else
    troupe::io::resp::codec::encode(r.data, out);
}

}  // namespace kv
