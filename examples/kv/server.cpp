#include "server.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <unordered_map>

#include "store.hpp"
#include "troupe/async/combinators.hpp"

namespace kv {

namespace {

using troupe::future;
using troupe::io::resp::kind;
using troupe::io::resp::value;

struct shard_op {
  std::vector<std::string> args;
  troupe::promise<reply> done;
};
struct expiry_tick {};

enum class route { local, one_key, many_keys, every_shard };

struct command_spec {
  int arity;  // Redis's convention: n exactly, -n at least n
  route how;
};

const std::unordered_map<std::string, command_spec>& commands() {
  static const std::unordered_map<std::string, command_spec> table = {
      {"PING", {-1, route::local}},       {"ECHO", {2, route::local}},
      {"QUIT", {-1, route::local}},       {"COMMAND", {-1, route::local}},
      {"CONFIG", {-2, route::local}},     {"SELECT", {2, route::local}},
      {"INFO", {-1, route::every_shard}}, {"GET", {2, route::one_key}},
      {"SET", {-3, route::one_key}},      {"INCR", {2, route::one_key}},
      {"DECR", {2, route::one_key}},      {"INCRBY", {3, route::one_key}},
      {"DECRBY", {3, route::one_key}},    {"EXPIRE", {-3, route::one_key}},
      {"PEXPIRE", {-3, route::one_key}},  {"TTL", {2, route::one_key}},
      {"PTTL", {2, route::one_key}},      {"DEL", {-2, route::many_keys}},
      {"EXISTS", {-2, route::many_keys}}, {"MGET", {-2, route::many_keys}},
      {"MSET", {-3, route::many_keys}},   {"DBSIZE", {1, route::every_shard}},
      {"FLUSHALL", {-1, route::every_shard}}, {"KEYS", {2, route::every_shard}},
  };
  return table;
}

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

future<reply> now(value v, bool close = false) { return troupe::make_value<reply>(reply{std::move(v), close}); }

class router {
 public:
  router(troupe::runtime& rt, unsigned shards, std::shared_ptr<server_info> info)
      : rt_(rt), info_(std::move(info)), started_(std::chrono::steady_clock::now()) {
    for (unsigned i = 0; i < shards; ++i) {
      shards_.push_back(rt.spawn([](troupe::actor& self) -> troupe::behavior {
        auto data = std::make_shared<store>();
        self.send_interval(std::chrono::milliseconds(100), self.pid(), expiry_tick{});
        return {
            [data](shard_op& op) { op.done.try_set_value(reply{data->execute(op.args, clock::now())}); },
            [data](expiry_tick) { data->drop_expired(clock::now()); },
        };
      }));
    }
  }
  ~router() {
    for (auto& s : shards_) rt_.send_exit(s, troupe::exit_reason::kill());
  }

  future<reply> operator()(value cmd) {
    if (cmd.type != kind::array || cmd.elements.empty())
      return now(value::error("ERR Protocol error: expected a command array"));
    std::vector<std::string> args;
    args.reserve(cmd.elements.size());
    for (auto& e : cmd.elements) {
      if (!e.is_string()) return now(value::error("ERR Protocol error: expected bulk strings"));
      args.push_back(std::move(e.str));
    }
    std::string name = args[0];
    for (char& c : args[0])
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    auto found = commands().find(args[0]);
    if (found == commands().end()) {
      std::string msg = "ERR unknown command '" + name + "', with args beginning with: ";
      for (std::size_t i = 1; i < args.size() && i < 4; ++i) msg += "'" + args[i] + "' ";
      return now(value::error(msg));
    }
    int arity = found->second.arity, n = static_cast<int>(args.size());
    if ((arity > 0 && n != arity) || (arity < 0 && n < -arity) ||
        (args[0] == "MSET" && n % 2 == 0))
      return now(value::error("ERR wrong number of arguments for '" + lower(args[0]) + "' command"));
    switch (found->second.how) {
      case route::local: return local(args);
      case route::one_key: {
        std::size_t shard = shard_of(args[1]);  // before args is moved
        return to_shard(shard, std::move(args));
      }
      case route::many_keys: return many_keys(std::move(args));
      case route::every_shard: return every_shard(std::move(args));
    }
    return now(value::error("ERR internal"));
  }

 private:
  std::size_t shard_of(const std::string& key) const { return std::hash<std::string>{}(key) % shards_.size(); }

  future<reply> to_shard(std::size_t shard, std::vector<std::string> args) {
    troupe::promise<reply> done;
    auto answer = done.get_future();
    rt_.send(shards_[shard], shard_op{std::move(args), done});
    return answer;
  }

