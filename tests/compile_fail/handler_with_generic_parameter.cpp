// expect: each handler of a behavior takes exactly one parameter
#include "troupe/troupe.hpp"

troupe::behavior echo(troupe::actor&) {
  return {[](const auto& x) { return x; }};
}
