// Two sessions wired in memory: handshake, data both ways, pinning, close.
#include "dtls/session.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace hoplink::dtls::test {
namespace {

// Sends `data` from `from` in records of at most max_record_payload(), delivering as it goes.
void send_all(Pair& pair, DtlsSession& from, const Bytes& data) {
  const std::size_t chunk = from.max_record_payload();
  REQUIRE(chunk > 0);
  for (std::size_t offset = 0; offset < data.size(); offset += chunk) {
    auto piece = std::span(data).subspan(offset, std::min(chunk, data.size() - offset));
    REQUIRE(from.send(piece).ok());
    pair.flush();
  }
}

Bytes joined(const std::vector<Bytes>& records) {
  Bytes out;
  for (const auto& r : records) out.insert(out.end(), r.begin(), r.end());
  return out;
}

}  // namespace

TEST_CASE("handshake opens DTLS 1.2 with an AEAD suite and 1 MB flows both ways byte-exact",
          "[dtls][session]") {
  Pair pair;
  REQUIRE(pair.run_handshake());
  CHECK(pair.hello_verify_requests == 1);
  CHECK(pair.client->version_name() == "DTLSv1.2");
  CHECK(pair.server->version_name() == "DTLSv1.2");
  const std::string cipher = pair.client->cipher_name();
  CHECK((cipher == "ECDHE-ECDSA-AES128-GCM-SHA256" || cipher == "ECDHE-ECDSA-CHACHA20-POLY1305"));
  CHECK(pair.server->cipher_name() == cipher);
  CHECK_FALSE(pair.client->next_deadline());
  CHECK(pair.largest_datagram <= pair.config.max_datagram_size);

  // GCM: 13 header + 8 explicit nonce + 16 tag = 37 bytes of overhead per record.
  const std::size_t payload = pair.client->max_record_payload();
  CHECK(payload == pair.config.max_datagram_size - 37);
  CHECK(pair.server->max_record_payload() == payload);

  pair.largest_datagram = 0;
  const Bytes up = random_bytes(1 << 20, 1);
  const Bytes down = random_bytes(1 << 20, 2);
  send_all(pair, *pair.client, up);
  send_all(pair, *pair.server, down);
  CHECK(pair.largest_datagram == pair.config.max_datagram_size);
  CHECK(joined(pair.server_records) == up);
  CHECK(joined(pair.client_records) == down);
  CHECK(pair.server_records.size() == (up.size() + payload - 1) / payload);  // one record per send
}

TEST_CASE("records respect a smaller MTU, handshake fragments included", "[dtls][session]") {
  SessionConfig config;
  config.max_datagram_size = 400;
  Pair pair(config);
  REQUIRE(pair.run_handshake());
  CHECK(pair.largest_datagram <= 400);
  CHECK(pair.client->max_record_payload() == 400 - 37);
  CHECK_FALSE(pair.client->send(random_bytes(400 - 36, 3)).ok());
  CHECK(pair.client->send(random_bytes(400 - 37, 3)).ok());
}

TEST_CASE("a fingerprint that does not match fails the handshake with a clear error", "[dtls][session]") {
  std::string wrong = shared_identity().fingerprint();
  wrong[0] = wrong[0] == '0' ? '1' : '0';
  Pair pair({}, wrong);
  CHECK_FALSE(pair.run_handshake());
  REQUIRE(pair.client->state() == SessionState::failed);
  CHECK(pair.client->error().kind == ErrorKind::fingerprint_mismatch);
  CHECK_THAT(pair.client->error().message, Catch::Contains("does not match") && Catch::Contains(wrong));
  CHECK_FALSE(pair.client->send(random_bytes(10, 1)).ok());
  // The server learns of it through the client's alert.
  REQUIRE(pair.server);
  CHECK(pair.server->state() == SessionState::failed);
}

TEST_CASE("fingerprint given in upper case with colons is accepted", "[dtls][session]") {
  std::string fp = shared_identity().fingerprint();
  std::string fancy;
  for (std::size_t i = 0; i < fp.size(); i += 2) {
    if (i) fancy += ':';
    fancy += static_cast<char>(std::toupper(fp[i]));
    fancy += static_cast<char>(std::toupper(fp[i + 1]));
  }
  Pair pair({}, fancy);
  CHECK(pair.run_handshake());
}

TEST_CASE("a client without a fingerprint is refused", "[dtls][session]") {
  auto r = DtlsSession::create_client(PeerAddress::v4({10, 0, 0, 2}, 443), "", {}, {}, TimePoint{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::fingerprint_missing);
  CHECK_THAT(r.error().message, Catch::Contains("fp="));
  auto bad = DtlsSession::create_client(PeerAddress::v4({10, 0, 0, 2}, 443), "abc", {}, {}, TimePoint{});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().kind == ErrorKind::invalid_argument);
}

TEST_CASE("send before open is refused", "[dtls][session]") {
  Pair pair;
  auto r = pair.client->send(random_bytes(10, 1));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::not_open);
}

TEST_CASE("close_notify closes the peer", "[dtls][session]") {
  Pair pair;
  REQUIRE(pair.run_handshake());
  pair.client->close();
  CHECK(pair.client->state() == SessionState::closed);
  pair.flush();
  CHECK(pair.server->state() == SessionState::closed);
  CHECK(pair.server->error().kind == ErrorKind::none);
}

}  // namespace hoplink::dtls::test