  future<reply> local(const std::vector<std::string>& args) {
    const std::string& cmd = args[0];
    if (cmd == "PING") {
      if (args.size() > 2) return now(value::error("ERR wrong number of arguments for 'ping' command"));
      return now(args.size() == 2 ? value::bulk(args[1]) : value::simple("PONG"));
    }
    if (cmd == "ECHO") return now(value::bulk(args[1]));
    if (cmd == "QUIT") return now(value::simple("OK"), true);
    if (cmd == "SELECT") return now(args[1] == "0" ? value::simple("OK") : value::error("ERR DB index is out of range"));
    if (cmd == "CONFIG") {
      if (lower(args[1]) != "get") return now(value::simple("OK"));  // CONFIG SET/RESETSTAT: accepted, ignored
      std::vector<value> out;
      for (std::size_t i = 2; i < args.size(); ++i) {
        std::string p = lower(args[i]);
        if (p == "save" || p == "appendonly") {
          out.push_back(value::bulk(p));
          out.push_back(value::bulk(p == "save" ? "" : "no"));
        }
      }
      return now(value::array(std::move(out)));
    }
    // COMMAND: enough for redis-cli (COMMAND DOCS gives no docs, COUNT and
    // the plain listing are real).
    std::string sub = args.size() > 1 ? lower(args[1]) : "";
    if (sub == "count") return now(value::number(static_cast<std::int64_t>(commands().size())));
    if (!sub.empty()) return now(value::array({}));
    std::vector<value> list;
    for (auto& [name, spec] : commands()) {
      bool write = name == "SET" || name == "DEL" || name.starts_with("INCR") || name.starts_with("DECR") ||
                   name == "MSET" || name.ends_with("EXPIRE") || name == "FLUSHALL";
      int first = spec.how == route::one_key || spec.how == route::many_keys ? 1 : 0;
      list.push_back(value::array({value::bulk(lower(name)), value::number(spec.arity),
                                   value::array({value::simple(write ? "write" : "readonly")}),
                                   value::number(first), value::number(name == "MSET" ? -1 : first ? -1 : 0),
                                   value::number(name == "MSET" ? 2 : first)}));
    }
    return now(value::array(std::move(list)));
  }

  future<reply> many_keys(std::vector<std::string> args) {
    const std::string cmd = args[0];
    std::size_t step = cmd == "MSET" ? 2 : 1;
    // Which shard each key goes to, and its position in the request.
    std::vector<std::vector<std::string>> per_shard(shards_.size());
    std::vector<std::vector<std::size_t>> positions(shards_.size());
    for (std::size_t i = 1, k = 0; i < args.size(); i += step, ++k) {
      std::size_t s = shard_of(args[i]);
      if (per_shard[s].empty()) per_shard[s].push_back(cmd);
      for (std::size_t j = 0; j < step; ++j) per_shard[s].push_back(std::move(args[i + j]));
      positions[s].push_back(k);
    }
    std::vector<future<reply>> parts;
    std::vector<std::size_t> used;
    for (std::size_t s = 0; s < shards_.size(); ++s) {
      if (per_shard[s].empty()) continue;
      used.push_back(s);
      parts.push_back(to_shard(s, std::move(per_shard[s])));
    }
    if (parts.size() == 1 && cmd != "MGET") return std::move(parts[0]);
    std::size_t keys = (args.size() - 1) / step;
    return troupe::collect(std::move(parts)).map([cmd, used, positions, keys](const std::vector<reply>& got_in) {
      const auto& got = got_in;  // a shared future: copied out, not moved
      if (cmd == "MSET") return reply{value::simple("OK")};
      if (cmd == "MGET") {
        std::vector<value> out(keys);
        for (std::size_t p = 0; p < got.size(); ++p)
          for (std::size_t j = 0; j < positions[used[p]].size(); ++j)
            out[positions[used[p]][j]] = std::move(got[p].data.elements[j]);
        return reply{value::array(std::move(out))};
      }
      std::int64_t total = 0;
      for (auto& r : got) total += r.data.integer;
      return reply{value::number(total)};
    });
  }

  future<reply> every_shard(std::vector<std::string> args) {
    std::string cmd = args[0];
    if (cmd == "INFO") args = {"DBSIZE"};
    std::vector<future<reply>> parts;
    for (std::size_t s = 0; s < shards_.size(); ++s) parts.push_back(to_shard(s, args));
    auto info = info_;
    auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
    std::size_t shard_count = shards_.size();
    return troupe::collect(std::move(parts)).map([cmd, info, up, shard_count](const std::vector<reply>& got_in) {
      const auto& got = got_in;
      if (cmd == "FLUSHALL") return reply{value::simple("OK")};
      if (cmd == "KEYS") {
        std::vector<value> all;
        for (auto& r : got)
          for (auto& k : r.data.elements) all.push_back(std::move(k));
        return reply{value::array(std::move(all))};
      }
      std::int64_t total = 0;
      for (auto& r : got) total += r.data.integer;
      if (cmd == "DBSIZE") return reply{value::number(total)};
      std::string text = "# Server\r\nredis_version:7.0.0\r\nserver_name:troupe-kv\r\nprocess_id:" +
                         std::to_string(::getpid()) + "\r\ntcp_port:" +
                         std::to_string(info ? info->port : 0) + "\r\nuptime_in_seconds:" +
                         std::to_string(up) + "\r\nshards:" + std::to_string(shard_count) +
                         "\r\n\r\n# Keyspace\r\n";
      if (total > 0) text += "db0:keys=" + std::to_string(total) + ",expires=0,avg_ttl=0\r\n";
      return reply{value::bulk(std::move(text))};
    });
  }

  troupe::runtime& rt_;
  std::shared_ptr<server_info> info_;
  std::chrono::steady_clock::time_point started_;
  std::vector<troupe::pid> shards_;
};

}  // namespace

troupe::service<value, reply> make_service(troupe::runtime& rt, unsigned shards,
                                           std::shared_ptr<server_info> info) {
  auto r = std::make_shared<router>(rt, std::max(1u, shards), std::move(info));
  return [r](value cmd) { return (*r)(std::move(cmd)); };
}

}  // namespace kv
