// The smallest troupe program: one actor, one request.
#include <iostream>

#include "troupe/troupe.hpp"

int main() {
  troupe::runtime rt;
  auto greeter = rt.spawn([](troupe::actor&) -> troupe::behavior {
    return {[](const std::string& name) { return "hello, " + name; }};
  });
  troupe::scoped_actor self(rt);
  auto reply = self.request<std::string>(greeter, std::string("world"));
  std::cout << (reply ? *reply : reply.error().message()) << '\n';
}
