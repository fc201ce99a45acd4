// Garbage from the network never crashes a session and never kills an open one.
#include <catch2/catch.hpp>

#include "harness.hpp"

namespace hoplink::dtls::test {

TEST_CASE("garbage datagrams do not kill an open session", "[dtls][robustness]") {
  Pair pair;
  REQUIRE(pair.run_handshake());
  REQUIRE(pair.client->send(random_bytes(500, 9)).ok());
  REQUIRE(pair.to_server.size() == 1);
  const Bytes real = pair.to_server.front();
  pair.to_server.clear();

  for (std::uint32_t seed = 0; seed < 500; ++seed) {
    pair.server->receive_datagram(random_bytes(1 + seed % 1500, seed), pair.now);
    pair.client->receive_datagram(random_bytes(1 + seed % 64, seed + 1000), pair.now);
  }
  for (std::size_t n = 1; n < real.size(); n += 7) {
    pair.server->receive_datagram(std::span(real).first(n), pair.now);  // truncated record
  }
  Bytes flipped = real;
  flipped[real.size() / 2] ^= std::byte{1};
  pair.server->receive_datagram(flipped, pair.now);  // authentication fails: dropped
  Bytes header_only(real.begin(), real.begin() + 13);
  header_only[11] = std::byte{0xff};  // length larger than the datagram
  header_only[12] = std::byte{0xff};
  pair.server->receive_datagram(header_only, pair.now);
  pair.flush();
  CHECK(pair.server_records.empty());
  REQUIRE(pair.server->state() == SessionState::open);
  REQUIRE(pair.client->state() == SessionState::open);

  pair.server->receive_datagram(real, pair.now);
  REQUIRE(pair.server_records.size() == 1);
  CHECK(pair.server_records[0] == random_bytes(500, 9));
  pair.server->receive_datagram(real, pair.now);  // a replay is dropped
  CHECK(pair.server_records.size() == 1);
  REQUIRE(pair.server->send(random_bytes(100, 3)).ok());
  pair.flush();
  CHECK(pair.client_records.size() == 1);
}

TEST_CASE("garbage during the handshake does not crash either side", "[dtls][robustness]") {
  Pair pair;
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    Bytes junk = random_bytes(1 + seed % 400, seed);
    if (seed % 3 == 0) {
      junk[0] = std::byte{22};
      if (junk.size() > 2) junk[1] = std::byte{0xfe};
    }
    pair.client->receive_datagram(junk, pair.now);
  }
  CHECK(pair.client->state() == SessionState::handshaking);
  CHECK(pair.run_handshake());
}

}  // namespace hoplink::dtls::test
