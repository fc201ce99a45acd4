// The packet helpers (INIT and COOKIE ECHO recognition, INIT padding) on hand-built packets and on the
// packets usrsctp sends.
#include "sctp/packet.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"
#include "sctp/crc32c.hpp"

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

namespace hoplink::sctp::test {

TEST_CASE("pad_init grows a lone INIT with one Padding Parameter and strip_init_padding undoes it",
          "[sctp][packet]") {
  // An INIT with one 8-byte parameter (a Supported Address Types of two types, padded: 6 + 2 bytes).
  Packet init = packet_with_chunk(kChunkTypeInit, 20 + 8);
  init[kCommonHeaderBytes + 3] = std::byte{20 + 6};  // chunk length: the last parameter's padding excluded
  init[kCommonHeaderBytes + 20 + 1] = std::byte{12};
  init[kCommonHeaderBytes + 20 + 3] = std::byte{6};
  sctp_fill_checksum(init);
  const std::size_t size = GENERATE(0, 40, 41, 100, 1200);
  INFO("padded to " << size);
  Packet padded = pad_init(init, size, true);
  CHECK(padded.size() >= size);
  CHECK(padded.size() % 4 == 0);
  CHECK(sctp_checksum_valid(padded));
  CHECK(is_init_packet(padded));
  if (size > init.size()) {
    // The chunk's length covers the Padding Parameter exactly; it starts after the padded last parameter.
    const std::size_t chunk_length = (std::to_integer<std::size_t>(padded[kCommonHeaderBytes + 2]) << 8) |
                                     std::to_integer<std::size_t>(padded[kCommonHeaderBytes + 3]);
    CHECK(kCommonHeaderBytes + chunk_length == padded.size());
    CHECK(std::to_integer<unsigned>(padded[init.size()]) == 0x80);
    CHECK(std::to_integer<unsigned>(padded[init.size() + 1]) == 0x05);
  } else {
    CHECK(padded == init);
  }
  const std::size_t stripped = strip_init_padding(padded, true);
  padded.resize(stripped);
  CHECK(padded == init);
}

TEST_CASE("strip_init_padding leaves anything but a well-formed lone INIT as it came", "[sctp][packet]") {
  Packet init = packet_with_chunk(kChunkTypeInit, 20);
  init[kCommonHeaderBytes + 3] = std::byte{20};  // the chunk length: no parameter
  Packet padded = pad_init(init, 200, true);
  REQUIRE(padded.size() == 200);
  bool chunk_broken = false;  // pad_init judges the chunk only, not its parameters
  SECTION("a parameter that runs past the chunk") {
    padded[kCommonHeaderBytes + 20 + 3] = std::byte{0xff};
  }
  SECTION("a parameter shorter than its header") {
    padded[kCommonHeaderBytes + 20 + 2] = std::byte{0};
    padded[kCommonHeaderBytes + 20 + 3] = std::byte{2};
  }
  SECTION("a chunk length beyond the packet") {
    padded[kCommonHeaderBytes + 2] = std::byte{0x10};
    chunk_broken = true;
  }
  SECTION("not an INIT") {
    padded[kCommonHeaderBytes] = std::byte{kChunkTypeCookieEcho};
    chunk_broken = true;
  }
  const Packet before = padded;
  CHECK(strip_init_padding(padded, true) == before.size());
  CHECK(padded == before);
  if (chunk_broken) CHECK(pad_init(before, 400, true) == before);
}

TEST_CASE("contains_chunk walks the chunks by their lengths", "[sctp][packet]") {
  Packet p = packet_with_chunk(0, 16 + 4);  // a DATA chunk of 16 bytes, then a COOKIE ACK of 4
  p[kCommonHeaderBytes + 3] = std::byte{16};
  p[kCommonHeaderBytes + 16] = std::byte{kChunkTypeCookieAck};
  p[kCommonHeaderBytes + 16 + 3] = std::byte{4};
  CHECK(contains_chunk(p, kChunkTypeCookieAck));
  CHECK(contains_chunk(p, 0));
  CHECK_FALSE(contains_chunk(p, kChunkTypeInit));
  p[kCommonHeaderBytes + 3] = std::byte{0};  // a zero length ends the walk
  CHECK_FALSE(contains_chunk(p, kChunkTypeCookieAck));
  CHECK(is_cookie_echo_packet(packet_with_chunk(kChunkTypeCookieEcho, 4)));
  CHECK_FALSE(is_cookie_echo_packet(packet_with_chunk(kChunkTypeCookieEcho, 3)));
}

TEST_CASE("a padded INIT opens an association with usrsctp whether or not the padding is stripped",
          "[sctp][packet]") {
  auto& h = Harness::instance();
  h.reset();
  // RFC 4820: a stack that does not know the Padding Parameter skips it; usrsctp answers the INIT anyway.
  h.impair = [](bool to_server, Packet& p) {
    if (to_server && is_init_packet(p)) p = pad_init(p, 1200, true);
    return Verdict::deliver;
  };
  auto client = h.connect();
  client->to_send = 1000;
  REQUIRE(h.run_until([&] { return h.accepted.size() == 1 && h.accepted[0]->received == 1000; }, 5s));
  h.impair = nullptr;
}

}  // namespace hoplink::sctp::test
