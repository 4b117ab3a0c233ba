// Socket actors under load, for ThreadSanitizer: many clients pipelining
// through serve() at once, from several threads, over two I/O threads.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "troupe/async.hpp"
#include "troupe/io.hpp"
#include "troupe/troupe.hpp"

namespace {

namespace io = troupe::io;

TEST(SocketStress, PipelinedClientsGetEveryReplyOnceInOrder) {
  troupe::runtime rt(troupe::config{.workers = 2, .warn_unhandled = false});
  io::reactor reactor(rt, {.threads = 2});
  // The service answers asynchronously from a pool of actors, so replies
  // complete out of order on other threads.
  auto pool = troupe::serve_with_actors<std::string, std::string>(
      rt, 4, [](troupe::actor&) -> troupe::behavior {
        return {[](const std::string& s) { return std::to_string(std::stoll(s) * 2); }};
      });
  auto server = io::serve<io::line_codec>(reactor, {"127.0.0.1", 0}, pool);
  const int clients = 16, per_client = 2000;
  std::atomic<long long> total{0};
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int c = t; c < clients; c += 4) {
        auto call = io::client<io::line_codec>(reactor, {"127.0.0.1", server.local().port}).get();
        std::vector<troupe::future<std::string>> replies;
        for (int i = 0; i < per_client; ++i) replies.push_back(call(std::to_string(c * per_client + i)));
        for (int i = 0; i < per_client; ++i) {
          long long got = std::stoll(replies[i].get());
          if (got != 2LL * (c * per_client + i)) ++wrong;
          total += got;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  long long n = static_cast<long long>(clients) * per_client;
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(total.load(), n * (n - 1));  // 2 * (0 + 1 + ... + n-1)
}

TEST(SocketStress, ConnectionsOpenAndCloseWhileWritersPush) {
  troupe::runtime rt(troupe::config{.workers = 2, .warn_unhandled = false});
  io::reactor reactor(rt, {.threads = 2});
  std::atomic<int> opened{0}, closed{0};
  auto server = io::listen<io::line_codec>(reactor, {"127.0.0.1", 0},
      [&](troupe::actor&, io::connection<io::line_codec> conn) -> troupe::behavior {
        ++opened;
        return {[conn](std::string& line) mutable {
                  for (int i = 0; i < 10; ++i) conn.write(line);
                  if (line == "bye") conn.close();
                },
                [&](const io::closed&) { ++closed; }};
      });
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 25; ++round) {
        auto call = io::client<io::line_codec>(reactor, {"127.0.0.1", server.local().port}).get();
        auto first = call("x");
        (void)call("bye");
        first.wait_for(std::chrono::seconds(10));
      }
    });
  }
  for (auto& th : threads) th.join();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (closed < 100 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(opened.load(), 100);
  EXPECT_EQ(closed.load(), 100);
}

}  // namespace
