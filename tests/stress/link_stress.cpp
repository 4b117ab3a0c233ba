// Links and monitors where threads meet: many linked chains crash at once
// on several workers; every member of every chain ends, every monitor
// fires exactly once, and nothing leaks or races.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct crash {};
struct link_next {
  pid next;
};
struct tally {
  long downs;
  long duplicates;
};
struct ask {};
}  // namespace

TEST(stress, crashes_travel_along_linked_chains) {
  const int chains = static_cast<int>(stress::scaled(200, 20));
  constexpr int length = 10;
  config cfg{.workers = 4};
  cfg.log_level = log_level::off;
  runtime rt(cfg);
  scoped_actor self(rt);
  // One observer monitors everyone and counts downs per actor.
  auto observer = rt.spawn([](actor& a) -> behavior {
    auto seen = std::make_shared<std::set<std::uint64_t>>();
    auto t = std::make_shared<tally>(tally{0, 0});
    return {
        [&a](const pid& p) { a.monitor(p); },
        [seen, t](const down& d) {
          if (!seen->insert(d.who.id()).second) ++t->duplicates;
          ++t->downs;
        },
        [t](ask) { return *t; },
    };
  });
  std::vector<pid> heads;
  for (int c = 0; c < chains; ++c) {
    std::vector<pid> chain;
    for (int i = 0; i < length; ++i)
      chain.push_back(rt.spawn([](actor& a) -> behavior {
        return {[&a](const link_next& l) { a.link(l.next); },
                [](crash) { throw std::runtime_error("chain crash"); },
                [](int x) { return x; }};
      }));
    for (int i = 0; i + 1 < length; ++i) self.send(chain[static_cast<std::size_t>(i)], link_next{chain[static_cast<std::size_t>(i) + 1]});
    for (auto& p : chain) self.send(observer, p);
    for (auto& p : chain) ASSERT_TRUE(self.request<int>(p, 1, 10s));  // links in place
    heads.push_back(chain.back());
  }
  ASSERT_TRUE(self.request<tally>(observer, ask{}, 10s));  // every monitor placed
  for (auto& h : heads) self.send(h, crash{});
  tally t{0, 0};
  for (int spin = 0; spin < 2000 && t.downs < chains * length; ++spin) {
    auto r = self.request<tally>(observer, ask{}, 10s);
    ASSERT_TRUE(r);
    t = *r;
    if (t.downs < chains * length) std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(t.downs, chains * length);
  EXPECT_EQ(t.duplicates, 0);
  // The last down is sent during its actor's end, just before the runtime
  // drops the actor from its live set: wait for that.
  for (int spin = 0; spin < 2000 && rt.live_actors() != 1; ++spin)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(rt.live_actors(), 1u);  // only the observer
}
