// expect: spawn(fn, args...) calls fn(actor& self, args...)
#include "troupe/troupe.hpp"

troupe::behavior counter(troupe::actor&, int start) {
  return {[start](int x) { return x + start; }};
}

void start(troupe::runtime& rt) { rt.spawn(counter); }
