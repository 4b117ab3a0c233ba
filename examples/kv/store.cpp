#include "store.hpp"

#include <charconv>
#include <limits>

namespace kv {

namespace {

value syntax_error() { return value::error("ERR syntax error"); }
value not_an_integer() { return value::error("ERR value is not an integer or out of range"); }

// As Redis's string2ll: no sign but '-', no leading zeros, no "-0".
bool parse_int(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::size_t digits = s[0] == '-' ? 1 : 0;
  if (digits == s.size()) return false;
  if (s[digits] == '0' && (s.size() > digits + 1 || digits == 1)) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace

value reply_too_large(std::size_t limit) {
  return value::error("ERR the reply would be over the server's reply limit of " + std::to_string(limit) +
                      " bytes: ask for fewer keys");
}

void store::erase(std::string_view key) {
  auto it = data_.find(key);
  if (it != data_.end()) remove(it);
}

void store::insert(std::string_view key, std::string data, clock::time_point expires) {
  const std::size_t cost = key.size() + data.size() + entry_overhead;
  data_.emplace(std::string(key), entry{std::move(data), expires});  // unchanged if it throws
  used_ += cost;
}

void store::assign(entry& e, std::string data) {
  used_ = used_ - e.data.size() + data.size();
  e.data = std::move(data);
}

void store::remove(std::unordered_map<std::string, entry, key_hash, std::equal_to<>>::iterator it) {
  used_ -= it->first.size() + it->second.data.size() + entry_overhead;
  data_.erase(it);
}

store::entry* store::find(std::string_view key, clock::time_point now) {
  auto it = data_.find(key);
  if (it == data_.end()) return nullptr;
  if (it->second.expires != clock::time_point{} && it->second.expires <= now) {
    remove(it);
    return nullptr;
  }
  return &it->second;
}

value store::execute(command_args args, clock::time_point now) {
  const std::string_view cmd = args[0];
  if (cmd == "GET") {
    entry* e = find(args[1], now);
    return e ? value::bulk(e->data) : value::null();
  }
  if (cmd == "SET") return set(args, now);
  if (cmd == "DEL" || cmd == "EXISTS") {
    std::int64_t n = 0;
    for (std::size_t i = 1; i < args.size(); ++i) {
      if (!find(args[i], now)) continue;
      ++n;
      if (cmd == "DEL") erase(args[i]);
    }
    return value::number(n);
  }
  if (cmd == "INCR") return incr_by(args[1], 1, now);
  if (cmd == "DECR") return incr_by(args[1], -1, now);
  if (cmd == "INCRBY" || cmd == "DECRBY") {
    std::int64_t by;
    if (!parse_int(args[2], by)) return not_an_integer();
    if (cmd == "DECRBY") {
      if (by == std::numeric_limits<std::int64_t>::min())
        return value::error("ERR decrement would overflow");
      by = -by;
    }
    return incr_by(args[1], by, now);
  }
  if (cmd == "MGET") {
    // Refused, not built, when the values alone pass the reply limit: one
    // small request must not make the server copy gigabytes.
    if (limits_.max_reply_bytes != 0) {
      std::size_t bytes = 0;
      for (std::size_t i = 1; i < args.size(); ++i)
        if (entry* e = find(args[i], now)) bytes += e->data.size();
      if (bytes > limits_.max_reply_bytes) return reply_too_large(limits_.max_reply_bytes);
    }
    std::vector<value> out;
    out.reserve(args.size() - 1);
    for (std::size_t i = 1; i < args.size(); ++i) {
      entry* e = find(args[i], now);
      out.push_back(e ? value::bulk(e->data) : value::null());
    }
    return value::array(std::move(out));
  }
  if (cmd == "MSET") return mset(args);
  if (cmd == "EXPIRE" || cmd == "PEXPIRE") {
    std::int64_t amount;
    if (!parse_int(args[2], amount)) return not_an_integer();
    if (args.size() > 3) return value::error("ERR Unsupported option " + std::string(args[3]));
    entry* e = find(args[1], now);
    if (!e) return value::number(0);
    // Past about 292 years from now the clock overflows: Redis refuses too.
    constexpr std::int64_t max_ms = std::int64_t{9'000'000'000'000'000} / 1'000'000;
    if (amount > (cmd == "EXPIRE" ? max_ms / 1000 : max_ms))
      return value::error("ERR invalid expire time in '" + std::string(cmd == "EXPIRE" ? "expire" : "pexpire") + "' command");
    auto delta = cmd == "EXPIRE" ? std::chrono::milliseconds(amount) * 1000 : std::chrono::milliseconds(amount);
    if (amount <= 0) {
      erase(args[1]);
    } else {
      e->expires = now + delta;
    }
    return value::number(1);
  }
  if (cmd == "TTL" || cmd == "PTTL") {
    entry* e = find(args[1], now);
    if (!e) return value::number(-2);
    if (e->expires == clock::time_point{}) return value::number(-1);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(e->expires - now).count();
    return value::number(cmd == "TTL" ? (ms + 500) / 1000 : ms);
  }
  if (cmd == "DBSIZE") return value::number(static_cast<std::int64_t>(data_.size()));
  if (cmd == "FLUSHALL") {
    data_.clear();
    used_ = 0;
    return value::simple("OK");
  }
  if (cmd == "KEYS") {  // in one go: the shard actor runs it in slices instead
    if (auto refused = refuse_pattern(args[1])) return *refused;
    key_scan scan(args[1]);
    begin_scan(scan);
    struct ender {
      store& s;
      key_scan& scan;
      ~ender() { s.end_scan(scan); }
    } end_anyway{*this, scan};
    std::optional<value> refusal;
    scan_keys(scan, now, std::numeric_limits<std::size_t>::max(), refusal);
    return refusal ? std::move(*refusal) : value::array(std::move(scan.found));
  }
  return value::error("ERR unknown command '" + std::string(cmd) + "'");
}

void store::execute(command_args args, clock::time_point now, std::string& out) {
  const std::string_view cmd = args[0];
  if (cmd == "GET") {
    const entry* e = find(args[1], now);
    if (!e) {
      out += "$-1\r\n";
      return;
    }
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, e->data.size());
    out += '$';
    out.append(digits, end);
    out += "\r\n";
    out += e->data;
    out += "\r\n";
    return;
  }
  if (cmd == "SET" && args.size() == 3 && !over_memory()) {
    if (entry* e = find(args[1], now)) {
      assign(*e, std::string(args[2]));
      e->expires = {};
    } else {
      insert(args[1], std::string(args[2]), {});
    }
    out += "+OK\r\n";
    return;
  }
  troupe::io::resp::codec{}.encode(execute(args, now), out);
}

value store::set(command_args args, clock::time_point now) {
  bool nx = false, xx = false, keep_ttl = false, get = false;
  clock::time_point expires{};
  for (std::size_t i = 3; i < args.size(); ++i) {
    std::string opt = upper(args[i]);
    if (opt == "NX" && !xx) {
      nx = true;
    } else if (opt == "XX" && !nx) {
      xx = true;
    } else if (opt == "KEEPTTL" && expires == clock::time_point{}) {
      keep_ttl = true;
    } else if (opt == "GET") {
      get = true;
    } else if ((opt == "EX" || opt == "PX") && !keep_ttl && expires == clock::time_point{} &&
               i + 1 < args.size()) {
      std::int64_t amount;
      if (!parse_int(args[++i], amount)) return not_an_integer();
      constexpr std::int64_t max_ms = std::int64_t{9'000'000'000'000'000} / 1'000'000;  // clock range
      if (amount <= 0 || amount > (opt == "EX" ? max_ms / 1000 : max_ms))
        return value::error("ERR invalid expire time in 'set' command");
      expires = now + (opt == "EX" ? std::chrono::milliseconds(amount) * 1000
                                   : std::chrono::milliseconds(amount));
    } else {
      return syntax_error();
    }
  }
  if (over_memory()) return value::error(std::string(oom_error));
  entry* old = find(args[1], now);
  value previous = get ? (old ? value::bulk(old->data) : value::null()) : value::null();
  if ((nx && old) || (xx && !old)) return get ? previous : value::null();
  if (old) {
    assign(*old, std::string(args[2]));
    if (!keep_ttl) old->expires = expires;
  } else {
    insert(args[1], std::string(args[2]), expires);
  }
  return get ? previous : value::simple("OK");
}

// All or nothing, even when memory runs out: every allocation happens
// before the table changes (the new pairs are built in a table of their
// own, the buckets reserved), and moving the pairs in allocates nothing.
value store::mset(command_args args) {
  if (over_memory()) return value::error(std::string(oom_error));
  decltype(data_) staged;
  for (std::size_t i = 1; i + 1 < args.size(); i += 2)  // a key given twice: the last value wins
    staged.insert_or_assign(std::string(args[i]), entry{std::string(args[i + 1]), {}});
  // While a KEYS scan runs the table must not rehash, and does not grow
  // (begin_scan); reserve could shrink it then.
  if (scans_ == 0) data_.reserve(data_.size() + staged.size());
  while (!staged.empty()) {  // nothing below throws
    auto pair = staged.extract(staged.begin());
    if (auto it = data_.find(pair.key()); it != data_.end()) {
      used_ = used_ - it->second.data.size() + pair.mapped().data.size();
      it->second.data.swap(pair.mapped().data);  // the old value goes with `pair`
      it->second.expires = {};
    } else {
      used_ += pair.key().size() + pair.mapped().data.size() + entry_overhead;
      data_.insert(std::move(pair));
    }
  }
  return value::simple("OK");
}

std::optional<value> store::refuse_pattern(std::string_view pattern) {
  if (pattern.size() <= glob::max_pattern) return std::nullopt;
  return value::error("ERR the pattern is longer than " + std::to_string(glob::max_pattern) + " bytes");
}

// While a scan is registered the maximum load factor is so high that no
// insert rehashes (an insert keeps iterators and buckets when the size
// stays under max_load_factor x bucket_count); the usual factor comes back
// with the last scan's end, and the next insert grows the table as usual
// (libstdc++; a library that clamps the factor to the load it finds keeps
// a higher one, which costs lookups, not correctness: scan_keys also
// starts over if the bucket count ever changes).
namespace {
constexpr float scanning_load_factor = 1e6f;
constexpr float usual_load_factor = 1.0f;
}  // namespace

void store::begin_scan(key_scan& scan) {
  if (scans_++ == 0) data_.max_load_factor(scanning_load_factor);
  scan.registered = true;
  scan.buckets = data_.bucket_count();
}

void store::end_scan(key_scan& scan) noexcept {
  if (!scan.registered) return;
  scan.registered = false;
  if (--scans_ == 0) data_.max_load_factor(usual_load_factor);
}

void store::abandon_scans() noexcept {
  scans_ = 0;
  data_.max_load_factor(usual_load_factor);
}

bool store::scan_keys(key_scan& scan, clock::time_point now, std::size_t budget, std::optional<value>& refusal) {
  if (data_.bucket_count() != scan.buckets) {  // a rehash after all: begin again, never repeat a key
    scan.found.clear();
    scan.bytes = 0;
    scan.next_bucket = 0;
    scan.buckets = data_.bucket_count();
  }
  std::size_t spent = 0;
  while (scan.next_bucket < scan.buckets && spent < budget) {
    const std::size_t bucket = scan.next_bucket++;
    ++spent;
    for (auto it = data_.cbegin(bucket); it != data_.cend(bucket); ++it) {
      const auto& [key, e] = *it;
      spent += 1 + key.size() * scan.cost_per_byte;
      if ((e.expires != clock::time_point{} && e.expires <= now) || !scan.pattern.matches(key)) continue;
      scan.bytes += key.size();
      if (limits_.max_reply_bytes != 0 && scan.bytes > limits_.max_reply_bytes) {
        refusal = reply_too_large(limits_.max_reply_bytes);
        return true;
      }
      scan.found.push_back(value::bulk(key));
    }
  }
  return scan.next_bucket >= scan.buckets;
}

value store::incr_by(std::string_view key, std::int64_t by, clock::time_point now) {
  entry* e = find(key, now);
  std::int64_t current = 0;
  if (e && !parse_int(e->data, current)) return not_an_integer();
  if ((by > 0 && current > std::numeric_limits<std::int64_t>::max() - by) ||
      (by < 0 && current < std::numeric_limits<std::int64_t>::min() - by))
    return value::error("ERR increment or decrement would overflow");
  current += by;
  if (e) {
    assign(*e, std::to_string(current));
  } else {
    if (over_memory()) return value::error(std::string(oom_error));
    insert(key, std::to_string(current), {});
  }
  return value::number(current);
}

void store::drop_expired(clock::time_point now) {
  for (auto it = data_.begin(); it != data_.end();) {
    if (it->second.expires != clock::time_point{} && it->second.expires <= now)
      remove(it++);
    else
      ++it;
  }
}

}  // namespace kv
