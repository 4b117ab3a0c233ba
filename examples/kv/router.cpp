#include "router.hpp"

#include <unistd.h>

#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "server.hpp"
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

// A KEYS in progress in one shard: each turn of the shard runs one slice,
// and the next slice waits behind the messages that came meanwhile (a
// message to itself), so a scan over millions of keys holds no client for
// longer than a slice.
struct keys_job {
  keys_job(std::string_view pattern, troupe::promise<reply> done) : scan(pattern), done(std::move(done)) {}
  key_scan scan;
  troupe::promise<reply> done;
};
struct keys_slice {
  std::shared_ptr<keys_job> job;
};
// A slice's work in store::scan_keys' units (a bucket, a key byte): well
// under a millisecond.
constexpr std::size_t keys_slice_budget = 64 * 1024;

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

future<reply> now(value v, bool close = false) { return troupe::make_value<reply>(reply{std::move(v), close, {}}); }

// A shard's answers to a batch: each command runs against the store and
// its reply is encoded at once, so nothing but bytes goes back.
// A command that runs out of memory is answered -OOM, and the store stays
// consistent (a one-key update is all-or-nothing); the batch stops early
// when its bytes would take the connection past its output limit.
batch_reply run_batch(store& data, const shard_batch& b) {
  const auto now = clock::now();
  batch_reply out{b.run, b.shard, {}, {}};
  const std::size_t due_before = b.due ? b.due->load(std::memory_order_relaxed) : 0;
  try {
    out.ends.reserve(b.counts.size());
    std::span<const std::string_view> args(b.args);
    for (std::uint32_t n : b.counts) {
      if (b.due_limit != 0 && due_before + out.wire.size() > b.due_limit) {
        out.overflow = true;
        break;
      }
      const std::size_t begin = out.wire.size();
      try {
        data.execute(command_args(args.first(n)), now, out.wire);
      } catch (const std::bad_alloc&) {
        out.wire.resize(begin);
        out.wire += "-";
        out.wire += store::out_of_memory;
        out.wire += "\r\n";
      }
      args = args.subspan(n);
      out.ends.push_back(out.wire.size());
    }
  } catch (const std::bad_alloc&) {
    out.overflow = true;  // not even the error reply fits
  }
  if (b.due) b.due->fetch_add(out.wire.size(), std::memory_order_relaxed);
  return out;
}

// True when the shards' parts of one MGET or KEYS reply hold more than
// `limit` bytes of strings together (0: no limit).
bool over_reply_limit(const std::vector<reply>& parts, std::size_t limit) {
  if (limit == 0) return false;
  std::size_t bytes = 0;
  for (auto& part : parts)
    for (auto& element : part.data.elements) bytes += element.str.size();
  return bytes > limit;
}

// One command through the store: -OOM when memory runs out, an error
// reply for anything else thrown, so that a shard never dies of a command
// and never loses its keys.
value guarded_execute(store& data, const std::vector<std::string>& args) {
  try {
    return data.execute(command_args(args), clock::now());
  } catch (const std::bad_alloc&) {
    return value::error(std::string(store::out_of_memory));
  } catch (const std::exception& e) {
    return value::error(std::string("ERR ") + e.what());
  }
}

// Runs one slice of a KEYS; true when the job is over (answered).
bool keys_step(store& data, keys_job& job) {
  std::optional<value> refusal;
  bool done;
  try {
    done = data.scan_keys(job.scan, clock::now(), keys_slice_budget, refusal);
  } catch (const std::bad_alloc&) {
    done = true;
    refusal = value::error(std::string(store::out_of_memory));
  }
  if (!done) return false;
  data.end_scan(job.scan);
  try {
    job.done.try_set_value(reply{refusal ? std::move(*refusal) : value::array(std::move(job.scan.found)), false, {}});
  } catch (const std::bad_alloc&) {
    job.done.try_set_value(reply{value::error(std::string(store::out_of_memory)), false, {}});
  }
  return true;
}

