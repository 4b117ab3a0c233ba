// A user's program against an installed troupe that links troupe::net and
// troupe::testing, the names the guide (docs/guide/building.md) gives: a node that starts and
// stops, and a simulated actor run to completion under a seed.
#include <iostream>

#include "troupe/io/reactor.hpp"
#include "troupe/net/node.hpp"
#include "troupe/testing/simulation.hpp"
#include "troupe/troupe.hpp"

int main() {
  {
    troupe::runtime rt;
    troupe::io::reactor reactor(rt);
    troupe::net::node node(rt, reactor, {.name = "user@127.0.0.1", .cookie = "a-cookie-for-the-user-test"});
    std::cout << "node " << node.name() << ' ';
  }
  troupe::testing::simulation sim({.seed = 7});
  troupe::scoped_actor self(sim.system());
  auto doubler = sim.system().spawn([](troupe::actor&) -> troupe::behavior { return {[](int n) { return 2 * n; }}; });
  auto r = self.request<int>(doubler, 21);
  std::cout << "simulated " << (r ? *r : -1) << '\n';
}
