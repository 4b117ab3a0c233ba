#include "core/mailbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>
#include <vector>

using namespace troupe;
using namespace troupe::detail;

namespace {
message* make(int v) { return make_message(v); }
int value(message* m) { return m->as<int>(); }
void free_chain(message* m) {
  while (m) {
    message* next = m->next;
    delete m;
    m = next;
  }
}
}  // namespace

TEST(mailbox, take_all_returns_messages_oldest_first) {
  mailbox box;
  for (int i = 0; i < 5; ++i) EXPECT_EQ(box.push(make(i)), mailbox::push_result::queued);
  message* chain = box.take_all();
  int expected = 0;
  for (message* m = chain; m; m = m->next) EXPECT_EQ(value(m), expected++);
  EXPECT_EQ(expected, 5);
  free_chain(chain);
  EXPECT_EQ(box.take_all(), nullptr);
}

TEST(mailbox, first_push_after_block_wakes_the_owner_exactly_once) {
  mailbox box;
  ASSERT_TRUE(box.try_block());
  EXPECT_EQ(box.push(make(1)), mailbox::push_result::woke_owner);
  EXPECT_EQ(box.push(make(2)), mailbox::push_result::queued);
  EXPECT_FALSE(box.try_block());  // messages are waiting
  free_chain(box.take_all());
  EXPECT_TRUE(box.try_block());
  EXPECT_TRUE(box.try_unblock());
  EXPECT_EQ(box.push(make(3)), mailbox::push_result::queued);
  free_chain(box.take_all());
}

TEST(mailbox, rejects_pushes_after_close_and_returns_the_rest) {
  mailbox box;
  box.push(make(1));
  box.push(make(2));
  message* rest = box.close();
  ASSERT_NE(rest, nullptr);
  EXPECT_EQ(value(rest), 1);
  EXPECT_EQ(value(rest->next), 2);
  free_chain(rest);
  message* late = make(3);
  EXPECT_EQ(box.push(late), mailbox::push_result::closed);
  delete late;
  EXPECT_TRUE(box.closed());
}

TEST(mailbox, concurrent_producers_keep_per_producer_order_and_lose_nothing) {
  constexpr int producers = 4;
  constexpr int per_producer = 20000;
  mailbox box;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&box, p] {
      for (int i = 0; i < per_producer; ++i) box.push(make(p * per_producer + i));
    });
  std::vector<int> last(producers, -1);
  int received = 0;
  while (received < producers * per_producer) {
    message* chain = box.take_all();
    while (chain) {
      message* next = chain->next;
      int v = value(chain);
      int p = v / per_producer;
      EXPECT_GT(v, last[p]);
      last[p] = v;
      ++received;
      delete chain;
      chain = next;
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(received, producers * per_producer);
}

namespace {
// A run of user messages from..to-1, linked oldest first (as the send
// batching makes them).
message* make_run(int from, int to) {
  message* first = make(from);
  message* last = first;
  for (int v = from + 1; v < to; ++v) {
    last->next = make(v);
    last = last->next;
  }
  last->next = nullptr;
  return new message_run(first, last);
}
message* make_system(int v) {
  message* m = make(v);
  m->kind = message_kind::exit;
  return m;
}
std::vector<int> values(message* chain) {
  std::vector<int> out;
  for (message* m = chain; m; m = m->next) out.push_back(value(m));
  return out;
}
}  // namespace

// A run is one entry in the mailbox, but every way out gives back its
// messages in order, between what was pushed before and after it.
TEST(mailbox, runs_come_out_in_order_from_take_all_and_close) {
  mailbox box;
  box.push(make(0));
  box.push(make_run(1, 20));
  box.push(make(20));
  box.push(make_run(21, 40));
  message* all = box.take_all();
  std::vector<int> expected(40);
  for (int i = 0; i < 40; ++i) expected[i] = i;
  EXPECT_EQ(values(all), expected);
  free_chain(all);

  box.push(make_run(0, 17));
  box.push(make(17));
  message* rest = box.close();
  std::vector<int> expected_rest(18);
  for (int i = 0; i < 18; ++i) expected_rest[i] = i;
  EXPECT_EQ(values(rest), expected_rest);
  free_chain(rest);
}

// take_into splits the lanes: system messages to one queue, user messages
// and whole runs to the other, each oldest first.
TEST(mailbox, take_into_splices_runs_into_the_user_lane) {
  mailbox box;
  message_fifo system, user;
  box.push(make(0));
  box.push(make_system(100));
  box.push(make_run(1, 30));
  box.push(make_system(101));
  box.push(make(30));
  ASSERT_TRUE(box.take_into(system, user));
  EXPECT_FALSE(box.take_into(system, user));
  box.push(make_run(31, 50));
  ASSERT_TRUE(box.take_into(system, user));
  std::vector<int> expected_user(50);
  for (int i = 0; i < 50; ++i) expected_user[i] = i;
  EXPECT_EQ(values(user.front()), expected_user);
  EXPECT_EQ(values(system.front()), (std::vector<int>{100, 101}));
  free_chain(user.take_all());
  free_chain(system.take_all());
}

// Producers pushing runs and single messages at once: each producer's
// messages come out in its order, none lost (TSan checks the hand-over).
TEST(mailbox, concurrent_runs_and_singles_keep_per_producer_order) {
  constexpr int producers = 4;
  constexpr int per_producer = 40000;
  mailbox box;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&box, p] {
      int v = p * per_producer;
      const int end = v + per_producer;
      for (int step = 0; v < end; ++step) {
        const int len = std::min(end - v, step % 3 == 0 ? 1 : 16 + step % 40);
        if (len == 1)
          box.push(make(v));
        else
          box.push(make_run(v, v + len));
        v += len;
      }
    });
  std::vector<int> last(producers, -1);
  message_fifo system, user;
  int received = 0;
  while (received < producers * per_producer) {
    if (received % 2 == 0) {
      box.take_into(system, user);
    } else if (message* chain = box.take_all()) {
      message_fifo taken;
      while (chain) {
        message* next = chain->next;
        taken.push_back(chain);
        chain = next;
      }
      user.append(taken);
    }
    while (message* m = user.pop_front()) {
      const int v = value(m);
      const int p = v / per_producer;
      EXPECT_EQ(v, last[p] + (last[p] < 0 ? p * per_producer + 1 : 1));
      last[p] = v;
      ++received;
      delete m;
    }
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(system.empty());
  EXPECT_EQ(received, producers * per_producer);
}
