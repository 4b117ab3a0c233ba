// expect: each handler of a behavior takes exactly one parameter
#include "troupe/troupe.hpp"

troupe::behavior adder(troupe::actor&) {
  return {[](int a, int b) { return a + b; }};
}
