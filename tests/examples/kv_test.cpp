// examples/kv: the flat burst parser against the generic RESP parser, and
// the server's pipelined runs (batched per shard, answered as encoded
// bytes, put back in request order) against a model of the commands,
// over real loopback sockets, from several clients at once.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "../eventually.hpp"
#include "../io/raw_socket.hpp"
#include "burst.hpp"
#include "kv_feed.hpp"
#include "router.hpp"
#include "server.hpp"
#include "troupe/io.hpp"

namespace {

namespace resp = troupe::io::resp;
using resp::value;

using kv_testing::feed;
using kv_testing::outcome;

void limit(resp::codec& c) {
  c.max_bulk = 40;
  c.max_elements = 6;
  c.max_inline = 64;
  c.max_depth = 3;
}

outcome generic_outcome(std::string_view bytes) {
  resp::codec c;
  limit(c);
  return feed(c, bytes, [](value& v, std::vector<value>& out) { out.push_back(std::move(v)); });
}

outcome burst_outcome(std::string_view bytes, std::size_t max_burst) {
  kv::codec c;
  limit(c);
  c.max_burst = max_burst;
  return feed(c, bytes, [](kv::burst& b, std::vector<value>& out) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (b[i].count == 0) {
        out.push_back(b.odd(b[i]));
        continue;
      }
      std::vector<value> args;
      for (std::string_view a : b.args(b[i])) args.push_back(value::bulk(std::string(a)));
      out.push_back(value::array(std::move(args)));
    }
  });
}

void expect_same(std::string_view bytes) {
  const outcome want = generic_outcome(bytes);
  for (std::size_t max_burst : {std::size_t{1}, std::size_t{3}, std::size_t{256}}) {
    const outcome got = burst_outcome(bytes, max_burst);
    ASSERT_EQ(got.used, want.used) << testing::PrintToString(std::string(bytes));
    ASSERT_EQ(got.failed, want.failed) << testing::PrintToString(std::string(bytes));
    ASSERT_EQ(got.error_reply, want.error_reply) << testing::PrintToString(std::string(bytes));
    ASSERT_EQ(got.commands.size(), want.commands.size()) << testing::PrintToString(std::string(bytes));
    for (std::size_t i = 0; i < want.commands.size(); ++i)
      ASSERT_TRUE(got.commands[i] == want.commands[i]) << i << " in " << testing::PrintToString(std::string(bytes));
  }
}

std::string bulk(std::string_view s) { return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n"; }

std::string command(const std::vector<std::string>& args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto& a : args) out += bulk(a);
  return out;
}

TEST(KvBurst, ParsesEverythingAsTheGenericParserDoesAtEverySplitPoint) {
  const std::vector<std::string> pieces = {
      command({"GET", "key:000000000001"}),
      command({"set", "k", "v\r\n with CRLF"}),
      command({"SET", "", ""}),
      "PING\r\n",                    // inline
      "\r\n\r\n" + command({"ECHO", "after blank lines"}),
      "*0\r\n", "*-1\r\n",           // empty and null arrays
      "*1\r\n$-1\r\n",               // a null bulk inside
      "*2\r\n$3\r\nGET\r\n:5\r\n",   // an integer inside
      "*1\r\n*1\r\n$1\r\nx\r\n",     // nested
      "*1\r\n$03\r\nGET\r\n",        // a leading zero in a length
      "*01\r\n$3\r\nGET\r\n",
      "*2\r\n$3\r\nGET\r\n$41\r\n" + std::string(41, 'a') + "\r\n",  // over max_bulk
      command({"a", "b", "c", "d", "e", "f", "g"}),                    // over max_elements
      "*1\r\n$3\r\nGETxx",           // no CRLF after the payload
      "*1\r\n$+3\r\nGET\r\n", "*1\r\n$3 \r\nGET\r\n", "*1\r\n$1234567890\r\n",
      "*99999999999999999999\r\n", "+OK\r\n", ":12\r\n", "-ERR x\r\n",
  };
  for (const auto& p : pieces) {
    for (std::size_t cut = 0; cut <= p.size(); ++cut) expect_same(std::string_view(p).substr(0, cut));
    expect_same(command({"GET", "before"}) + p + command({"GET", "after"}));
  }
}

