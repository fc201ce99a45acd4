// is_init_packet on hand-built packets and on the packets usrsctp sends to open an association.
#include "sctp/packet.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace std::chrono_literals;

namespace hoplink::sctp::test {
namespace {

// A common header (ports 5000 -> 5000, tag 0, checksum 0) followed by one chunk of `chunk_bytes` bytes whose
// first byte is `type`.
Packet packet_with_chunk(std::uint8_t type, std::size_t chunk_bytes) {
  Packet p(kCommonHeaderBytes + chunk_bytes, std::byte{0});
  p[0] = p[2] = std::byte{0x13};
  p[1] = p[3] = std::byte{0x88};
  if (chunk_bytes > 0) p[kCommonHeaderBytes] = std::byte{type};
  return p;
}

}  // namespace

TEST_CASE("is_init_packet wants a common header and a whole fixed INIT chunk of type 1", "[sctp][packet]") {
  CHECK(kCommonHeaderBytes == 12);
  CHECK(kInitChunkFixedBytes == 20);
  CHECK(is_init_packet(packet_with_chunk(kChunkTypeInit, 20)));
  CHECK(is_init_packet(packet_with_chunk(kChunkTypeInit, 20 + 8)));  // with a parameter
  CHECK_FALSE(is_init_packet(packet_with_chunk(kChunkTypeInit, 19)));
  CHECK_FALSE(is_init_packet(packet_with_chunk(kChunkTypeInit, 4)));
  CHECK_FALSE(is_init_packet(packet_with_chunk(kChunkTypeInit, 0)));
  CHECK_FALSE(is_init_packet({}));
  // DATA, INIT ACK, SACK, HEARTBEAT, ABORT, COOKIE ECHO, COOKIE ACK, SHUTDOWN COMPLETE, two unknown.
  constexpr std::uint8_t kOtherTypes[] = {0, 2, 3, 4, 6, 10, 11, 14, 0x81, 0xc1};
  for (std::uint8_t type : kOtherTypes) {
    INFO("chunk type " << int{type});
    CHECK_FALSE(is_init_packet(packet_with_chunk(type, 20)));
  }
}

TEST_CASE("is_init_packet looks at the first chunk only and checks neither checksum nor tag",
          "[sctp][packet]") {
  // A DATA chunk (16 bytes with 4 of data) then an INIT: not a packet that starts an association.
  Packet bundled = packet_with_chunk(0, 16 + 20);
  bundled[kCommonHeaderBytes + 16] = std::byte{kChunkTypeInit};
  CHECK_FALSE(is_init_packet(bundled));
  // Checksum and verification tag are the stack's business: garbage there does not change the answer.
  Packet init = packet_with_chunk(kChunkTypeInit, 20);
  for (std::size_t i = 4; i < kCommonHeaderBytes; ++i) init[i] = std::byte{0xa5};
  CHECK(is_init_packet(init));
}

TEST_CASE("of the packets usrsctp sends to open an association only the client's first is an INIT",
          "[sctp][packet]") {
  auto& h = Harness::instance();
  h.reset();
  std::vector<std::pair<bool, Packet>> seen;
  h.impair = [&](bool to_server, Packet& p) {
    seen.emplace_back(to_server, p);
    return Verdict::deliver;
  };
  auto client = h.connect();
  client->to_send = 1000;
  REQUIRE(h.run_until([&] { return h.accepted.size() == 1 && h.accepted[0]->received == 1000; }, 5s));
  h.impair = nullptr;
  REQUIRE(seen.size() >= 4);  // INIT, INIT ACK, COOKIE ECHO, COOKIE ACK at least
  CHECK(seen[0].first);
  CHECK(is_init_packet(seen[0].second));
  for (std::size_t i = 1; i < seen.size(); ++i) {
    INFO("packet " << i << " of " << seen.size() << (seen[i].first ? " to the server" : " to the client"));
    CHECK_FALSE(is_init_packet(seen[i].second));
  }
}

}  // namespace hoplink::sctp::test
