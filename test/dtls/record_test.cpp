// The DTLS record layout helpers against hand-built headers and the datagrams real sessions exchange.
#include "dtls/record.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace hoplink::dtls::test {
namespace {

// A record header (version DTLS 1.2) with `content_type` and `epoch`, followed by `body` zero bytes.
Bytes record(std::uint8_t content_type, std::uint16_t epoch, std::size_t body = 0) {
  Bytes r(kRecordHeaderBytes + body, std::byte{0});
  r[0] = std::byte{content_type};
  r[1] = std::byte{0xfe};
  r[2] = std::byte{0xfd};
  r[3] = static_cast<std::byte>(epoch >> 8);
  r[4] = static_cast<std::byte>(epoch);
  r[11] = static_cast<std::byte>(body >> 8);
  r[12] = static_cast<std::byte>(body);
  return r;
}

struct Captured {
  bool toward_server;
  Bytes datagram;
};

}  // namespace

TEST_CASE("is_epoch0_handshake_record wants a whole header of content type 22 at epoch 0", "[dtls][record]") {
  CHECK(is_epoch0_handshake_record(record(22, 0)));
  CHECK(is_epoch0_handshake_record(record(22, 0, 100)));
  const Bytes header = record(22, 0);
  CHECK_FALSE(is_epoch0_handshake_record(std::span(header).first(kRecordHeaderBytes - 1)));
  CHECK_FALSE(is_epoch0_handshake_record({}));
  CHECK_FALSE(is_epoch0_handshake_record(record(22, 1)));
  CHECK_FALSE(is_epoch0_handshake_record(record(22, 0x0100)));
  CHECK_FALSE(is_epoch0_handshake_record(record(20, 0)));  // change_cipher_spec
  CHECK_FALSE(is_epoch0_handshake_record(record(21, 0)));  // alert
  CHECK_FALSE(is_epoch0_handshake_record(record(23, 0)));  // application_data
}

TEST_CASE("a session's first flights are epoch-0 handshake records and its data records are not",
          "[dtls][record]") {
  Pair pair;
  std::vector<Captured> seen;
  pair.keep = [&](bool toward_server, const Bytes& d) {
    seen.push_back({toward_server, d});
    return true;
  };
  REQUIRE(pair.run_handshake());
  REQUIRE(seen.size() >= 4);  // ClientHello, HelloVerifyRequest, ClientHello with the cookie, server flight
  for (std::size_t i = 0; i < 4; ++i) {
    INFO("handshake datagram " << i);
    CHECK(is_epoch0_handshake_record(seen[i].datagram));
  }
  seen.clear();
  REQUIRE(pair.client->send(random_bytes(300, 1)).ok());
  REQUIRE(pair.server->send(random_bytes(300, 2)).ok());
  pair.flush();
  REQUIRE(seen.size() == 2);
  CHECK_FALSE(is_epoch0_handshake_record(seen[0].datagram));
  CHECK_FALSE(is_epoch0_handshake_record(seen[1].datagram));
}

TEST_CASE("kMaxRecordOverhead bounds what a session adds to a record, at every datagram size",
          "[dtls][record]") {
  for (std::size_t datagram_size : {256u, 600u, 1200u, 1500u}) {
    SessionConfig config;
    config.max_datagram_size = datagram_size;
    Pair pair(config);
    REQUIRE(pair.run_handshake());
    INFO("max_datagram_size " << datagram_size << ", " << pair.client->cipher_name());
    // What transport/ does: an SCTP packet of the datagram size minus the overhead is one record.
    const std::size_t sctp_packet = datagram_size - kMaxRecordOverhead;
    CHECK(pair.client->max_record_payload() >= sctp_packet);
    CHECK(pair.server->max_record_payload() >= sctp_packet);
    std::vector<Captured> seen;
    pair.keep = [&](bool toward_server, const Bytes& d) {
      seen.push_back({toward_server, d});
      return true;
    };
    for (std::size_t n : {std::size_t{1}, std::size_t{12}, sctp_packet / 2, sctp_packet}) {
      INFO("payload " << n);
      seen.clear();
      REQUIRE(pair.client->send(random_bytes(n, 3)).ok());
      REQUIRE(pair.server->send(random_bytes(n, 4)).ok());
      pair.flush();
      REQUIRE(seen.size() == 2);
      for (const auto& c : seen) {
        INFO((c.toward_server ? "client to server: " : "server to client: ")
             << c.datagram.size() << " bytes");
        CHECK(c.datagram.size() <= n + kMaxRecordOverhead);
        // AES-128-GCM, the suite with the largest overhead, uses all of it: the constant is not too large.
        if (pair.client->cipher_name() == "ECDHE-ECDSA-AES128-GCM-SHA256") {
          CHECK(c.datagram.size() == n + kMaxRecordOverhead);
        }
        CHECK(c.datagram.size() <= datagram_size);
      }
    }
  }
}

}  // namespace hoplink::dtls::test
