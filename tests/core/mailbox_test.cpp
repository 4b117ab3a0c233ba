#include "core/mailbox.hpp"

#include <gtest/gtest.h>

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
