// kv::glob: the automaton agrees with a plain recursive matcher of Redis's
// glob on random patterns and texts, and takes patterns whose stars make a
// backtracking matcher blow up.
#include "glob.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>

namespace {

// The reference: the pattern language read literally, by recursion
// (exponential in the stars; fine on short inputs).
bool reference(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') return reference(p.substr(1), t) || (!t.empty() && reference(p, t.substr(1)));
  if (t.empty()) return false;
  if (p[0] == '?') return reference(p.substr(1), t.substr(1));
  if (p[0] == '[') {
    std::size_t q = 1;
    const bool negate = q < p.size() && p[q] == '^';
    if (negate) ++q;
    bool matched = false;
    while (q < p.size() && p[q] != ']') {
      if (p[q] == '\\' && q + 1 < p.size()) {
        matched |= p[q + 1] == t[0];
        q += 2;
      } else if (q + 2 < p.size() && p[q + 1] == '-' && p[q + 2] != ']') {
        char lo = p[q], hi = p[q + 2];
        if (lo > hi) std::swap(lo, hi);
        matched |= t[0] >= lo && t[0] <= hi;
        q += 3;
      } else {
        matched |= p[q] == t[0];
        ++q;
      }
    }
    if (q >= p.size()) return false;  // no closing ']'
    return matched != negate && reference(p.substr(q + 1), t.substr(1));
  }
  std::size_t width = 1;
  char literal = p[0];
  if (literal == '\\' && p.size() > 1) literal = p[1], width = 2;
  return literal == t[0] && reference(p.substr(width), t.substr(1));
}

TEST(KvGlob, AgreesWithTheReferenceOnRandomPatterns) {
  std::mt19937 rng(7);
  const std::string pattern_bytes = "ab*?[]^-\\c";
  const std::string text_bytes = "abc-]^\\";
  for (int round = 0; round < 20000; ++round) {
    std::string p, t;
    const int plen = static_cast<int>(rng() % 9), tlen = static_cast<int>(rng() % 9);
    for (int i = 0; i < plen; ++i) p += pattern_bytes[rng() % pattern_bytes.size()];
    for (int i = 0; i < tlen; ++i) t += text_bytes[rng() % text_bytes.size()];
    ASSERT_EQ(kv::glob(p).matches(t), reference(p, t)) << "pattern '" << p << "' text '" << t << "'";
  }
}

TEST(KvGlob, MatchesTheUsualCases) {
  EXPECT_TRUE(kv::glob_match("*", ""));
  EXPECT_TRUE(kv::glob_match("user:*", "user:42"));
  EXPECT_FALSE(kv::glob_match("user:*", "users:42"));
  EXPECT_TRUE(kv::glob_match("h?llo", "hello"));
  EXPECT_TRUE(kv::glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(kv::glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(kv::glob_match("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(kv::glob_match("a\\*b", "a*b"));
  EXPECT_FALSE(kv::glob_match("a\\*b", "axb"));
  EXPECT_FALSE(kv::glob_match("a[bc", "ab"));
}

// Many stars over a long text that almost matches: a backtracking matcher
// tries combinations of star lengths (exponentially many), the retry-from-
// the-last-star loop |pattern| x |text| steps; the automaton reads the
// text once.
TEST(KvGlob, ManyStarsOverALongTextAreMatchedWithoutBacktracking) {
  std::string pattern = "*";
  for (int i = 0; i < 3000; ++i) pattern += "a*";
  pattern += "b";
  const std::string text(100000, 'a');
  const kv::glob g(pattern);
  EXPECT_FALSE(g.matches(text));
  EXPECT_TRUE(g.matches(text + "b"));
  EXPECT_FALSE(g.matches(std::string(2999, 'a') + "b"));  // one 'a' short
}

}  // namespace
