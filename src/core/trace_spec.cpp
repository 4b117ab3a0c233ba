// The text form of temporal assertions (troupe/core/trace_spec.hpp): a
// recursive-descent parser over a small tokenizer, building the same
// formulas and rules as the C++ API. Every error names what was expected,
// where, and what was there instead.
#include "troupe/core/trace_spec.hpp"

#include <cctype>
#include <charconv>
#include <limits>

namespace troupe::tracing {

namespace {

enum class tok { end, string, number, word, symbol };

struct token {
  tok kind = tok::end;
  std::string text;  // a string's contents, a word, a symbol
  std::int64_t number = 0;
  std::string unit;  // a number's suffix (ms, s, ...)
  std::size_t at = 0;
};

class parser {
 public:
  explicit parser(std::string_view text) : text_(text) { next(); }

  std::vector<rule> rules() {
    std::vector<rule> out;
    while (cur_.kind != tok::end) {
      out.push_back(one_rule());
      if (is_symbol(";")) {
        next();
        continue;
      }
      if (cur_.kind != tok::end) fail("';' between rules");
    }
    if (out.empty()) fail("a rule (\"name\": ...)");
    return out;
  }

  formula only_formula() {
    formula f = expr();
    if (cur_.kind != tok::end) fail("the end of the formula");
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& expected) const { fail_at(cur_.at, expected); }

  // `raw`: describe the text at `at` (the tokenizer's errors, where the
  // current token is not what is there).
  [[noreturn]] void fail_at(std::size_t at, const std::string& expected, bool raw = false) const {
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < at && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string found = cur_.at == at && !raw ? describe(cur_) : "'" + std::string(text_.substr(at, 12)) + "'";
    throw spec_error("trace spec " + std::to_string(line) + ":" + std::to_string(column) + ": expected " + expected +
                         ", found " + found,
                     at, line, column);
  }

  static std::string describe(const token& t) {
    switch (t.kind) {
      case tok::end: return "the end of the spec";
      case tok::string: return "\"" + t.text + "\"";
      case tok::number: return std::to_string(t.number) + t.unit;
      default: return "'" + t.text + "'";
    }
  }

