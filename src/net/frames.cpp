// Frames after the handshake: what a proxy writes for each kind of message
// sent to it, and what the connection's actor makes of each frame read.
//
// A frame names its local target by (number, tag); the tag is the random
// one given when the pid was exported (node_impl.hpp), so a peer can only
// reach actors whose pids it was given. Bookkeeping for failures: links,
// monitors and requests that cross a connection are remembered in its
// peer's tables on the way out and forgotten when answered, so that a lost
// connection can fire each one with noconnection.
#include <cstring>
#include <utility>

#include "troupe/core/trace_probe.hpp"
#include "net/node_impl.hpp"

namespace troupe::net::detail {

using troupe::detail::bounce;
using troupe::detail::make_error_reply;
using troupe::detail::typed_message;

namespace {

// Frames written by this thread's current handler, not yet sent: they go
// out together when the handler ends (one system call for a burst of sends
// to one node), or once `flush_at` bytes wait.
constexpr std::size_t flush_at = 64 * 1024;
struct unsent {
  std::shared_ptr<peer> to;
  std::size_t bytes = 0;
};
thread_local std::vector<unsent> unsent_frames;

void send_unsent() {
  auto frames = std::move(unsent_frames);
  unsent_frames.clear();
  for (auto& u : frames) u.to->conn.send_queued();
}

}  // namespace

// Inside an actor's handler the frame is queued and sent when the handler
// ends; elsewhere (a plain thread, a scoped actor) it is sent at once.
io::write_status write_or_queue(const std::shared_ptr<peer>& p, const std::string& frame) {
  if (!runtime_impl::batching()) return p->conn.write_bytes(frame);
  auto status = p->conn.queue_bytes(frame);
  if (status != io::write_status::ok) return status;
  unsent* entry = nullptr;
  for (auto& u : unsent_frames)
    if (u.to == p) entry = &u;
  if (!entry) {
    unsent_frames.push_back({p, 0});
    entry = &unsent_frames.back();
    runtime_impl::after_handler(&send_unsent);
  }
  entry->bytes += frame.size();
  if (entry->bytes >= flush_at) {
    entry->bytes = 0;
    p->conn.send_queued();
  }
  return status;
}

send_status proxy_forwarder::forward(message* msg, runtime_impl& context) {
  auto node = node_.lock();
  if (!node || dead.load(std::memory_order_acquire)) {
    auto why = noconnection();
    bounce(context, msg, troupe::pid(cell), node ? "noconnection" : "the node has stopped", errc::noconnection,
           &why);
    return send_status::dead_letter;
  }
  return node->forward(*this, msg, context);
}

send_status node_impl::forward(proxy_forwarder& via, message* msg, runtime_impl& context, bool replayed) {
  troupe::pid proxy(via.cell);
  const remote_id& to = via.who();
  std::shared_ptr<peer> p;
  {
    std::lock_guard lock(via.mu_);
    p = via.route_.lock();
    if (!p || !p->open.load(std::memory_order_acquire)) {
      p = find_peer(to.node);
      via.route_ = p;
    }
  }
  auto refuse = [&](const char* why, errc code) {
    auto reason = noconnection();
    bounce(context, msg, proxy, why, code, code == errc::noconnection ? &reason : nullptr);
    return code == errc::mailbox_full ? send_status::mailbox_full : send_status::dead_letter;
  };
  // Not connected (or messages parked before it was are still going out):
  // wait for the connection (first_use.cpp).
  if (!p || !p->open.load(std::memory_order_acquire) || (!replayed && p->replaying.load(std::memory_order_acquire))) {
    // A proxy of a lost connection stays dead (node_impl::peer_lost marks
    // it before the peer closes).
    if (via.dead.load(std::memory_order_acquire)) return refuse("noconnection", errc::noconnection);
    switch (park(to.node, proxy, msg)) {
      case parking::parked: return send_status::ok;
      case parking::full: return refuse("too many messages wait for the connection", errc::mailbox_full);
      case parking::unknown: return refuse("noconnection", errc::noconnection);
      case parking::connected: break;
    }
    p = find_peer(to.node);
    if (!p) return refuse("noconnection", errc::noconnection);
  }
  if (p->incarnation != to.incarnation) return refuse("noconnection", errc::noconnection);

  // A thread-local buffer, unless this is a nested forward (exporting a pid
  // sends to the janitor, which may flush sends that bounce to a proxy).
  thread_local std::string shared_buffer;
  thread_local int depth = 0;
  struct nesting {
    int& d;
    ~nesting() { --d; }
  } nested{++depth};
  std::string own_buffer;
  std::string& frame = depth == 1 ? shared_buffer : own_buffer;
  frame.assign(4, '\0');  // the length, filled in below
  writer w(frame);
  w.pids = this;
  auto header = [&](frame_tag tag) {
    w.byte(static_cast<std::uint8_t>(tag));
    w.varint(to.id);
    w.fixed64(to.tag);
  };
  try {
    switch (msg->kind) {
      case message_kind::user:
      case message_kind::reply: {
        const wire_type_info* type = wire_type_of(msg->key);
        if (!type) {
          rt.log(log_level::warning, log_component::net, msg->type_name() +
                                         " is not a wire type (net::register_type); not sent to " + to.node);
          return refuse("not a wire type", errc::no_handler);
        }
        bool user = msg->kind == message_kind::user;
        if (msg->trace_id != 0 && p->version >= traced_frames_since_version) {
          header(user ? frame_tag::traced_send : frame_tag::traced_reply);
          w.fixed64(msg->trace_id);
          w.fixed64(msg->span_id);
        } else {
          header(user ? frame_tag::send : frame_tag::reply);
        }
        if (user) encode(w, msg->sender);
        w.varint(msg->request_id);
        w.bytes(type->name);
        type->encode(w, msg->payload());
        if (user && msg->request_id != 0 && msg->sender) {
          std::lock_guard lock(p->mu);
          if (p->lost) return refuse("noconnection", errc::noconnection);
          p->requests.emplace(msg->sender, msg->request_id);
        }
        break;
      }
      case message_kind::error_reply: {
        auto& err = msg->as<error>();
        header(frame_tag::error_reply);
        w.varint(msg->request_id);
        w.varint(static_cast<std::uint64_t>(err.code()));
        w.bytes(err.detail());
        break;
      }
      case message_kind::exit: {
        auto& sig = msg->as<troupe::detail::signal>();
        header(frame_tag::exit);
        encode(w, sig.from);
        encode_reason(w, sig.reason);
        w.byte(sig.untrappable ? 1 : 0);
        w.byte(msg->request_id == 1 ? 1 : 0);
        if (msg->request_id == 1) {
          std::lock_guard lock(p->mu);
          p->links.erase({sig.from, proxy});
        }
        break;
      }
      case message_kind::link:
      case message_kind::unlink: {
        bool link = msg->kind == message_kind::link;
        header(link ? frame_tag::link : frame_tag::unlink);
        encode(w, msg->sender);
        std::lock_guard lock(p->mu);
        if (p->lost) return refuse("noconnection", errc::noconnection);
        if (link)
          p->links.emplace(msg->sender, proxy);
        else
          p->links.erase({msg->sender, proxy});
        break;
      }
      case message_kind::monitor:
      case message_kind::demonitor: {
        bool monitor = msg->kind == message_kind::monitor;
        header(monitor ? frame_tag::monitor : frame_tag::demonitor);
        encode(w, msg->sender);
        w.varint(msg->request_id);
        std::lock_guard lock(p->mu);
        if (p->lost) return refuse("noconnection", errc::noconnection);
        if (monitor)
          p->monitors[{msg->sender, msg->request_id}] = proxy;
        else
          p->monitors.erase({msg->sender, msg->request_id});
        break;
      }
      case message_kind::down_notice: {
        auto& d = msg->as<down>();
        {
          std::lock_guard lock(p->mu);
          p->watched.erase({msg->sender, proxy, d.ref.id});
        }
        header(frame_tag::down);
        w.varint(d.ref.id);
        encode(w, d.who);
        encode_reason(w, d.reason);
        break;
      }
      default:  // timeouts and context tasks do not cross nodes
        delete msg;
        return send_status::ok;
    }
  } catch (const std::exception& e) {
    rt.log(log_level::warning, log_component::net, "could not encode " + msg->type_name() +
                                   " for " + to.node + ": " + e.what());
    return refuse("could not encode", errc::no_handler);
  }
  std::size_t len = frame.size() - 4;
  if (len > options.max_message) {
    rt.log(log_level::warning, log_component::net, "a " + msg->type_name() + " of " +
                                   std::to_string(len) + " bytes is over max_message; not sent");
    return refuse("over the size limit", errc::no_handler);
  }
  for (int i = 0; i < 4; ++i) frame[i] = static_cast<char>(len >> (24 - 8 * i));
  switch (write_or_queue(p, frame)) {
    case io::write_status::ok:
      counters.frames_out.fetch_add(1, std::memory_order_relaxed);
      if (troupe::detail::probes_on()) [[unlikely]]
        troupe::detail::trace_probe_text(tracing::event_kind::frame_send, p->name, 0,
                                         static_cast<std::int64_t>(frame.size()), &rt);
      delete msg;
      return send_status::ok;
    case io::write_status::full:
      if (msg->kind != message_kind::user) {
        // A link that cannot carry an exit, a down or a reply is as good as
        // down: close it, so that everything across it fires noconnection.
        rt.log(log_level::warning, log_component::net, "the link to " + to.node +
                                       " is full with a control message to send; closing it");
        p->conn.abort();
        return refuse("noconnection", errc::noconnection);
      }
      return refuse("the connection's write queue is full", errc::mailbox_full);
    case io::write_status::closed:
      break;
  }
  return refuse("noconnection", errc::noconnection);
}

namespace {
message* control(message_kind kind, const troupe::pid& from, std::uint64_t id) {
  auto* msg = new typed_message<troupe::detail::timeout_marker>();
  msg->kind = kind;
  msg->sender = from;
  msg->request_id = id;
  return msg;
}
}  // namespace

io::parsed<std::string> node_codec::parse(std::string_view bytes) {
  auto step = frames_parsed < 2 ? io::length_prefixed_codec{handshake_frame_limit}.parse(bytes)
                                : io::length_prefixed_codec::parse(bytes);
  if (step.has_message() && frames_parsed < 2) ++frames_parsed;
  return step;
}

bool node_codec::take(std::string& frame, const troupe::pid& actor) {
  std::shared_ptr<link_shared> l = link.lock();
  if (!l) {
    auto n = node.lock();
    if (!n || !(l = n->link_of(actor.id()))) {
      // The actor's setup has not run yet: the frame waits in its mailbox,
      // and counts as queued once the link exists (the actor's handler
      // subtracts it either way).
      ++handed_before_link;
      return false;
    }
    link = l;
    l->queued.fetch_add(std::exchange(handed_before_link, 0), std::memory_order_acq_rel);
  }
  if (l->broken.load(std::memory_order_relaxed)) return true;  // dropped: the link is closing
  if (!l->up.load(std::memory_order_acquire) || l->queued.load(std::memory_order_acquire) != 0) {
    l->queued.fetch_add(1, std::memory_order_relaxed);
    return false;  // the actor's, in order after those it has
  }
  auto n = node.lock();
  if (!n) return true;
  n->on_inline_frame(*l, frame);
  return true;
}

void node_impl::on_inline_frame(link_shared& link, std::string_view frame) {
  link.last_heard.store(now_ns(), std::memory_order_relaxed);
  counters.frames_in.fetch_add(1, std::memory_order_relaxed);
  if (link.p->state.load(std::memory_order_relaxed) == fault_state::temp_fail)
    rt.send(link.p->actor, heard_again{});
  try {
    on_frame(link.p, frame);
  } catch (const std::exception& e) {  // decode_error, or a user decode hook's
    link.broken.store(true, std::memory_order_relaxed);
    rt.send(link.p->actor, bad_frame{e.what()});
  }
}

void node_impl::check_peer_watches(const peer& from) const {
  if (options.max_peer_watches == 0 || from.links.size() + from.watched.size() < options.max_peer_watches) return;
  // Thrown to on_inline_frame, which closes the connection with this reason.
  throw std::runtime_error("it holds " + std::to_string(options.max_peer_watches) +
                           " links and monitors on actors here (max_peer_watches)");
}

void node_impl::on_frame(const std::shared_ptr<peer>& from, std::string_view bytes) {
  if (troupe::detail::probes_on()) [[unlikely]]
    troupe::detail::trace_probe_text(tracing::event_kind::frame_recv, from->name, 0,
                                     static_cast<std::int64_t>(bytes.size()), &rt);
  reader r(bytes, this);
  wire_frame f = read_frame(r);
  auto& impl = rt.impl();
  troupe::pid to;
  switch (f.tag) {
    case frame_tag::whereis:
    case frame_tag::whereis_reply:
    case frame_tag::heartbeat:
    case frame_tag::peers:
      break;
    default:
      to = local_actor(f.to_id, f.to_tag);
  }
  auto deliver = [&](message* msg) {
    if (to) {
      runtime_impl::deliver(impl, to, msg);
    } else {
      // A link or monitor to an actor that has ended (or never was) is
      // answered as from that actor, so the peer's proxy of it fires noproc.
      auto why = noproc();
      bounce(impl, msg, gone_actor(f.to_id, f.to_tag), "no such actor (or not given to that node)",
             errc::receiver_down, &why);
    }
  };
  // Answers (replies, downs, exits of links) are delivered only to whoever
  // waits for them across this link: a peer cannot make up answers.
  auto expected = [&](std::size_t erased) {
    if (erased == 0) counters.unasked.fetch_add(1, std::memory_order_relaxed);
    return erased != 0;
  };
  auto forget_request = [&] {
    std::lock_guard lock(from->mu);
    return expected(from->requests.erase({to, f.id}));
  };
  switch (f.tag) {
    case frame_tag::send:
    case frame_tag::reply: {
      bool user = f.tag == frame_tag::send;
      const wire_type_info* type = wire_type_named(f.type_name);
      if (!type) {
        counters.unknown_types.fetch_add(1, std::memory_order_relaxed);
        std::string name(f.type_name);
        std::unique_ptr<message> msg(new typed_message<unknown_wire_type>(unknown_wire_type{name}));
        msg->sender = f.from;
        msg->request_id = f.id;
        impl.record_dead_letter(msg.get(), to, "unknown wire type");
        if (user && f.id != 0 && f.from)
          runtime_impl::deliver(impl, f.from, make_error_reply(f.id, errc::no_handler,
                                                               options.name + " does not know the type " + name));
        if (!user && forget_request())
          runtime_impl::deliver(impl, to, make_error_reply(f.id, errc::bad_reply_type,
                                                           "a reply of unknown type " + name));
        return;
      }
      reader value(f.value, this);
      message* msg = type->decode(value);
      msg->sender = std::move(f.from);
      msg->request_id = f.id;
      msg->trace_id = f.trace_id;  // the sender's trace goes on here
      msg->span_id = f.span_id;
      if (!user) {
        msg->kind = message_kind::reply;
        if (!forget_request()) {
          delete msg;
          return;
        }
      }
      deliver(msg);
      return;
    }
    case frame_tag::error_reply:
      if (forget_request()) runtime_impl::deliver(impl, to, make_error_reply(f.id, f.code, std::move(f.detail)));
      return;
    case frame_tag::exit: {
      if (f.from_link) {
        std::lock_guard lock(from->mu);
        if (!expected(from->links.erase({to, f.from}))) return;
      }
      auto* sig = new typed_message<troupe::detail::signal>(troupe::detail::signal{f.from, f.reason, f.untrappable});
      sig->kind = message_kind::exit;
      sig->sender = f.from;
      sig->request_id = f.from_link ? 1 : 0;
      if (to) runtime_impl::deliver(impl, to, sig); else delete sig;
      return;
    }
    case frame_tag::link:
    case frame_tag::unlink: {
      bool link = f.tag == frame_tag::link;
      if (to && f.from) {
        std::lock_guard lock(from->mu);
        if (from->lost) return;
        if (link) {
          check_peer_watches(*from);
          from->links.emplace(to, f.from);
        } else {
          from->links.erase({to, f.from});
        }
      }
      // To a missing actor, bounce answers a link with an exit (noproc).
      deliver(control(link ? message_kind::link : message_kind::unlink, f.from, 0));
      return;
    }
    case frame_tag::monitor:
    case frame_tag::demonitor: {
      const bool monitor = f.tag == frame_tag::monitor;
      if (to && f.from) {
        std::lock_guard lock(from->mu);
        if (from->lost) return;
        if (monitor) {
          check_peer_watches(*from);
          from->watched.emplace(to, f.from, f.id);
        } else {
          from->watched.erase({to, f.from, f.id});
        }
      }
      deliver(control(monitor ? message_kind::monitor : message_kind::demonitor, f.from, f.id));
      return;
    }
    case frame_tag::down: {
      {
        std::lock_guard lock(from->mu);
        if (!expected(from->monitors.erase({to, f.id}))) return;
      }
      auto* note = new typed_message<down>(down{monitor_ref{f.id}, f.from, std::move(f.reason)});
      note->kind = message_kind::down_notice;
      note->sender = f.from;
      if (to) runtime_impl::deliver(impl, to, note); else delete note;
      return;
    }
    case frame_tag::whereis: {
      troupe::pid found = rt.whereis(f.detail);
      std::string reply;
      writer w(reply, this);
      w.byte(static_cast<std::uint8_t>(frame_tag::whereis_reply));
      w.varint(f.id);
      encode(w, found);
      write_frame(*from, reply);
      return;
    }
    case frame_tag::whereis_reply: {
      promise<troupe::pid> waiting;
      {
        std::lock_guard lock(from->mu);
        auto it = from->queries.find(f.id);
        if (it == from->queries.end()) return;
        waiting = std::move(it->second);
        from->queries.erase(it);
      }
      waiting.try_set_value(std::move(f.from));
      return;
    }
    case frame_tag::heartbeat:
      return;
    case frame_tag::peers: {
      reader list(f.rest);
      learn_peers(list);
      return;
    }
    default:
      throw decode_error("a handshake frame after the handshake");
  }
}

// "troupe://b@host/name", or with the port b listens on,
// "troupe://b@host:9100/name": then b is connected to on first use.
future<troupe::pid> node_impl::whereis(const std::string& uri) {
  static constexpr std::string_view scheme = "troupe://";
  std::string node = options.name, name = uri;
  std::optional<io::endpoint> address;
  if (uri.rfind(scheme, 0) == 0) {
    auto rest = std::string_view(uri).substr(scheme.size());
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == rest.size())
      return make_failed<troupe::pid>(error(errc::no_handler, "not a troupe://node/name address: " + uri));
    node = std::string(rest.substr(0, slash));
    name = std::string(rest.substr(slash + 1));
    auto colon = node.rfind(':'), at = node.find('@');
    auto port = colon == std::string::npos ? std::string_view() : std::string_view(node).substr(colon + 1);
    bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string_view::npos;
    unsigned long number = digits ? std::stoul(std::string(port)) : 0;
    if (digits && number <= 65535 && at != std::string::npos && at < colon &&
        node.find(']', colon) == std::string::npos) {
      std::string host = node.substr(at + 1, colon - at - 1);
      if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
      address = io::endpoint{host, static_cast<std::uint16_t>(number)};
      node.resize(colon);
    }
  }
  return lookup(node, name, address ? &*address : nullptr);
}