TEST(KvBurst, AgreesWithTheGenericParserOnMutatedStreams) {
  const std::vector<std::string> pieces = {
      command({"GET", "key:1"}), command({"SET", "key:2", "value"}), command({"MGET", "a", "b", "c"}),
      "PING\r\n", "*1\r\n$-1\r\n", "*2\r\n$3\r\nGET\r\n:5\r\n", "*0\r\n",
  };
  std::mt19937 rng(7);
  for (int round = 0; round < 3000; ++round) {
    std::string stream;
    const int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) stream += pieces[rng() % pieces.size()];
    const int edits = static_cast<int>(rng() % 3);
    static const char alphabet[] = "*$:+-\r\n0123456789aZ ";
    for (int e = 0; e < edits && !stream.empty(); ++e) {
      const std::size_t at = rng() % stream.size();
      switch (rng() % 3) {
        case 0: stream[at] = alphabet[rng() % (sizeof alphabet - 1)]; break;
        case 1: stream.erase(at, 1); break;
        default: stream.insert(at, 1, alphabet[rng() % (sizeof alphabet - 1)]); break;
      }
    }
    expect_same(stream);
    expect_same(std::string_view(stream).substr(0, rng() % (stream.size() + 1)));
  }
}

TEST(KvBurst, ArgumentsOutliveTheBytesTheyWereParsedFrom) {
  kv::codec c;
  std::string input = command({"SET", "k", "v"}) + command({"GET", "k"});
  auto step = c.parse(input);
  ASSERT_TRUE(step.has_message());
  kv::burst b = std::move(step).message();
  input.assign(input.size(), '#');  // the connection reuses its buffer
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b.args(b[0])[2], "v");
  EXPECT_EQ(b.args(b[1])[1], "k");
}

// A model of the commands the clients below send, as Redis answers them.
class model {
 public:
  std::string run(const std::vector<std::string>& args) {
    const std::string& cmd = args[0];
    if (cmd == "SET" || cmd == "set") {
      data_[args[1]] = args[2];
      return "+OK\r\n";
    }
    if (cmd == "GET" || cmd == "get") {
      if (args.size() != 2) return "-ERR wrong number of arguments for 'get' command\r\n";
      auto it = data_.find(args[1]);
      return it == data_.end() ? "$-1\r\n" : bulk(it->second);
    }
    if (cmd == "INCR") {
      auto& v = data_[args[1]];
      std::int64_t n = v.empty() ? 0 : std::stoll(v);
      v = std::to_string(++n);
      return ":" + v + "\r\n";
    }
    if (cmd == "DEL") {
      int n = 0;
      for (std::size_t i = 1; i < args.size(); ++i) n += static_cast<int>(data_.erase(args[i]));
      return ":" + std::to_string(n) + "\r\n";
    }
    if (cmd == "MGET") {
      std::string out = "*" + std::to_string(args.size() - 1) + "\r\n";
      for (std::size_t i = 1; i < args.size(); ++i) {
        auto it = data_.find(args[i]);
        out += it == data_.end() ? "$-1\r\n" : bulk(it->second);
      }
      return out;
    }
    return "+PONG\r\n";  // PING
  }

 private:
  std::map<std::string, std::string> data_;
};

// One client's script: one-key commands (batched) mixed with commands that
// are not (DEL, MGET, PING inline, a GET of the wrong arity), on keys of
// its own, sent in chunks cut anywhere; the replies must be the model's,
// byte for byte, in order.
void run_client(std::uint16_t port, int id, int commands, std::string& failure) {
  std::mt19937 rng(static_cast<unsigned>(id) + 1);
  model m;
  std::string request, expected;
  auto key = [&] { return "c" + std::to_string(id) + ":" + std::to_string(rng() % 40); };
  for (int i = 0; i < commands; ++i) {
    std::vector<std::string> args;
    switch (rng() % 10) {
      case 0: case 1: case 2: args = {"SET", key(), "v" + std::to_string(i)}; break;
      case 3: case 4: args = {"GET", key()}; break;
      case 5: args = {"get", key()}; break;
      case 6: args = {"INCR", "c" + std::to_string(id) + ":n" + std::to_string(rng() % 4)}; break;
      case 7: args = {"DEL", key(), key()}; break;
      case 8: args = {"MGET", key(), key(), key()}; break;
      default: args = rng() % 2 ? std::vector<std::string>{"GET"} : std::vector<std::string>{"PING"}; break;
    }
    expected += m.run(args);
    request += args[0] == "PING" ? "PING\r\n" : command(args);
  }
  troupe::io::testing::raw_socket peer(port);
  std::size_t sent = 0;
  while (sent < request.size()) {
    const std::size_t n = std::min<std::size_t>(request.size() - sent, 1 + rng() % 3000);
    if (!peer.send(request.substr(sent, n))) {
      failure = "send failed";
      return;
    }
    sent += n;
  }
  std::string got = peer.read_exactly(expected.size(), std::chrono::seconds(60));
  got += peer.read_exactly(1, std::chrono::milliseconds(50));  // nothing more may come
  if (got != expected) {
    std::size_t at = 0;
    while (at < got.size() && got[at] == expected[at]) ++at;
    failure = "client " + std::to_string(id) + ": replies differ at byte " + std::to_string(at) + " of " +
              std::to_string(expected.size()) + " (got " + std::to_string(got.size()) + ")";
  }
}

