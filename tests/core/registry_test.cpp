#include <gtest/gtest.h>

#include <thread>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

TEST(registry, register_whereis_and_automatic_unregister) {
  runtime rt(config{.workers = 1});
  scoped_actor self(rt);
  auto p = rt.spawn([](actor& a) -> behavior {
    return {[&a](int x) {
      a.quit();
      return x;
    }};
  });
  EXPECT_TRUE(rt.register_name("service", p));
  EXPECT_FALSE(rt.register_name("service", p));  // taken
  EXPECT_EQ(rt.whereis("service"), p);
  EXPECT_EQ(*self.request<int>(rt.whereis("service"), 3, 5s), 3);
  // The actor has ended: its name is released.
  for (int i = 0; i < 200 && rt.whereis("service"); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(rt.whereis("service"));
  EXPECT_FALSE(rt.register_name("service", p));  // dead actors cannot register
}

TEST(registry, spawn_option_registers_the_name) {
  runtime rt(config{.workers = 1});
  auto p = rt.spawn(spawn_options{.name = "named"},
                    [](actor&) -> behavior { return {[](int) {}}; });
  EXPECT_EQ(rt.whereis("named"), p);
  EXPECT_TRUE(rt.unregister_name("named"));
  EXPECT_FALSE(rt.whereis("named"));
  EXPECT_FALSE(rt.unregister_name("named"));
}
