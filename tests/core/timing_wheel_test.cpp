#include "core/timing_wheel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

using troupe::detail::timing_wheel;
using troupe::detail::wheel_node;

TEST(timing_wheel, expires_each_entry_at_its_tick_across_all_levels) {
  std::mt19937_64 rng(7);
  timing_wheel wheel;
  std::vector<wheel_node> nodes(2000);
  for (auto& n : nodes) {
    // Spread over every level, including far beyond the top level's span.
    std::uint64_t exp = rng() % 7;
    n.deadline = 1 + rng() % (std::uint64_t{1} << (6 * exp + 2));
    wheel.insert(&n);
  }
  std::vector<wheel_node*> expired;
  std::uint64_t now = 0;
  std::size_t seen = 0;
  while (wheel.size() > 0) {
    auto next = wheel.next_event();
    ASSERT_TRUE(next);
    now = std::max(now + 1, *next);
    wheel.advance(now, expired);
    for (auto* n : expired) {
      EXPECT_EQ(n->deadline, now) << "fired at the wrong tick";
      ++seen;
    }
    expired.clear();
  }
  EXPECT_EQ(seen, nodes.size());
}

TEST(timing_wheel, big_jumps_fire_everything_due) {
  timing_wheel wheel;
  std::vector<wheel_node> nodes(100);
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].deadline = 10 + i * 997;
    wheel.insert(&nodes[i]);
  }
  std::vector<wheel_node*> expired;
  wheel.advance(50'000, expired);
  EXPECT_EQ(expired.size(), 51u);  // deadlines 10 .. 10 + 50*997
  for (auto* n : expired) EXPECT_LE(n->deadline, 50'000u);
  EXPECT_EQ(wheel.size(), 49u);
}

TEST(timing_wheel, removed_entries_never_fire) {
  timing_wheel wheel;
  wheel_node a, b, c;
  a.deadline = 5;
  b.deadline = 5;
  c.deadline = 300;
  wheel.insert(&a);
  wheel.insert(&b);
  wheel.insert(&c);
  wheel.remove(&a);
  wheel.remove(&c);
  EXPECT_EQ(wheel.size(), 1u);
  std::vector<wheel_node*> expired;
  wheel.advance(1000, expired);
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0], &b);
}

TEST(timing_wheel, a_past_deadline_fires_on_the_next_tick) {
  timing_wheel wheel(100);
  wheel_node late;
  late.deadline = 3;
  wheel.insert(&late);
  std::vector<wheel_node*> expired;
  wheel.advance(101, expired);
  EXPECT_EQ(expired.size(), 1u);
}