// A kv server on loopback with `shards` shards, closed at the end.
struct kv_server {
  explicit kv_server(unsigned shards, kv::limits bounds = {})
      : server(kv::serve(io, {"127.0.0.1", 0}, shards, {}, bounds)) {}
  ~kv_server() {
    server.close();
    io.stop();
  }
  std::uint16_t port() const { return server.local().port; }
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  troupe::io::reactor io{rt};
  troupe::io::listener server;
};

TEST(KvServer, PipelinedCommandsFromManyClientsAreAnsweredInOrderAcrossShards) {
  kv_server kv(4);
  constexpr int clients = 4;
  std::vector<std::string> failures(clients);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] { run_client(kv.port(), c, 5000, failures[c]); });
  for (auto& t : threads) t.join();
  for (auto& f : failures) EXPECT_EQ(f, "");
}

TEST(KvServer, AClientThatReadsLateGetsEveryReply) {
  // More requests than max_in_flight and more replies than the write
  // queue holds: reading pauses and resumes many times on the way.
  kv_server kv(2);
  troupe::io::testing::raw_socket peer(kv.port());
  peer.set_receive_buffer(16 * 1024);
  const std::string value(200, 'v');
  ASSERT_TRUE(peer.send(command({"SET", "big", value})));
  ASSERT_EQ(peer.read_exactly(5), "+OK\r\n");
  constexpr int gets = 30000;
  std::string request;
  for (int i = 0; i < gets; ++i) request += command({"GET", i % 2 ? "big" : "none"});
  bool sent = false;
  std::thread sender([&] { sent = peer.send(request); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the server fills up first
  const std::string one = "$-1\r\n" + bulk(value);
  const std::string got = peer.read_exactly(one.size() * gets / 2, std::chrono::seconds(60));
  sender.join();
  EXPECT_TRUE(sent);
  ASSERT_EQ(got.size(), one.size() * gets / 2);
  EXPECT_EQ(peer.read_exactly(1, std::chrono::milliseconds(50)), "");  // nothing more
  for (std::size_t at = 0; at < got.size(); at += one.size()) ASSERT_EQ(got.compare(at, one.size(), one), 0) << at;
}

TEST(KvServer, AQuitTheRouterRefusesIsAnsweredAndReadingGoesOn) {
  kv_server kv(2);
  troupe::io::testing::raw_socket peer(kv.port());
  ASSERT_TRUE(peer.send("*2\r\n$4\r\nQUIT\r\n:1\r\n" + command({"PING"})));
  const std::string want = "-ERR Protocol error: expected bulk strings\r\n+PONG\r\n";
  EXPECT_EQ(peer.read_exactly(want.size()), want);
}

TEST(KvServer, QuitInTheMiddleOfARunAnswersWhatCameBeforeIt) {
  kv_server kv(3);
  troupe::io::testing::raw_socket peer(kv.port());
  std::string request, expected;
  for (int i = 0; i < 50; ++i) {
    request += command({"SET", "q" + std::to_string(i), std::to_string(i)});
    expected += "+OK\r\n";
  }
  request += command({"GET", "q7"}) + command({"QUIT"}) + command({"GET", "q8"});
  expected += bulk("7") + "+OK\r\n";
  ASSERT_TRUE(peer.send(request));
  std::string got;
  EXPECT_TRUE(peer.read_to_end(got));
  EXPECT_EQ(got, expected);
}

// A server whose key "big" holds 1 MB, under output limits of 1 and 4 MB.
struct kv_with_a_big_value : kv_server {
  kv_with_a_big_value() : kv_server(2, kv::limits{.output_soft = 1u << 20, .output_hard = 4u << 20}) {
    troupe::io::testing::raw_socket setter(port());
    EXPECT_TRUE(setter.send(command({"SET", "big", std::string(1u << 20, 'v')})));
    EXPECT_EQ(setter.read_exactly(5), "+OK\r\n");
  }
  // Sends `request` from a client that does not read for half a second,
  // then reads until the server closes it: what it was served.
  std::string served_to_a_client_that_reads_late(const std::string& request) {
    troupe::io::testing::raw_socket greedy(port());
    greedy.set_receive_buffer(16 * 1024);
    std::thread sender([&] { greedy.send(request); });
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // it does not read meanwhile
    troupe::io::testing::raw_socket other(port());  // others are served meanwhile
    EXPECT_TRUE(other.send(command({"PING"})));
    EXPECT_EQ(other.read_exactly(7), "+PONG\r\n");
    std::string got;
    EXPECT_TRUE(greedy.read_to_end(got, std::chrono::seconds(60))) << "the greedy client was not closed";
    sender.join();
    return got;
  }
};

// A client that sends GETs of a 1 MB value and never reads: the server
// stops reading from it at output_soft and closes it past output_hard,
// instead of holding a reply for every request (189 KB of GETs used to take
// it to 5 GB); other clients are served meanwhile.
TEST(KvLimits, AClientThatNeverReadsIsClosedPastTheOutputLimit) {
  kv_with_a_big_value kv;
  std::string request;
  for (int i = 0; i < 400; ++i) request += command({"GET", "big"});  // 400 MB of replies
  EXPECT_LT(kv.served_to_a_client_that_reads_late(request).size(), std::size_t{100} << 20)
      << "it was served far past the output limit";
}

// --maxmemory: past it, commands that add data get Redis's -OOM error; the
// keys already there stay, and deleting makes room again.
TEST(KvLimits, WritesPastMaxmemoryAreRefusedWithOomAndNothingIsLost) {
  kv_server kv(2, kv::limits{.maxmemory = 256u << 10});
  troupe::io::testing::raw_socket peer(kv.port());
  const std::string value(8u << 10, 'x');
  int stored = 0;
  std::string last;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(peer.send(command({"SET", "k" + std::to_string(i), value})));
    last = peer.read_exactly(5);
    if (last != "+OK\r\n") break;
    ++stored;
  }
  ASSERT_EQ(last, "-OOM ") << "200 keys of 8 KB went into 256 KB";
  EXPECT_GT(stored, 10);
  const std::string oom = "command not allowed when used memory > 'maxmemory'.\r\n";
  EXPECT_EQ(peer.read_exactly(oom.size()), oom);
  for (int i = 0; i < stored; ++i) {  // every key stored answers
    ASSERT_TRUE(peer.send(command({"GET", "k" + std::to_string(i)})));
    ASSERT_EQ(peer.read_exactly(bulk(value).size()), bulk(value)) << "key " << i;
  }
  ASSERT_TRUE(peer.send(command({"FLUSHALL"}) + command({"SET", "again", "1"})));
  EXPECT_EQ(peer.read_exactly(10), "+OK\r\n+OK\r\n");
}

// One small MGET over keys that hold more than the reply limit is refused,
// not built.
TEST(KvLimits, AnMgetWhoseReplyWouldPassTheLimitIsRefused) {
  kv_server kv(1, kv::limits{.output_hard = 1u << 20});
  troupe::io::testing::raw_socket peer(kv.port());
  const std::string value(400u << 10, 'm');
  for (const char* k : {"a", "b", "c"}) {
    ASSERT_TRUE(peer.send(command({"SET", k, value})));
    ASSERT_EQ(peer.read_exactly(5), "+OK\r\n");
  }
  ASSERT_TRUE(peer.send(command({"MGET", "a", "b", "c"})));
  const std::string refused = "-ERR the reply would be over the server's reply limit of 1048576 bytes: ask for fewer keys\r\n";
  EXPECT_EQ(peer.read_exactly(refused.size()), refused);
  ASSERT_TRUE(peer.send(command({"MGET", "a", "b"})));
  const std::string two = "*2\r\n" + bulk(value) + bulk(value);
  EXPECT_EQ(peer.read_exactly(two.size()), two);
}

// A KEYS over more key bytes than the reply limit is refused as a whole,
// not answered with the keys of the shards that stayed under it.
TEST(KvLimits, AKeysWhoseReplyWouldPassTheLimitIsRefused) {
  kv_server kv(2, kv::limits{.output_hard = 1024});
  troupe::io::testing::raw_socket peer(kv.port());
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(peer.send(command({"SET", std::string(100, 'k') + std::to_string(i), "v"})));
    ASSERT_EQ(peer.read_exactly(5), "+OK\r\n");
  }
  ASSERT_TRUE(peer.send(command({"KEYS", "*"})));
  const std::string refused = "-ERR the reply would be over the server's reply limit of 1024 bytes: ask for fewer keys\r\n";
  EXPECT_EQ(peer.read_exactly(refused.size()), refused);
}

