#include "server.hpp"

#include <algorithm>
#include <atomic>
#include <optional>
#include <utility>

#include "router.hpp"
#include "troupe/io/ordered_replies.hpp"

namespace kv {
namespace {

using troupe::io::resp::value;

// A run: the one-key commands a connection batched between two sends, as
// one reply slot. Each shard answers its part in order; the run's reply is
// the parts interleaved back into request order.
struct pending_run {
  std::uint64_t seq = 0;                 // the run's reply slot
  std::vector<std::uint32_t> shard_of;   // each command's shard, in request order
  std::vector<batch_reply> got;          // by shard
  std::size_t waiting = 0;               // shards yet to answer

  std::string assemble() {
    std::size_t used = 0, last = 0;
    for (std::size_t s = 0; s < got.size(); ++s)
      if (!got[s].ends.empty()) ++used, last = s;
    if (used == 1) return std::move(got[last].wire);  // already in order
    std::string wire;
    std::size_t total = 0;
    for (auto& g : got) total += g.wire.size();
    wire.reserve(total);
    std::vector<std::uint32_t> next(got.size(), 0);
    for (std::uint32_t s : shard_of) {
      const std::uint32_t i = next[s]++;
      const std::size_t begin = i ? got[s].ends[i - 1] : 0;
      wire.append(got[s].wire, begin, got[s].ends[i] - begin);
    }
    return wire;
  }
};

// One connection's actor state for kv::serve.
struct connection_state {
  troupe::io::ordered_replies<reply> replies;
  std::vector<shard_batch> batches;  // one per shard, for the open run
  std::optional<pending_run> open;   // the run being gathered
  std::vector<pending_run> sent;     // runs sent, waiting for shards (few)
  // Replies answered and waiting to be written behind an earlier slot: runs
  // (their commands) and replies through the router (one command each).
  struct filled_run {
    std::uint64_t seq;
    std::size_t commands;
    std::size_t bytes;
  };
  std::vector<filled_run> filled;
  // Reply bytes the shards encoded for this connection and it has not yet
  // handed to its socket (limits::output_soft and output_hard). Shards add,
  // this actor subtracts as it writes.
  std::shared_ptr<std::atomic<std::size_t>> due = std::make_shared<std::atomic<std::size_t>>(0);
  bool over_limit = false;  // closed for output_hard
  // Commands in runs not yet written (open, sent, filled), for back
  // pressure: reading pauses past max_in_flight requests due.
  std::size_t batched = 0;
  std::size_t runs_due() const noexcept { return (open ? 1 : 0) + sent.size() + filled.size(); }
  bool send_scheduled = false;       // a send_now message is on its way to us
  bool in_burst = false;             // handling a burst: settle once, at its end
};
struct send_now {};

// About the bytes a reply takes encoded: its strings, and a header each.
std::size_t encoded_bytes(const value& v) {
  std::size_t n = 16 + v.str.size();
  for (auto& e : v.elements) n += encoded_bytes(e);
  return n;
}

// Past this many requests due, the connection stops reading.
constexpr std::size_t max_in_flight = 1024;

}  // namespace

troupe::io::listener serve(troupe::io::reactor& io, const troupe::io::endpoint& at, unsigned shards,
                           std::shared_ptr<server_info> info, limits bounds) {
  auto r = std::make_shared<router>(io.system(), std::max(1u, shards), std::move(info), bounds);
  auto on_connection = [r, bounds](troupe::actor& self, troupe::io::connection<codec> conn) -> troupe::behavior {
    auto st = std::make_shared<connection_state>();
    st->batches.resize(r->shard_count());
    // Writes the replies that are ready, in order, without sending yet.
    auto write_ready = [st, conn, &self]() mutable {
      st->replies.write_ready(conn);
      std::erase_if(st->filled, [&](const auto& run) {
        if (run.seq >= st->replies.first_due()) return false;
        st->batched -= run.commands;
        st->due->fetch_sub(run.bytes, std::memory_order_relaxed);
        return true;
      });
      if (st->replies.done()) self.quit();
    };
    // Closes the open run: one message per shard it touched.
    auto send_batches = [st, r, &self, hard = bounds.output_hard]() {
      if (!st->open) return;
      pending_run& run = *st->open;
      run.got.resize(st->batches.size());
      for (std::size_t s = 0; s < st->batches.size(); ++s) {
        auto& b = st->batches[s];
        if (b.counts.empty()) continue;
        b.run = run.seq;
        b.shard = static_cast<std::uint32_t>(s);
        b.reply_to = self.pid();
        b.due = st->due;
        b.due_limit = hard;
        self.send(r->shard(s), std::move(b));
        b = shard_batch{};
        ++run.waiting;
      }
      st->sent.push_back(std::move(run));
      st->open.reset();
    };
    // Past output_hard: the client is closed (Redis's hard
    // client-output-buffer-limit), logged with its address.
    auto close_over_limit = [st, conn, &self, hard = bounds.output_hard]() mutable {
      if (st->over_limit) return;
      st->over_limit = true;
      self.system().log(troupe::log_level::warning,
                        "kv: closing the connection from " + conn.peer().to_string() + ": its replies due passed " +
                            std::to_string(hard) + " bytes (output_hard); it sends requests faster than it reads replies");
      st->replies.drop_all();
      conn.abort();
    };
    // Sends the open run and the queued replies: at once when no other
    // message waits (a lone request), else after those messages, so a
    // burst of pipelined requests makes one batch per shard and one write.
    auto flush = [st, conn, send_batches, soft = bounds.output_soft]() mutable {
      send_batches();
      conn.send_queued();
      st->replies.pause_if_behind(conn, max_in_flight, st->batched - st->runs_due(),
                                  st->due->load(std::memory_order_relaxed) > soft);
    };
    auto settle = [st, flush, &self]() mutable {
      if (self.system().mailbox_size(self.pid()) == 0) {
        flush();
      } else if (!st->send_scheduled) {
        st->send_scheduled = true;
        self.send(self.pid(), send_now{});
      }
    };
    // A command that is not batched: answered now (most are) or by shards
    // later, through the router; the continuation runs in this actor. It
    // goes after the run gathered before it, so commands run in order.
    // Its reply counts in the bytes due, as a run's do: pipelined MGETs of
    // big values pause reading and close the client as pipelined GETs do.
    auto answer = [st, send_batches, write_ready, settle, close_over_limit, hard = bounds.output_hard](
                      bool quit, auto&& ask_router) mutable {
      send_batches();
      if (quit) st->replies.stop_accepting();
      const std::uint64_t seq = st->replies.reserve();
      ask_router().respond([st, seq, write_ready, settle, close_over_limit, hard](
                               const troupe::result<reply>& got) mutable {
        reply answer = got ? *got : reply{value::error("ERR " + got.error().message()), false, {}};
        const std::size_t bytes = encoded_bytes(answer.data) + answer.wire.size();
        if (!st->replies.fill(seq, std::move(answer))) return;
        // One command in one slot, as a run of one: runs_due() and
        // `batched` stay in step.
        st->filled.push_back({seq, 1, bytes});
        ++st->batched;
        // A reply alone may pass output_hard (the router refused the ones
        // that would, by their strings' size): only replies piling up
        // behind unread ones close the client.
        const std::size_t due_before = st->due->fetch_add(bytes, std::memory_order_relaxed);
        if (due_before > 0 && due_before + bytes > hard) {
          close_over_limit();
          write_ready();
          return;
        }
        if (st->in_burst) return;  // the burst's end writes and sends
        write_ready();
        settle();
      });
    };
    // One command of a burst: a one-key command joins the open run in its
    // shard's batch; anything else is answered through the router.
    auto handle_one = [st, r, answer](burst& in, const burst::command& c) mutable {
      if (c.count == 0) {  // parsed by the generic parser
        value& cmd = in.odd(c);
        const command_entry* entry = router::find_command(cmd);
        // A QUIT the router refuses (an argument that is not a string) is
        // answered with an error and does not close: it must not stop us
        // reading either.
        const bool quit = entry && entry->first == "QUIT" &&
                          std::all_of(cmd.elements.begin(), cmd.elements.end(), [](auto& e) { return e.is_string(); });
        answer(quit, [&] { return (*r)(std::move(cmd)); });
        return;
      }
      auto args = in.args(c);
      const command_entry* entry = router::find_command(args[0]);
      if (!entry || entry->second.how != route_kind::one_key || !entry->second.takes(args.size())) {
        answer(entry && entry->first == "QUIT",
               [&] { return r->run(std::vector<std::string>(args.begin(), args.end()), entry); });
        return;
      }
      if (!st->open) st->open.emplace().seq = st->replies.reserve();
      const std::size_t s = r->shard_of(args[1]);
      shard_batch& b = st->batches[s];
      if (b.buffers.empty() || b.buffers.back() != in.bytes()) b.buffers.push_back(in.bytes());
      b.args.push_back(entry->first);  // the upper-case name
      b.args.insert(b.args.end(), args.begin() + 1, args.end());
      b.counts.push_back(static_cast<std::uint32_t>(args.size()));
      st->open->shard_of.push_back(static_cast<std::uint32_t>(s));
      ++st->batched;
    };
    return {
        [st, handle_one, write_ready, settle](burst& in) mutable {
          st->in_burst = true;
          for (std::size_t i = 0; i < in.size() && st->replies.accepting(); ++i) handle_one(in, in[i]);
          st->in_burst = false;
          write_ready();
          settle();
        },
        [st, write_ready, settle, close_over_limit, hard = bounds.output_hard](batch_reply& got) mutable {
          auto run = std::find_if(st->sent.begin(), st->sent.end(), [&](auto& p) { return p.seq == got.run; });
          if (run == st->sent.end() || st->over_limit) {
            st->due->fetch_sub(got.wire.size(), std::memory_order_relaxed);
            return;
          }
          if (got.overflow || st->due->load(std::memory_order_relaxed) > hard) {
            st->due->fetch_sub(got.wire.size(), std::memory_order_relaxed);
            close_over_limit();
            write_ready();
            return;
          }
          const std::size_t shard = got.shard;
          run->got[shard] = std::move(got);
          if (--run->waiting > 0) return;
          std::string wire = run->assemble();
          st->filled.push_back({run->seq, run->shard_of.size(), wire.size()});
          st->replies.fill(run->seq, reply{{}, false, std::move(wire)});
          st->sent.erase(run);
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
  // Timeouts and a connection cap, as io::serve has.
  return troupe::io::listen<codec>(io, at, std::move(on_connection), troupe::io::server_socket_options());
}

troupe::service<value, reply> make_service(troupe::runtime& rt, unsigned shards,
                                           std::shared_ptr<server_info> info, limits bounds) {
  auto r = std::make_shared<router>(rt, std::max(1u, shards), std::move(info), bounds);
  return [r](value cmd) { return (*r)(std::move(cmd)); };
}

}  // namespace kv
