#include "glob.hpp"

#include <algorithm>
#include <array>

namespace kv {
namespace {

// One element of a pattern: a star, or the set of bytes it accepts.
struct element {
  bool star = false;
  std::array<bool, 256> accepts{};
};

std::vector<element> parse(std::string_view p) {
  std::vector<element> out;
  for (std::size_t i = 0; i < p.size();) {
    element e;
    const char c = p[i];
    if (c == '*') {
      ++i;
      if (!out.empty() && out.back().star) continue;  // ** is *
      e.star = true;
    } else if (c == '?') {
      e.accepts.fill(true);
      ++i;
    } else if (c == '[') {
      std::size_t q = i + 1;
      const bool negate = q < p.size() && p[q] == '^';
      if (negate) ++q;
      while (q < p.size() && p[q] != ']') {
        if (p[q] == '\\' && q + 1 < p.size()) {
          e.accepts[static_cast<unsigned char>(p[q + 1])] = true;
          q += 2;
        } else if (q + 2 < p.size() && p[q + 1] == '-' && p[q + 2] != ']') {
          auto lo = static_cast<unsigned char>(p[q]), hi = static_cast<unsigned char>(p[q + 2]);
          if (lo > hi) std::swap(lo, hi);
          for (unsigned b = lo; b <= hi; ++b) e.accepts[b] = true;
          q += 3;
        } else {
          e.accepts[static_cast<unsigned char>(p[q])] = true;
          ++q;
        }
      }
      if (q >= p.size()) {
        e.accepts.fill(false);  // no closing ']': matches no byte
        i = q;
      } else {
        if (negate)
          for (bool& a : e.accepts) a = !a;
        i = q + 1;
      }
    } else {
      char literal = c;
      if (c == '\\' && i + 1 < p.size()) literal = p[++i];
      e.accepts[static_cast<unsigned char>(literal)] = true;
      ++i;
    }
    out.push_back(e);
  }
  return out;
}

}  // namespace

glob::glob(std::string_view pattern) {
  const std::vector<element> elements = parse(pattern);
  accept_ = elements.size();
  words_ = accept_ / 64 + 1;  // states 0..accept_
  match_.assign(256 * words_, 0);
  star_.assign(words_, 0);
  for (std::size_t j = 1; j <= elements.size(); ++j) {
    const element& e = elements[j - 1];
    const word bit = word{1} << (j % 64);
    if (e.star) {
      star_[j / 64] |= bit;
      continue;
    }
    for (unsigned c = 0; c < 256; ++c)
      if (e.accepts[c]) match_[c * words_ + j / 64] |= bit;
  }
}

bool glob::matches(std::string_view text) const {
  // states: bit j set when the first j elements can match the text so far.
  // Invariants: closed under "a star may match nothing" (no two stars are
  // adjacent, so one step of closure suffices).
  std::vector<word> states(words_, 0), next(words_);
  auto close = [&](std::vector<word>& s) {
    word carry = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const word shifted = (s[w] << 1) | carry;
      carry = s[w] >> 63;
      s[w] |= shifted & star_[w];
    }
  };
  states[0] = 1;
  close(states);
  for (const char ch : text) {
    const word* accepts = &match_[static_cast<unsigned char>(ch) * words_];
    word carry = 0, any = 0;
    for (std::size_t w = 0; w < words_; ++w) {
      const word shifted = (states[w] << 1) | carry;
      carry = states[w] >> 63;
      next[w] = (shifted & accepts[w]) | (states[w] & star_[w]);
      any |= next[w];
    }
    if (any == 0) return false;
    close(next);
    states.swap(next);
  }
  return (states[accept_ / 64] >> (accept_ % 64)) & 1;
}

bool glob_match(std::string_view pattern, std::string_view text) { return glob(pattern).matches(text); }

}  // namespace kv