  void skip_space() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  void next() {
    skip_space();
    cur_ = token{};
    cur_.at = pos_;
    if (pos_ >= text_.size()) return;
    // Bounds the formula's size too (a long && chain is a deep tree).
    if (++tokens_ > max_tokens) fail_at(pos_, "a spec of at most " + std::to_string(max_tokens) + " tokens", true);
    const char c = text_[pos_];
    if (c == '"') {
      cur_.kind = tok::string;
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        cur_.text += text_[pos_++];
      }
      if (pos_ >= text_.size()) fail_at(cur_.at, "a closing '\"' for the string begun here", true);
      ++pos_;
      return;
    }
    const bool negative = c == '-' && pos_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1]));
    if (std::isdigit(static_cast<unsigned char>(c)) || negative) {
      cur_.kind = tok::number;
      const char* first = text_.data() + pos_;
      auto [end, ec] = std::from_chars(first, text_.data() + text_.size(), cur_.number);
      if (ec != std::errc()) fail_at(pos_, "a number that fits 64 bits", true);
      pos_ += static_cast<std::size_t>(end - first);
      while (pos_ < text_.size() && std::isalpha(static_cast<unsigned char>(text_[pos_]))) cur_.unit += text_[pos_++];
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      cur_.kind = tok::word;
      while (pos_ < text_.size() &&
             (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        cur_.text += text_[pos_++];
      return;
    }
    static constexpr std::string_view two[] = {"->", "&&", "||", "==", "!=", "<=", ">="};
    for (auto s : two)
      if (text_.substr(pos_, 2) == s) {
        cur_.kind = tok::symbol;
        cur_.text = s;
        pos_ += 2;
        return;
      }
    if (std::string_view("();:,!<>").find(c) != std::string_view::npos) {
      cur_.kind = tok::symbol;
      cur_.text = c;
      ++pos_;
      return;
    }
    fail_at(pos_, "a name, a string, a number or one of ( ) ; : , ! -> && || == != < <= > >=", true);
  }

  bool is_symbol(std::string_view s) const { return cur_.kind == tok::symbol && cur_.text == s; }
  bool is_word(std::string_view s) const { return cur_.kind == tok::word && cur_.text == s; }

  void expect(std::string_view symbol, const std::string& context) {
    if (!is_symbol(symbol)) fail("'" + std::string(symbol) + "' " + context);
    next();
  }

  std::int64_t integer(const std::string& what) {
    if (cur_.kind != tok::number || !cur_.unit.empty()) fail(what);
    const std::int64_t n = cur_.number;
    next();
    return n;
  }

  std::chrono::nanoseconds duration(const std::string& context) {
    if (cur_.kind != tok::number || cur_.number < 0) fail("a duration (10ms, 5s, ...) " + context);
    static constexpr std::pair<std::string_view, std::int64_t> units[] = {
        {"ns", 1}, {"us", 1'000}, {"ms", 1'000'000}, {"s", 1'000'000'000}};
    for (auto [unit, scale] : units)
      if (cur_.unit == unit) {
        if (cur_.number > std::numeric_limits<std::int64_t>::max() / scale) fail("a shorter duration");
        const std::int64_t ns = cur_.number * scale;
        next();
        return std::chrono::nanoseconds(ns);
      }
    fail("a duration's unit (ns, us, ms or s) " + context);
  }

  std::string string(const std::string& what) {
    if (cur_.kind != tok::string) fail(what);
    std::string s = cur_.text;
    next();
    return s;
  }

  rule one_rule() {
    const std::string name = string("a rule's name in quotes");
    expect(":", "after the rule's name");
    if (is_word("respond") || is_word("bounded")) {
      const bool respond = is_word("respond");
      const std::string op = cur_.text;
      next();
      expect("(", "after " + op);
      formula first = expr();
      expect(",", "after " + op + "'s first formula");
      formula second = expr();
      expect(",", "after " + op + "'s second formula");
      const auto d = duration("as " + op + "'s bound");
      event_key k = optional_key(op);
      expect(")", "closing " + op);
      return respond ? answered_within(name, first, second, std::move(k), d)
                     : held_at_most(name, first, second, std::move(k), d);
    }
    if (is_word("at_most")) {
      next();
      expect("(", "after at_most");
      const std::size_t count_at = cur_.at;
      const std::int64_t n = integer("a count as at_most's first argument");
      if (n < 0) fail_at(count_at, "a count of 0 or more", true);
      expect(",", "after at_most's count");
      formula counted = expr();
      expect(",", "after at_most's formula");
      const auto d = duration("as at_most's window");
      event_key k = optional_key("at_most");
      expect(")", "closing at_most");
      return at_most_within(name, static_cast<std::size_t>(n), counted, std::move(k), d);
    }
    return rule(name, expr());
  }

  event_key optional_key(const std::string& op) {
    if (!is_symbol(",")) return [](const event&) { return std::uint64_t{0}; };
    next();
    if (cur_.kind != tok::word) fail("a key (actor, other, what, thread, trace or none) for " + op);
    const std::string k = cur_.text;
    event_key key;
    if (k == "actor")
      key = [](const event& e) { return e.actor; };
    else if (k == "other")
      key = [](const event& e) { return e.other; };
    else if (k == "thread")
      key = [](const event& e) { return std::uint64_t{e.thread}; };
    else if (k == "trace")
      key = [](const event& e) { return e.trace_id; };
    else if (k == "what")
      key = [](const event& e) { return std::hash<std::string>{}(e.what); };
    else if (k == "none")
      key = [](const event&) { return std::uint64_t{0}; };
    else
      fail("a key (actor, other, what, thread, trace or none) for " + op);
    next();
    return key;
  }

  formula expr() {
    depth_guard guard(*this);
    formula left = disjunction();
    if (is_symbol("->")) {
      next();
      return implies(left, expr());
    }
    return left;
  }

  formula disjunction() {
    formula f = conjunction();
    while (is_symbol("||")) {
      next();
      f = f || conjunction();
    }
    return f;
  }

  formula conjunction() {
    formula f = unary();
    while (is_symbol("&&")) {
      next();
      f = f && unary();
    }
    return f;
  }

  // Nesting is bounded: a spec from outside must not overflow the stack
  // (here, or in the monitor that flattens the formula).
  static constexpr int max_depth = 200;
  struct depth_guard {
    parser& p;
    explicit depth_guard(parser& owner) : p(owner) {
      if (++p.depth_ > max_depth) p.fail("a formula nested at most " + std::to_string(max_depth) + " deep");
    }
    ~depth_guard() { --p.depth_; }
  };

  formula unary() {
    depth_guard guard(*this);
    if (is_symbol("!")) {
      next();
      return !unary();
    }
    return primary();
  }

  formula primary() {
    if (is_symbol("(")) {
      next();
      formula f = expr();
      expect(")", "closing the parenthesis");
      return f;
    }
    if (cur_.kind != tok::word) fail("a formula (an event kind, an operator, '!' or '(')");
    const std::string word = cur_.text;
    const std::size_t at = cur_.at;
    next();
    if (word == "true") return formula("true", [](const event&) { return true; });
    if (word == "false") return formula("false", [](const event&) { return false; });
    if (word == "previously") {
      expect("(", "after previously");
      formula a = expr();
      expect(")", "closing previously");
      return previously(a);
    }
    if (word == "once" || word == "historically") {
      expect("(", "after " + word);
      formula a = expr();
      if (is_symbol(",")) {
        next();
        const auto d = duration("as " + word + "'s bound");
        expect(")", "closing " + word);
        return word == "once" ? once_within(d, a) : historically_within(d, a);
      }
      expect(")", "closing " + word);
      return word == "once" ? once(a) : historically(a);
    }
    if (word == "since") {
      expect("(", "after since");
      formula a = expr();
      expect(",", "between since's formulas");
      formula b = expr();
      expect(")", "closing since");
      return since(a, b);
    }
    if (word == "what") {
      expect("(", "after what");
      const std::string text = string("a string in what(...)");
      expect(")", "closing what");
      return what_is(text);
    }
    if (word == "value" || word == "actor" || word == "other" || word == "thread") return comparison(word);
    event_kind kind;
    if (!kind_from_string(word.c_str(), kind))
      fail_at(at, "an event kind (spawn, send, begin, end, exit, restart, ...), an operator or a field");
    formula f = kind_is(kind);
    if (is_symbol("(")) {
      next();
      const std::string text = string("a string (the event's what) after " + word + "(");
      expect(")", "closing " + word + "(...)");
      f = f && what_is(text);
    }
    return f;
  }

  formula comparison(const std::string& field) {
    if (cur_.kind != tok::symbol) fail("a comparison (== != < <= > >=) after " + field);
    const std::string cmp = cur_.text;
    static constexpr std::string_view cmps[] = {"==", "!=", "<", "<=", ">", ">="};
    bool known = false;
    for (auto c : cmps) known = known || c == cmp;
    if (!known) fail("a comparison (== != < <= > >=) after " + field);
    next();
    const std::int64_t n = integer("a whole number after " + field + " " + cmp);
    // Decided here, not per event.
    const int which = field == "value" ? 0 : field == "actor" ? 1 : field == "other" ? 2 : 3;
    const int how = cmp == "==" ? 0 : cmp == "!=" ? 1 : cmp == "<" ? 2 : cmp == "<=" ? 3 : cmp == ">" ? 4 : 5;
    return formula(field + " " + cmp + " " + std::to_string(n), [which, how, n](const event& e) {
      const std::int64_t v = which == 0   ? e.value
                             : which == 1 ? static_cast<std::int64_t>(e.actor)
                             : which == 2 ? static_cast<std::int64_t>(e.other)
                                          : static_cast<std::int64_t>(e.thread);
      switch (how) {
        case 0: return v == n;
        case 1: return v != n;
        case 2: return v < n;
        case 3: return v <= n;
        case 4: return v > n;
        default: return v >= n;
      }
    });
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  token cur_;
  int depth_ = 0;
  static constexpr std::size_t max_tokens = 20'000;
  std::size_t tokens_ = 0;
};

}  // namespace

std::vector<rule> parse_rules(std::string_view text) { return parser(text).rules(); }

formula parse_formula(std::string_view text) { return parser(text).only_formula(); }

}  // namespace troupe::tracing