// Runs a KEYS's next slice, and asks for the one after if it is not done.
void next_keys_slice(troupe::actor& self, store& data, const std::shared_ptr<keys_job>& job) {
  try {
    if (!keys_step(data, *job)) self.send(self.pid(), keys_slice{job});
  } catch (const std::bad_alloc&) {  // the message to itself: the scan ends here
    data.end_scan(job->scan);
    job->done.try_set_value(reply{value::error(std::string(store::out_of_memory)), false, {}});
  }
}

void start_keys(troupe::actor& self, store& data, shard_op& op) {
  if (auto refused = store::refuse_pattern(op.args[1])) {
    op.done.try_set_value(reply{std::move(*refused), false, {}});
    return;
  }
  std::shared_ptr<keys_job> job;
  try {
    job = std::make_shared<keys_job>(op.args[1], op.done);
  } catch (const std::bad_alloc&) {
    op.done.try_set_value(reply{value::error(std::string(store::out_of_memory)), false, {}});
    return;
  }
  data.begin_scan(job->scan);
  next_keys_slice(self, data, job);
}

}  // namespace

// A shard: the actor in front of one store. Memory running out in a
// command is answered -OOM (guarded_execute, run_batch); where even the
// answer cannot be sent the shard crashes, and its supervisor restarts it
// on the same store.
troupe::behavior shard_actor(troupe::actor& self, std::shared_ptr<store> data, std::shared_ptr<shard_slot> slot) {
  data->abandon_scans();  // a crashed start's scans died with its mailbox
  slot->publish(self.pid());
  self.send_interval(std::chrono::milliseconds(100), self.pid(), expiry_tick{});
  return {
      [data, &self](shard_op& op) {
        if (op.args[0] == "KEYS") {
          start_keys(self, *data, op);
          return;
        }
        reply answer{guarded_execute(*data, op.args), false, {}};
        try {
          op.done.try_set_value(std::move(answer));
        } catch (const std::bad_alloc&) {
          op.done.try_set_value(reply{value::error(std::string(store::out_of_memory)), false, {}});
        }
      },
      [data, &self](const shard_batch& b) {
        batch_reply answer = run_batch(*data, b);
        try {
          self.send(b.reply_to, std::move(answer));
        } catch (const std::bad_alloc&) {
          // Give the bytes back and tell the connection to close: a small
          // message may still fit where the whole answer did not.
          if (b.due) b.due->fetch_sub(answer.wire.size(), std::memory_order_relaxed);
          answer.wire = std::string();
          answer.ends = {};
          answer.overflow = true;
          self.send(b.reply_to, std::move(answer));
        }
      },
      [data, &self](keys_slice& next) { next_keys_slice(self, *data, next.job); },
      [data](expiry_tick) { data->drop_expired(clock::now()); },
  };
}

