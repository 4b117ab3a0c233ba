// expect: compiles
// What the checks above must keep accepting: handlers by value, const&,
// &, noexcept, a plain function, a generic continuation when the reply
// type is named, and actor functions with arguments.
#include <string>

#include "troupe/troupe.hpp"

int twice(int x) { return 2 * x; }

troupe::behavior counter(troupe::actor& self, int start, std::string name) {
  return {
      [start](int x) noexcept { return x + start; },
      [name](const std::string& s) { return name + s; },
      [](std::string& s) { s += "!"; },
      &twice,
      [&self](double) {
        self.request<int>(self.pid(), 1, std::chrono::seconds(1)).then([](auto reply) { (void)reply; });
      },
  };
}

struct account {
  explicit account(int opening) : balance(opening) {}
  troupe::behavior make_behavior(troupe::actor&) {
    return {[this](int deposit) { return balance += deposit; }};
  }
  int balance;
};

void start(troupe::runtime& rt) {
  rt.spawn(counter, 5, std::string("n"));
  rt.spawn<account>(10);
  rt.spawn([](troupe::actor&) {});
}
