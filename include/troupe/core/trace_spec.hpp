// Temporal assertions written as text (troupe/core/trace_check.hpp has the
// C++ form): for `troupe trace check FILE --spec ...`, for configuration
// files, and for rules typed at a running node.
//
//   auto rules = troupe::tracing::parse_rules(R"(
//     "queries answered": respond(begin("query"), end("query"), 10ms, actor);
//     "short mailboxes":  bounded(begin && value > 100, begin && value <= 100, 50ms, actor);
//     "restarts bounded": at_most(3, restart, 5s, actor);
//     "jobs are fresh":   begin("job") -> once(send("job"), 50ms);
//   )");
//
// Grammar (whitespace and `#` comments to the end of a line between tokens):
//   spec     := rule (';' rule)* [';']
//   rule     := STRING ':' body
//   body     := 'respond' '(' expr ',' expr ',' DURATION [',' key] ')'   answered_within
//             | 'bounded' '(' expr ',' expr ',' DURATION [',' key] ')'   held_at_most
//             | 'at_most' '(' INT ',' expr ',' DURATION [',' key] ')'    at_most_within
//             | expr                                                     always expr
//   expr     := or ['->' expr]
//   or       := and ('||' and)*
//   and      := unary ('&&' unary)*
//   unary    := '!' unary | primary
//   primary  := '(' expr ')' | 'true' | 'false'
//             | 'previously' '(' expr ')'
//             | 'once' '(' expr [',' DURATION] ')'          once, or once_within
//             | 'historically' '(' expr [',' DURATION] ')'  historically(_within)
//             | 'since' '(' expr ',' expr ')'
//             | KIND ['(' STRING ')']   an event of that kind (event_kind's names:
//                                       begin, send, exit, lock_wait, ...) whose
//                                       `what` contains STRING
//             | 'what' '(' STRING ')'
//             | FIELD CMP INT           FIELD: value, actor, other, thread;
//                                       CMP: == != < <= > >=
//   key      := 'actor' | 'other' | 'what' | 'thread' | 'trace' | 'none'
//   DURATION := INT ('ns' | 'us' | 'ms' | 's')
//
// A malformed spec throws spec_error naming what was expected, where (line
// and column) and what was found there.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/core/trace_check.hpp"

namespace troupe::tracing {

// A spec that does not parse.
class spec_error : public std::runtime_error {
 public:
  // The message, and where (offset, line, column).
  spec_error(const std::string& what, std::size_t offset, std::size_t line, std::size_t column)
      : std::runtime_error(what), offset_(offset), line_(line), column_(column) {}
  // Where, as an offset into the text (0-based) ...
  std::size_t offset() const noexcept { return offset_; }
  // ... and as a line and a column (1-based).
  std::size_t line() const noexcept { return line_; }
  // The column (1-based).
  std::size_t column() const noexcept { return column_; }

 private:
  std::size_t offset_, line_, column_;
};

// The rules in `text` (see above); throws spec_error.
std::vector<rule> parse_rules(std::string_view text);
// One formula (the `expr` above); throws spec_error.
formula parse_formula(std::string_view text);

}  // namespace troupe::tracing
