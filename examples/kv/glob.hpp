// kv::glob: Redis's glob patterns (* ? [abc] [^a] [a-z], \ to escape),
// matched in time linear in the text for a given pattern.
//
// A backtracking matcher takes time exponential in the stars (Redis's
// stringmatchlen recurses), and even the usual "retry from the last star"
// loop is quadratic: KEYS with a 10 KB pattern over 10 KB keys took
// seconds per hundred keys. Here the pattern is compiled once into a
// nondeterministic automaton whose states are the positions between its
// elements, and a text is run through all of them at once with bit sets
// (Shift-And, as in agrep): O(|text| x |pattern| / 64) per text, with no
// backtracking whatever the pattern.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kv {

class glob {
 public:
  // Longer patterns are refused (the automaton's tables take 32 bytes per
  // pattern byte).
  static constexpr std::size_t max_pattern = 64 * 1024;

  // Requires pattern.size() <= max_pattern.
  explicit glob(std::string_view pattern);
  bool matches(std::string_view text) const;

 private:
  using word = std::uint64_t;
  std::size_t words_ = 1;   // per state set
  std::size_t accept_ = 0;  // the state after the last element
  // match_[c * words_ ...]: the states j (1-based) whose element j is not
  // a star and accepts byte c.
  std::vector<word> match_;
  std::vector<word> star_;  // the states j whose element j is a star
};

// One-off form.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace kv
