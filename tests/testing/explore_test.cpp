// Schedule exploration finds an order-dependent bug that a plain run may
// never show, prints a seed that replays it, and passes the fixed protocol
// under every seed.
//
// The toy protocol: a client deposits 10 into an account, then asks an
// auditor to check the balance; the auditor asks the account. In the buggy
// version the client tells the auditor right after sending the deposit, so
// the auditor's question can overtake the deposit (FIFO holds per pair
// only: client->account and auditor->account are different pairs). The
// fixed version tells the auditor only after the account acknowledged.
#include "troupe/testing/explore.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "troupe/troupe.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {
struct deposit {
  int amount;
};
struct balance_q {};
struct check {
  pid report_to;
};
struct seen {
  int balance;
};
struct go {
  pid report_to;
};

struct account {
  int balance = 0;
  behavior make_behavior(actor&) {
    return {
        [this](deposit d) { return balance += d.amount; },
        [this](balance_q) { return balance; },
    };
  }
};

void bank_protocol(simulation& sim, bool fixed) {
  runtime& rt = sim.system();
  scoped_actor self(rt);
  auto acct = rt.spawn<account>();
  auto auditor = rt.spawn([acct](actor& a) -> behavior {
    return {[&a, acct](check c) {
      a.request<int>(acct, balance_q{}, 5s).then([&a, to = c.report_to](int b) {
        a.send(to, seen{b});
      });
    }};
  });
  auto client = rt.spawn([acct, auditor, fixed](actor& a) -> behavior {
    return {[&a, acct, auditor, fixed](go g) {
      if (fixed) {
        a.request<int>(acct, deposit{10}, 5s).then([&a, auditor, to = g.report_to](int) {
          a.send(auditor, check{to});
        });
      } else {
        a.request<int>(acct, deposit{10}, 5s).then([](int) {});
        a.send(auditor, check{g.report_to});  // does not wait for the deposit
      }
    }};
  });
  self.send(client, go{self.pid()});
  auto result = self.receive<seen>(10s);
  sim.require(result.has_value(), "the auditor answered");
  sim.require(result->balance == 10,
              "the auditor saw balance " + std::to_string(result->balance) + ", not 10");
}
}  // namespace

TEST(explore, finds_the_order_dependent_bug_and_the_seed_replays_it) {
  auto buggy = [](simulation& sim) { bank_protocol(sim, false); };
  auto outcome = explore({.seeds = 200}, buggy);
  ASSERT_FALSE(outcome.passed) << "200 seeds never found the overtaking question";
  std::printf("%s", outcome.report.c_str());  // what a user sees
  EXPECT_LE(outcome.runs, 200u);
  EXPECT_NE(outcome.failure.find("saw balance 0"), std::string::npos) << outcome.failure;
  EXPECT_NE(outcome.report.find("TROUPE_SEED=" + std::to_string(outcome.failing_seed)),
            std::string::npos);
  EXPECT_NE(outcome.report.find("deliver"), std::string::npos) << "the report shows the trace";
  // Replaying the printed seed fails the same way, step for step.
  std::vector<std::string> again;
  std::string failure = replay(outcome.failing_seed, {}, buggy, &again);
  EXPECT_EQ(failure, outcome.failure);
  EXPECT_EQ(again, outcome.trace);
}

TEST(explore, pct_mode_finds_it_too) {
  auto outcome = explore({.seeds = 200, .mode = schedule_mode::pct, .pct_steps = 40},
                         [](simulation& sim) { bank_protocol(sim, false); });
  EXPECT_FALSE(outcome.passed) << "PCT missed a depth-2 bug in 200 runs";
}

TEST(explore, the_fixed_protocol_passes_every_seed) {
  auto random = explore({.seeds = 300}, [](simulation& sim) { bank_protocol(sim, true); });
  EXPECT_TRUE(random.passed) << random.report;
  EXPECT_EQ(random.runs, 300u);
  auto pct = explore({.seeds = 100, .mode = schedule_mode::pct, .pct_steps = 40},
                     [](simulation& sim) { bank_protocol(sim, true); });
  EXPECT_TRUE(pct.passed) << pct.report;
}

TEST(explore, troupe_seed_pins_the_run_to_one_seed) {
  setenv("TROUPE_SEED", "17", 1);
  std::vector<std::uint64_t> seeds;
  auto outcome = explore({.seeds = 50}, [&](simulation& sim) { seeds.push_back(sim.seed()); });
  unsetenv("TROUPE_SEED");
  EXPECT_TRUE(outcome.passed);
  EXPECT_EQ(seeds, std::vector<std::uint64_t>{17});
}