// A shard that crashes is restarted by its supervisor with its keys: the
// store belongs to the router, and the new pid is where shard() reads it.
TEST(KvShards, AShardKilledIsRestartedWithItsKeys) {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  kv::router r(rt, 2, std::make_shared<kv::server_info>(), kv::limits{});
  auto run = [&](std::vector<std::string> args) {
    auto* entry = kv::router::find_command(args[0]);
    auto answer = r.run(std::move(args), entry);
    if (!answer.wait_for(std::chrono::seconds(10))) return resp::value::error("no answer");
    return answer.get().data;
  };
  for (int i = 0; i < 50; ++i) EXPECT_EQ(run({"SET", "k" + std::to_string(i), std::to_string(i)}).str, "OK");
  const troupe::pid before = r.shard(0);
  rt.send_exit(before, troupe::exit_reason::kill());
  ASSERT_TRUE(troupe::test_support::eventually([&] { return r.shard(0) && r.shard(0) != before; }));
  for (int i = 0; i < 50; ++i) EXPECT_EQ(run({"GET", "k" + std::to_string(i)}).str, std::to_string(i)) << i;
  EXPECT_EQ(run({"DBSIZE"}).integer, 50);
}

// Each shard keeps its part of an MGET or KEYS reply under the limit; the
// whole reply must be under it too, not shards x limit.
TEST(KvLimits, AnMgetOverTheLimitOnlyAcrossShardsIsRefused) {
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  kv::router r(rt, 2, std::make_shared<kv::server_info>(), kv::limits{.output_hard = 1u << 20});
  auto run = [&](std::vector<std::string> args) {
    auto* entry = kv::router::find_command(args[0]);
    auto answer = r.run(std::move(args), entry);
    if (!answer.wait_for(std::chrono::seconds(10))) return resp::value::error("no answer");
    return answer.get().data;
  };
  // Two keys on each shard, 400 KB each: 800 KB per shard, 1.6 MB in all.
  std::vector<std::string> keys[2];
  for (int i = 0; keys[0].size() < 2 || keys[1].size() < 2; ++i) {
    std::string key = "key" + std::to_string(i);
    auto& on = keys[r.shard_of(key)];
    if (on.size() < 2) on.push_back(key);
  }
  const std::string value(400u << 10, 'v');
  std::vector<std::string> mget{"MGET"};
  for (auto& shard : keys)
    for (auto& key : shard) {
      EXPECT_EQ(run({"SET", key, value}).str, "OK");
      mget.push_back(key);
    }
  const auto whole = run(mget);
  EXPECT_EQ(whole.type, resp::kind::error);
  EXPECT_NE(whole.str.find("reply limit"), std::string::npos) << whole.str;
  const auto half = run({"MGET", keys[0][0], keys[1][0]});  // 800 KB: answered
  ASSERT_EQ(half.type, resp::kind::array);
  EXPECT_EQ(half.elements.size(), 2u);
  const auto all_keys = run({"KEYS", "*"});
  EXPECT_EQ(all_keys.type, resp::kind::array);  // key names are small
}

