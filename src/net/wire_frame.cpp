#include "net/wire_frame.hpp"

namespace troupe::net::detail {

void encode_reason(writer& out, const exit_reason& r) {
  out.byte(static_cast<std::uint8_t>(r.what()));
  out.bytes(r.text());
}

exit_reason decode_reason(reader& in) {
  auto kind = in.byte();
  std::string text(in.bytes());
  switch (static_cast<exit_reason::kind>(kind)) {
    case exit_reason::kind::normal: return exit_reason::normal();
    case exit_reason::kind::shutdown: return exit_reason::shutdown();
    case exit_reason::kind::kill: return exit_reason::kill();
    case exit_reason::kind::killed: return exit_reason::killed();
    case exit_reason::kind::error: return exit_reason::error(std::move(text));
    case exit_reason::kind::user: return exit_reason::user(std::move(text));
  }
  throw decode_error("unknown exit reason kind " + std::to_string(kind));
}

wire_frame read_frame(reader& in) {
  wire_frame f;
  f.tag = static_cast<frame_tag>(in.byte());
  auto target = [&] {
    f.to_id = in.varint();
    f.to_tag = in.fixed64();
  };
  auto rest = [&] { return in.raw(in.remaining()); };
  if (f.tag == frame_tag::traced_send || f.tag == frame_tag::traced_reply) {
    f.tag = f.tag == frame_tag::traced_send ? frame_tag::send : frame_tag::reply;
    target();
    f.trace_id = in.fixed64();
    f.span_id = in.fixed64();
    if (f.tag == frame_tag::send) f.from = decode<troupe::pid>(in);
    f.id = in.varint();
    f.type_name = in.bytes();
    f.value = rest();
    return f;
  }
  switch (f.tag) {
    case frame_tag::send:
    case frame_tag::reply:
      target();
      if (f.tag == frame_tag::send) f.from = decode<troupe::pid>(in);
      f.id = in.varint();
      f.type_name = in.bytes();
      f.value = rest();
      return f;
    case frame_tag::error_reply: {
      target();
      f.id = in.varint();
      auto code = in.varint();
      if (code == 0 || code > static_cast<std::uint64_t>(errc::node_suspected))
        throw decode_error("unknown error code " + std::to_string(code));
      f.code = static_cast<errc>(code);
      f.detail = std::string(in.bytes());
      return f;
    }
    case frame_tag::exit:
      target();
      f.from = decode<troupe::pid>(in);
      f.reason = decode_reason(in);
      f.untrappable = in.byte() != 0;
      f.from_link = in.byte() != 0;
      return f;
    case frame_tag::link:
    case frame_tag::unlink:
      target();
      f.from = decode<troupe::pid>(in);
      return f;
    case frame_tag::monitor:
    case frame_tag::demonitor:
      target();
      f.from = decode<troupe::pid>(in);
      f.id = in.varint();
      return f;
    case frame_tag::down:
      target();
      f.id = in.varint();
      f.from = decode<troupe::pid>(in);
      f.reason = decode_reason(in);
      return f;
    case frame_tag::whereis:
      f.id = in.varint();
      f.detail = std::string(in.bytes());
      return f;
    case frame_tag::whereis_reply:
      f.id = in.varint();
      f.from = decode<troupe::pid>(in);
      return f;
    case frame_tag::heartbeat:
      return f;
    case frame_tag::peers:
      f.rest = rest();
      return f;
    default:
      throw decode_error("unknown frame tag " + std::to_string(static_cast<int>(f.tag)));
  }
}

}  // namespace troupe::net::detail