router::router(troupe::runtime& rt, unsigned shards, std::shared_ptr<server_info> info, const limits& bounds)
    : rt_(rt), info_(std::move(info)), started_(std::chrono::steady_clock::now()), max_reply_bytes_(bounds.output_hard) {
  // Each shard holds an equal share of maxmemory (keys spread evenly).
  const store_limits each{bounds.maxmemory / shards + (bounds.maxmemory % shards != 0), bounds.output_hard};
  std::vector<troupe::child_spec> children;
  for (unsigned i = 0; i < shards; ++i) {
    shards_.push_back(std::make_shared<shard_slot>());
    children.push_back(troupe::child_spec::of("shard-" + std::to_string(i), shard_actor,
                                              std::make_shared<store>(each), shards_.back()));
  }
  // A shard that keeps crashing (10 times in a second) takes the
  // supervisor down, and with it the server's shards: it is logged.
  supervisor_ = troupe::spawn_supervisor(
      rt, troupe::supervisor_flags{.strategy = troupe::strategy::one_for_one, .intensity = 10,
                                   .period = std::chrono::seconds(1)},
      std::move(children));
  // Connections route by shard() from the first request: wait for every
  // shard's first start.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (auto& slot : shards_)
    while (!slot->current()) {
      if (std::chrono::steady_clock::now() > until) throw std::runtime_error("kv: the shards did not start");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
}

router::~router() {
  rt_.send_exit(supervisor_, troupe::exit_reason::shutdown());  // stops the shards; not a crash
}

const command_entry* router::find_command(std::string_view name) {
  char upper[16];  // no allocation: names are short
  if (name.size() > sizeof upper) return nullptr;
  for (std::size_t i = 0; i < name.size(); ++i)
    upper[i] = (name[i] >= 'a' && name[i] <= 'z') ? static_cast<char>(name[i] - 'a' + 'A') : name[i];
  auto found = commands().find(std::string_view(upper, name.size()));
  return found == commands().end() ? nullptr : &*found;
}

const command_entry* router::find_command(const value& cmd) {
  if (cmd.type != kind::array || cmd.elements.empty() || !cmd.elements[0].is_string()) return nullptr;
  return find_command(cmd.elements[0].str);
}

future<reply> router::operator()(value cmd) {
  if (cmd.type != kind::array || cmd.elements.empty())
    return now(value::error("ERR Protocol error: expected a command array"));
  const command_entry* found = find_command(cmd);
  std::vector<std::string> args;
  args.reserve(cmd.elements.size());
  for (auto& e : cmd.elements) {
    if (!e.is_string()) return now(value::error("ERR Protocol error: expected bulk strings"));
    args.push_back(std::move(e.str));
  }
  return run(std::move(args), found);
}

future<reply> router::run(std::vector<std::string> args, const command_entry* found) {
  if (!found) {
    std::string msg = "ERR unknown command '" + args[0] + "', with args beginning with: ";
    for (std::size_t i = 1; i < args.size() && i < 4; ++i) msg += "'" + args[i] + "' ";
    return now(value::error(msg));
  }
  args[0] = found->first;  // the upper-case name
  if (!found->second.takes(args.size()) || (args[0] == "MSET" && args.size() % 2 == 0))
    return now(value::error("ERR wrong number of arguments for '" + lower(std::string(args[0])) + "' command"));
  switch (found->second.how) {
    case route_kind::local: return local(args);
    case route_kind::one_key: {
      const std::size_t s = shard_of(args[1]);
      return to_shard(s, std::move(args));
    }
    case route_kind::many_keys: return many_keys(std::move(args));
    case route_kind::every_shard: return every_shard(std::move(args));
  }
  return now(value::error("ERR internal"));
}

future<reply> router::to_shard(std::size_t shard, std::vector<std::string> args) {
  troupe::promise<reply> done;
  auto answer = done.get_future();
  if (troupe::actor* self = troupe::current_actor())
    self->send(this->shard(shard), shard_op{std::move(args), done});
  else
    rt_.send(this->shard(shard), shard_op{std::move(args), done});
  return answer;
}

future<reply> router::local(const std::vector<std::string>& args) {
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

future<reply> router::many_keys(std::vector<std::string> args) {
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
  return troupe::collect(std::move(parts)).map([cmd, used, positions, keys, limit = max_reply_bytes_](
                                                   const std::vector<reply>& got_in) {
    const auto& got = got_in;  // a shared future: copied out, not moved
    for (auto& r : got)
      if (r.data.type == kind::error) return reply{r.data};  // -OOM, a reply over the limit
    if (cmd == "MSET") return reply{value::simple("OK")};
    // Each shard kept its part under the limit; the whole must be too.
    if (cmd == "MGET" && over_reply_limit(got, limit)) return reply{reply_too_large(limit)};
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

future<reply> router::every_shard(std::vector<std::string> args) {
  std::string cmd = args[0];
  if (cmd == "INFO") args = {"DBSIZE"};
  std::vector<future<reply>> parts;
  for (std::size_t s = 0; s < shards_.size(); ++s) parts.push_back(to_shard(s, args));
  auto info = info_;
  auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  std::size_t shard_count = shards_.size();
  return troupe::collect(std::move(parts)).map([cmd, info, up, shard_count, limit = max_reply_bytes_](
                                                   const std::vector<reply>& got_in) {
    const auto& got = got_in;
    for (auto& r : got)
      if (r.data.type == kind::error) return reply{r.data};  // a shard's KEYS over the reply limit
    if (cmd == "FLUSHALL") return reply{value::simple("OK")};
    if (cmd == "KEYS" && over_reply_limit(got, limit)) return reply{reply_too_large(limit)};
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

}  // namespace kv