// Pipelined MGETs of big values from a client that never reads: their
// replies count in the bytes due as GETs' do, so reading pauses and the
// client is closed past output_hard (they used to go uncounted, up to
// 1,024 replies held).
TEST(KvLimits, PipelinedMgetsCountInTheBytesDue) {
  kv_with_a_big_value kv;
  std::string request;
  for (int i = 0; i < 200; ++i) request += command({"MGET", "big", "big"});  // 400 MB of replies
  EXPECT_LT(kv.served_to_a_client_that_reads_late(request).size(), std::size_t{100} << 20)
      << "it was served far past the output limit";
}

// A router with one shard, its commands run from this thread.
struct one_shard {
  resp::value run(std::vector<std::string> args) { return ask(std::move(args)).get().data; }
  troupe::future<kv::reply> ask(std::vector<std::string> args) {
    auto* entry = kv::router::find_command(args[0]);
    return r.run(std::move(args), entry);
  }
  // keys "<prefix>0" ... "<prefix><n - 1>", by MSETs of a thousand.
  void fill(const std::string& prefix, int n) {
    for (int i = 0; i < n;) {
      std::vector<std::string> mset{"MSET"};
      for (int end = std::min(n, i + 1000); i < end; ++i) {
        mset.push_back(prefix + std::to_string(i));
        mset.push_back("v");
      }
      ASSERT_EQ(run(std::move(mset)).str, "OK");
    }
  }
  troupe::runtime rt{troupe::config{.workers = 2, .warn_unhandled = false}};
  kv::router r{rt, 1, std::make_shared<kv::server_info>(), kv::limits{}};
};

