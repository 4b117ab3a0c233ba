// Timer stress: many threads start and cancel timers concurrently while the
// wheel fires. A timer whose cancel() won never fires; every other timer
// fires exactly once.
#include <gtest/gtest.h>

#include <random>
#include <thread>
#include <vector>

#include "stress_scale.hpp"
#include "troupe/troupe.hpp"

using namespace troupe;
using namespace std::chrono_literals;

namespace {
struct fired {
  long id;
};
struct report {
  long count;
  long duplicates;
  std::vector<long> ids;
};
struct ask {};
}  // namespace

TEST(stress, concurrent_start_and_cancel_fire_exactly_the_survivors) {
  const long per_thread = stress::scaled(20'000, 300);
  constexpr int threads = 4;
  runtime rt(config{.workers = 2});
  scoped_actor self(rt);
  auto counter = rt.spawn([](actor&) -> behavior {
    auto r = std::make_shared<report>(report{0, 0, {}});
    auto seen = std::make_shared<std::vector<bool>>();
    return {[r, seen](fired f) {
              auto index = static_cast<std::size_t>(f.id);
              if (seen->size() <= index) seen->resize(index + 1, false);
              if ((*seen)[index]) ++r->duplicates;
              (*seen)[index] = true;
              ++r->count;
              r->ids.push_back(f.id);
            },
            [r](ask) { return *r; }};
  });
  std::vector<std::vector<bool>> cancelled(threads, std::vector<bool>(per_thread, false));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t) + 1);
      for (long i = 0; i < per_thread; ++i) {
        auto delay = std::chrono::milliseconds(rng() % 30);
        auto handle = rt.send_after(delay, counter, fired{t * per_thread + i});
        if (rng() % 2 == 0) {
          if (rng() % 4 == 0) std::this_thread::yield();
          cancelled[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] = handle.cancel();
        }
      }
    });
  for (auto& w : workers) w.join();
  long survivors = 0;
  for (auto& row : cancelled)
    for (bool c : row) survivors += c ? 0 : 1;
  // Wait until every survivor has fired (the latest is due 30 ms after start).
  report r{};
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto got = self.request<report>(counter, ask{}, 30s);
    ASSERT_TRUE(got);
    r = std::move(*got);
    if (r.count >= survivors) break;
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(50ms);
  r = *self.request<report>(counter, ask{}, 30s);
  EXPECT_EQ(r.count, survivors);
  EXPECT_EQ(r.duplicates, 0);
  for (long id : r.ids)
    EXPECT_FALSE(cancelled[static_cast<std::size_t>(id / per_thread)][static_cast<std::size_t>(id % per_thread)])
        << "a cancelled timer fired: " << id;
}
