#include "server.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "store.hpp"
#include "troupe/async/combinators.hpp"
#include "troupe/io/ordered_replies.hpp"

namespace kv {

troupe::io::parsed<codec::input> codec::parse(std::string_view bytes) const {
  input burst;
  std::size_t used = 0;
  while (used < bytes.size() && burst.size() < max_burst) {
    auto step = troupe::io::resp::codec::parse(bytes.substr(used));
    if (step.needs_more()) break;
    if (step.failed()) {
      if (burst.empty()) return step.error();
      break;  // deliver the good ones first
    }
    used += step.consumed();
    burst.push_back(std::move(step).message());
  }
  if (burst.empty()) return troupe::io::need_more{};
  return {std::move(burst), used};
}

namespace {

using troupe::future;
using troupe::io::resp::kind;
using troupe::io::resp::value;

struct shard_op {
  std::vector<std::string> args;
  troupe::promise<reply> done;
};
struct expiry_tick {};
// One connection's one-key commands for one shard, gathered while its
// requests arrived in a burst, and the answers, in the same order.
struct shard_batch {
  std::vector<std::vector<value>> commands;  // the parsed arrays, name upper-cased
  std::vector<std::uint64_t> seqs;
  troupe::pid reply_to;
};
struct batch_reply {
  std::vector<std::uint64_t> seqs;
  std::vector<value> replies;
};

enum class route_kind { local, one_key, many_keys, every_shard };

struct command_spec {
  int arity;  // Redis's convention: n exactly, -n at least n
  route_kind how;
};

// Keys are the upper-case names (string literals, so views are safe).
const std::unordered_map<std::string_view, command_spec>& commands() {
  static const std::unordered_map<std::string_view, command_spec> table = {
      {"PING", {-1, route_kind::local}},       {"ECHO", {2, route_kind::local}},
      {"QUIT", {-1, route_kind::local}},       {"COMMAND", {-1, route_kind::local}},
      {"CONFIG", {-2, route_kind::local}},     {"SELECT", {2, route_kind::local}},
      {"INFO", {-1, route_kind::every_shard}}, {"GET", {2, route_kind::one_key}},
      {"SET", {-3, route_kind::one_key}},      {"INCR", {2, route_kind::one_key}},
      {"DECR", {2, route_kind::one_key}},      {"INCRBY", {3, route_kind::one_key}},
      {"DECRBY", {3, route_kind::one_key}},    {"EXPIRE", {-3, route_kind::one_key}},
      {"PEXPIRE", {-3, route_kind::one_key}},  {"TTL", {2, route_kind::one_key}},
      {"PTTL", {2, route_kind::one_key}},      {"DEL", {-2, route_kind::many_keys}},
      {"EXISTS", {-2, route_kind::many_keys}}, {"MGET", {-2, route_kind::many_keys}},
      {"MSET", {-3, route_kind::many_keys}},   {"DBSIZE", {1, route_kind::every_shard}},
      {"FLUSHALL", {-1, route_kind::every_shard}}, {"KEYS", {2, route_kind::every_shard}},
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
            [data, &self](shard_batch& b) {
              auto now = clock::now();
              batch_reply out{std::move(b.seqs), {}};
              out.replies.reserve(b.commands.size());
              for (auto& c : b.commands) out.replies.push_back(data->execute(c, now));
              self.send(b.reply_to, std::move(out));
            },
            [data](expiry_tick) { data->drop_expired(clock::now()); },
        };
      }));
    }
  }
  ~router() {
    for (auto& s : shards_) rt_.send_exit(s, troupe::exit_reason::kill());
  }

  // A command is answered now or later (a future), or is a one-key
  // command for one shard, which the caller sends (alone or in a batch).
  struct routed {
    std::optional<future<reply>> answer;
    std::size_t shard = 0;
    std::vector<value> args;  // a one-key command: the parsed array, name upper-cased
  };

  // The command's entry, by its name in any case; null for a malformed or
  // unknown command. No allocation: names are short.
  static const std::pair<const std::string_view, command_spec>* find_command(const value& cmd) {
    if (cmd.type != kind::array || cmd.elements.empty() || !cmd.elements[0].is_string()) return nullptr;
    const std::string& name = cmd.elements[0].str;
    char upper[16];
    if (name.size() > sizeof upper) return nullptr;
    for (std::size_t i = 0; i < name.size(); ++i)
      upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? static_cast<char>(name[i] - 'a' + 'A') : name[i];
    auto found = commands().find(std::string_view(upper, name.size()));
    return found == commands().end() ? nullptr : &*found;
  }
  using command_entry = std::pair<const std::string_view, command_spec>;

  future<reply> operator()(value cmd) {
    routed r = route(std::move(cmd));
    if (r.answer) return std::move(*r.answer);
    std::vector<std::string> args;
    for (auto& v : r.args) args.push_back(std::move(v.str));
    return to_shard(r.shard, std::move(args));
  }

  routed route(value cmd) {
    const command_entry* entry = find_command(cmd);  // before cmd is moved
    return route(std::move(cmd), entry);
  }
  // With the entry find_command gave (the caller looked already).
  routed route(value cmd, const command_entry* entry) {
    routed r;
    r.answer = classify(std::move(cmd), entry, r);
    return r;
  }

  std::size_t shard_count() const noexcept { return shards_.size(); }
  const troupe::pid& shard(std::size_t i) const noexcept { return shards_[i]; }

 private:
  std::optional<future<reply>> classify(value cmd, const command_entry* found, routed& r) {
    if (cmd.type != kind::array || cmd.elements.empty())
      return now(value::error("ERR Protocol error: expected a command array"));
    bool all_strings = true;
    for (auto& e : cmd.elements) all_strings = all_strings && e.is_string();
    if (found && all_strings && found->second.how == route_kind::one_key) {
      int arity = found->second.arity, n = static_cast<int>(cmd.elements.size());
      if ((arity > 0 && n == arity) || (arity < 0 && n >= -arity)) {
        // The hot path: the parsed array goes to its shard as it is.
        cmd.elements[0].str = found->first;
        r.shard = shard_of(cmd.elements[1].str);
        r.args = std::move(cmd.elements);
        return std::nullopt;
      }
    }
    std::vector<std::string> args;
    args.reserve(cmd.elements.size());
    for (auto& e : cmd.elements) {
      if (!e.is_string()) return now(value::error("ERR Protocol error: expected bulk strings"));
      args.push_back(std::move(e.str));
    }
    if (!found) {
      std::string msg = "ERR unknown command '" + args[0] + "', with args beginning with: ";
      for (std::size_t i = 1; i < args.size() && i < 4; ++i) msg += "'" + args[i] + "' ";
      return now(value::error(msg));
    }
    args[0] = found->first;  // the upper-case name
    int arity = found->second.arity, n = static_cast<int>(args.size());
    if ((arity > 0 && n != arity) || (arity < 0 && n < -arity) ||
        (args[0] == "MSET" && n % 2 == 0))
      return now(value::error("ERR wrong number of arguments for '" + lower(std::string(args[0])) + "' command"));
    switch (found->second.how) {
      case route_kind::local: return local(args);
      case route_kind::one_key: break;  // taken above unless its arity was wrong
      case route_kind::many_keys: return many_keys(std::move(args));
      case route_kind::every_shard: return every_shard(std::move(args));
    }
    return now(value::error("ERR internal"));
  }

  std::size_t shard_of(const std::string& key) const { return std::hash<std::string>{}(key) % shards_.size(); }

  future<reply> to_shard(std::size_t shard, std::vector<std::string> args) {
    troupe::promise<reply> done;
    auto answer = done.get_future();
    // From the calling actor when there is one: its batches to the same
    // shard then keep their order with these (FIFO per sender).
    if (troupe::actor* self = troupe::current_actor())
      self->send(shards_[shard], shard_op{std::move(args), done});
    else
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
      int first = spec.how == route_kind::one_key || spec.how == route_kind::many_keys ? 1 : 0;
      list.push_back(value::array({value::bulk(lower(std::string(name))), value::number(spec.arity),
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

// One connection's actor state for kv::serve.
struct connection_state {
  troupe::io::ordered_replies<reply> replies;
  std::vector<shard_batch> batches;  // one per shard, being gathered
  bool send_scheduled = false;       // a send_now message is on its way to us
  bool in_burst = false;             // handling a burst: settle once, at its end
};
struct send_now {};

constexpr std::size_t max_in_flight = 1024;

}  // namespace

troupe::io::listener serve(troupe::io::reactor& io, const troupe::io::endpoint& at, unsigned shards,
                           std::shared_ptr<server_info> info) {
  auto r = std::make_shared<router>(io.system(), std::max(1u, shards), std::move(info));
  auto on_connection = [r](troupe::actor& self, troupe::io::connection<codec> conn) -> troupe::behavior {
    auto st = std::make_shared<connection_state>();
    st->batches.resize(r->shard_count());
    // Writes the replies that are ready, in order, without sending yet.
    auto write_ready = [st, conn, &self]() mutable {
      st->replies.write_ready(conn);
      if (st->replies.done()) self.quit();
    };
    // Sends the gathered batches and the queued replies: at once when no
    // other message waits (a lone request), else after those messages, so a
    // burst of pipelined requests makes one batch per shard and one write.
    auto send_batches = [st, r, &self]() {
      for (std::size_t s = 0; s < st->batches.size(); ++s) {
        auto& b = st->batches[s];
        if (b.commands.empty()) continue;
        b.reply_to = self.pid();
        self.send(r->shard(s), std::move(b));
        b = shard_batch{};
      }
    };
    auto flush = [st, conn, send_batches]() mutable {
      send_batches();
      conn.send_queued();
      st->replies.pause_if_behind(conn, max_in_flight);
    };
    auto settle = [st, flush, &self]() mutable {
      if (self.system().mailbox_size(self.pid()) == 0) {
        flush();
      } else if (!st->send_scheduled) {
        st->send_scheduled = true;
        self.send(self.pid(), send_now{});
      }
    };
    // One command: a slot for its reply, then a shard's batch, or an
    // answer now or later (a future whose continuation runs here).
    auto handle_one = [st, r, write_ready, settle, send_batches](value& cmd) mutable {
      if (!st->replies.accepting()) return;
      // Commands run in the order they came: a command that is not
      // batched goes after the batches gathered before it.
      const auto* entry = router::find_command(cmd);
      if (!entry || entry->second.how != route_kind::one_key) send_batches();
      if (entry && entry->first == "QUIT") st->replies.stop_accepting();
      std::uint64_t seq = st->replies.reserve();
      auto routed = r->route(std::move(cmd), entry);
      if (!routed.answer) {
        auto& b = st->batches[routed.shard];
        b.commands.push_back(std::move(routed.args));
        b.seqs.push_back(seq);
      } else {
        // Answered now (most are) or by several shards later; the
        // continuation runs in this actor.
        routed.answer->respond([st, seq, write_ready, settle](const troupe::result<reply>& got) mutable {
          if (!st->replies.fill(seq, got ? *got : reply{value::error("ERR " + got.error().message())}))
            return;
          if (st->in_burst) return;  // the burst's end writes and sends
          write_ready();
          settle();
        });
      }
    };
    return {
        [st, handle_one, write_ready, settle](codec::input& burst) mutable {
          st->in_burst = true;
          for (value& cmd : burst) handle_one(cmd);
          st->in_burst = false;
          write_ready();
          settle();
        },
        [st, write_ready, settle](batch_reply& got) mutable {
          for (std::size_t i = 0; i < got.seqs.size(); ++i)
            st->replies.fill(got.seqs[i], reply{std::move(got.replies[i])});
          write_ready();
          settle();
        },
        [st, flush](send_now) mutable {
          st->send_scheduled = false;
          flush();
        },
        [st, write_ready, settle](const troupe::io::writable&) mutable {
          st->replies.on_writable();
          write_ready();
          settle();
        },
        [st, write_ready, settle](const troupe::io::malformed& m) mutable {
          st->replies.refuse(m.reply);
          write_ready();
          settle();
        },
        [st, write_ready](const troupe::io::socket_ended&) mutable {
          st->replies.on_socket_ended();  // replies still due are written first
          write_ready();
        },
    };
  };
  return troupe::io::listen<codec>(io, at, std::move(on_connection));
}


troupe::service<value, reply> make_service(troupe::runtime& rt, unsigned shards,
                                           std::shared_ptr<server_info> info) {
  auto r = std::make_shared<router>(rt, std::max(1u, shards), std::move(info));
  return [r](value cmd) { return (*r)(std::move(cmd)); };
}

}  // namespace kv
