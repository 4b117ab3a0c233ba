// libFuzzer target for the net layer's decoders: a node-to-node frame
// (src/net/wire_frame.cpp) and the message values inside it
// (include/troupe/net/serialize.hpp). Built and run by scripts/fuzz.
//
// The input is one frame's payload as a peer would send it. Invariants (a
// violation traps): reading never goes out of bounds (ASan) and fails only
// with decode_error; a send or reply frame's value, decoded as one of a few
// message types, encodes and decodes back to an equal value, consuming
// exactly the encoding, and encodes to the same bytes again; the whole input decoded as a message type behaves
// the same way.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "check.hpp"
#include "net/wire_frame.hpp"

namespace {

namespace net = troupe::net;

// Reads a pid's wire form (node, incarnation, number, tag) as a node would,
// and answers with a null pid: no runtime here.
struct reading_pids final : net::pid_codec {
  void encode(net::writer& out, const troupe::pid&) override { out.byte(0); }
  troupe::pid decode(net::reader& in) override {
    if (in.byte() == 0) return {};
    in.bytes();
    in.fixed64();
    in.varint();
    in.fixed64();
    return {};
  }
};

struct line_item {
  std::string sku;
  std::int64_t quantity = 0;
  std::optional<double> price;
};
struct order {
  std::string customer;
  std::vector<line_item> items;
  std::map<std::string, std::int32_t> tags;
  std::variant<std::monostate, std::string, std::uint64_t> note;
  troupe::pid clerk;
};

template <class T>
void round_trip(std::string_view bytes, reading_pids& pids) {
  T value{};
  try {
    net::reader in(bytes, &pids);
    net::decode(in, value);
  } catch (const net::decode_error&) {
    return;
  }
  std::string encoded;
  net::writer out(encoded, &pids);
  net::encode(out, value);
  net::reader again(encoded, &pids);
  T back{};
  net::decode(again, back);
  FUZZ_CHECK(again.remaining() == 0);
  // Compared by encoding (a NaN is not equal to itself): the same bytes.
  std::string reencoded;
  net::writer out2(reencoded, &pids);
  net::encode(out2, back);
  FUZZ_CHECK(reencoded == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  reading_pids pids;
  try {
    net::reader in(bytes, &pids);
    auto frame = net::detail::read_frame(in);
    if (frame.tag == net::detail::frame_tag::send || frame.tag == net::detail::frame_tag::reply) {
      round_trip<std::string>(frame.value, pids);
      round_trip<std::int64_t>(frame.value, pids);
      round_trip<order>(frame.value, pids);
    }
  } catch (const net::decode_error&) {
  }
  round_trip<order>(bytes, pids);
  round_trip<std::vector<std::map<std::string, std::vector<std::int16_t>>>>(bytes, pids);
  return 0;
}
