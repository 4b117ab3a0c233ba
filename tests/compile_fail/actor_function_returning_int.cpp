// expect: an actor function returns `behavior`
#include "troupe/troupe.hpp"

void start(troupe::runtime& rt) {
  rt.spawn([](troupe::actor&) { return 5; });
}
