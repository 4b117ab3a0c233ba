// libFuzzer target for the observer admin server's request text: the
// percent escapes of a path, the query string and pid text
// (src/observer/admin_query.cpp). Built and run by scripts/fuzz (not part
// of the CMake build).
//
// The input is a request target as a client would send it ("/path?query").
// Invariants (a violation traps):
//   - a decoded text is never longer than its escaped form; text with no
//     '%' or '+' decodes to itself;
//   - a query parses to at most 32 parameters, each decoded like the path,
//     and find() returns the first value of a name;
//   - a pid text parses only if it is digits, bare or as <0.N.0>, and then
//     to the number they write; the id prints back to text that parses to
//     it again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "observer/admin_api.hpp"

namespace {
void require(bool ok) {
  if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace troupe::observer::detail;
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  const auto question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const std::string_view query_text = question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);

  // A path keeps '+'; a query reads it as a space: otherwise the two agree.
  const auto decoded = percent_decode(path, false);
  const auto as_query = percent_decode(path, true);
  require(decoded.has_value() == as_query.has_value());
  if (decoded) {
    require(decoded->size() <= path.size() && decoded->size() == as_query->size());
    if (path.find('%') == std::string_view::npos) require(*decoded == path);
    // A pid text: parses only as <0.N.0> or N, and then prints back.
    if (const auto id = parse_local_id(*decoded)) {
      const std::string digits = std::to_string(*id);
      std::string_view inner = *decoded;
      if (inner.size() > 5 && inner.substr(0, 3) == "<0." && inner.substr(inner.size() - 3) == ".0>")
        inner = inner.substr(3, inner.size() - 6);
      require(!inner.empty() && inner.find_first_not_of("0123456789") == std::string_view::npos);
      // Leading zeros are read through ("007" is 7).
      const auto significant = inner.find_first_not_of('0');
      require((significant == std::string_view::npos ? std::string_view("0") : inner.substr(significant)) == digits);
      require(parse_local_id("<0." + digits + ".0>") == id);
      require(parse_local_id(digits) == id);
    }
  }
  if (const auto q = parse_query(query_text)) {
    require(q->params.size() <= 32);
    for (const auto& [name, value] : q->params) {
      require(name.size() + value.size() <= query_text.size());
      const std::string* first = q->find(name);
      require(first != nullptr);
      for (const auto& [n2, v2] : q->params)
        if (n2 == name) {
          require(first == &v2);
          break;
        }
    }
  }
  return 0;
}
