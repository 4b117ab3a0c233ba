// expect: spawn<C>(args...) constructs the actor's state as C(args...)
#include <string>

#include "troupe/troupe.hpp"

struct account {
  explicit account(int opening) : balance(opening) {}
  troupe::behavior make_behavior(troupe::actor&) {
    return {[this](int deposit) { return balance += deposit; }};
  }
  int balance;
};

void start(troupe::runtime& rt) { rt.spawn<account>(std::string("not a number")); }