// ping: a whereis of the empty name, which no actor can hold, so that the
// node answers it itself (a null pid), whatever it runs.
future<duration> node_impl::ping(const std::string& node) {
  // rt.now(): the runtime's clock, virtual in a simulation.
  const auto start = rt.now();
  return lookup(node, "", nullptr).map([start, &rt = rt](const troupe::pid&) -> duration {
    return rt.now() - start;
  });
}

future<troupe::pid> node_impl::lookup(const std::string& node, const std::string& name, const io::endpoint* address) {
  if (node == options.name) return make_value<troupe::pid>(rt.whereis(name));
  if (!find_peer(node)) {
    auto up = when_up(node, address);
    if (!up) return make_failed<troupe::pid>(error(errc::noconnection, node + " is not connected"));
    std::weak_ptr<node_impl> weak = weak_from_this();
    return up->then([weak, node, name] {
      auto self = weak.lock();
      if (!self) return make_failed<troupe::pid>(error(errc::noconnection, "the node has stopped"));
      return self->query_name(node, name);
    });
  }
  return query_name(node, name);
}

future<troupe::pid> node_impl::query_name(const std::string& node, const std::string& name) {
  promise<troupe::pid> answer;
  auto result = answer.get_future();
  auto p = find_peer(node);
  if (!p) {
    answer.try_set_error(error(errc::noconnection, node + " is not connected"));
    return result;
  }
  std::uint64_t query;
  {
    std::lock_guard lock(p->mu);
    query = p->next_query++;
    p->queries.emplace(query, std::move(answer));
  }
  std::string frame;
  writer w(frame);
  w.byte(static_cast<std::uint8_t>(frame_tag::whereis));
  w.varint(query);
  w.bytes(name);
  write_frame(*p, frame);
  if (!p->open.load(std::memory_order_acquire)) {  // lost meanwhile: nobody will answer
    std::lock_guard lock(p->mu);
    if (auto it = p->queries.find(query); it != p->queries.end()) {
      it->second.try_set_error(error(errc::noconnection, node + " went down"));
      p->queries.erase(it);
    }
  }
  return result;
}

}  // namespace troupe::net::detail
