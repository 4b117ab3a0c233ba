// expect: spawn(fn, args...) calls fn(actor& self, args...)
#include "troupe/troupe.hpp"

void start(troupe::runtime& rt) {
  rt.spawn([]() -> troupe::behavior { return {[](int x) { return x; }}; });
}