// A KEYS over many keys runs in slices, each behind the messages that came
// meanwhile: the shard's other clients are answered while it runs (it used
// to hold the shard for the whole scan: 11.7 s for a long pattern).
TEST(KvKeys, AScanOverManyKeysLetsTheShardsOtherCommandsThrough) {
  one_shard kv;
  kv.fill("key:", 100000);
  // Matches nothing, and each key byte costs 16 words of the automaton.
  auto keys = kv.ask({"KEYS", "*" + std::string(1000, 'z')});
  int answered_meanwhile = 0;
  while (!keys.is_ready()) {
    ASSERT_EQ(kv.run({"GET", "key:7"}).str, "v");
    ++answered_meanwhile;
  }
  ASSERT_TRUE(keys.wait_for(std::chrono::seconds(60)));
  EXPECT_EQ(keys.get().data.type, resp::kind::array);
  EXPECT_TRUE(keys.get().data.elements.empty());
  EXPECT_GE(answered_meanwhile, 10) << "the scan held the shard";
}

// Keys added and removed while a KEYS runs (enough additions to rehash the
// table many times over) do not make it skip or repeat a key that was there
// throughout.
TEST(KvKeys, AKeyPresentThroughoutAScanIsReturnedExactlyOnce) {
  one_shard kv;
  kv.fill("stays:", 30000);
  kv.fill("goes:", 30000);
  // Matches every key, slowly (each key byte costs 11 words), so the scan
  // takes many slices.
  auto keys = kv.ask({"KEYS", std::string(640, '*')});
  int added = 0, removed = 0;
  while (!keys.is_ready() && removed < 30000) {
    std::vector<std::string> mset{"MSET"}, del{"DEL"};
    for (int i = 0; i < 200; ++i, ++added) {
      mset.push_back("new:" + std::to_string(added));
      mset.push_back("v");
    }
    for (int i = 0; i < 100 && removed < 30000; ++i, ++removed) del.push_back("goes:" + std::to_string(removed));
    (void)kv.ask(std::move(mset));
    (void)kv.ask(std::move(del));
  }
  ASSERT_TRUE(keys.wait_for(std::chrono::seconds(60)));
  const auto& found = keys.get().data;
  ASSERT_EQ(found.type, resp::kind::array);
  std::map<std::string, int> seen;
  for (auto& k : found.elements) ++seen[k.str];
  for (auto& [key, times] : seen) ASSERT_EQ(times, 1) << key << " came " << times << " times";
  for (int i = 0; i < 30000; ++i) ASSERT_EQ(seen.count("stays:" + std::to_string(i)), 1u) << i;
  EXPECT_GT(added, 0) << "the scan ended before anything changed: nothing was tested";
}

}  // namespace
