// Lost and reordered handshake datagrams, recovered by timeouts on the hand-moved clock; handshake deadline.
#include <catch2/catch.hpp>
#include <random>

#include "harness.hpp"

namespace hoplink::dtls::test {

TEST_CASE("client retransmits on its own timer at the configured interval", "[dtls][loss]") {
  Pair pair;
  REQUIRE(pair.to_server.size() == 1);
  pair.to_server.clear();  // first ClientHello lost
  auto deadline = pair.client->next_deadline();
  REQUIRE(deadline);
  CHECK(*deadline == pair.now + 1s);
  pair.client->handle_timeout(pair.now + 999ms);
  CHECK(pair.to_server.empty());  // not yet
  pair.now += 1s;
  pair.client->handle_timeout(pair.now);
  CHECK(pair.to_server.size() == 1);
  CHECK(pair.client->retransmissions() == 1);
  CHECK(*pair.client->next_deadline() == pair.now + 2s);  // doubled
  CHECK(pair.run_handshake());
}

TEST_CASE("every single lost handshake datagram is recovered", "[dtls][loss]") {
  // Count the handshake datagrams of a clean run, then drop each one of them in turn.
  std::size_t total = 0;
  {
    Pair clean;
    clean.keep = [&](bool, const Bytes&) {
      ++total;
      return true;
    };
    REQUIRE(clean.run_handshake());
  }
  REQUIRE(total >= 6);
  for (std::size_t lost = 0; lost < total; ++lost) {
    CAPTURE(lost);
    Pair pair;
    std::size_t seen = 0;
    pair.keep = [&](bool, const Bytes&) { return seen++ != lost; };
    CHECK(pair.run_handshake());
  }
}

TEST_CASE("heavy random loss (40%) still completes", "[dtls][loss]") {
  std::uint64_t retransmissions = 0;
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    SessionConfig config;
    config.handshake_timeout = 120s;
    config.max_retransmit_timeout = 4s;
    Pair pair(config);
    std::mt19937 rng(seed);
    pair.keep = [&](bool, const Bytes&) { return rng() % 10 >= 4; };
    REQUIRE(pair.run_handshake(120s));
    retransmissions += pair.client->retransmissions() + pair.server->retransmissions();
  }
  CHECK(retransmissions > 0);
}

TEST_CASE("reordered server flight is reassembled", "[dtls][loss]") {
  SessionConfig config;
  config.max_datagram_size = 256;  // the server's flight spans several datagrams
  Pair pair(config);
  // Cookie exchange and the second ClientHello, by hand.
  pair.deliver_to_server(pair.to_server.front());
  pair.to_server.pop_front();
  pair.deliver_to_client(pair.to_client.front());
  pair.to_client.pop_front();
  pair.deliver_to_server(pair.to_server.front());
  pair.to_server.pop_front();
  REQUIRE(pair.server);
  REQUIRE(pair.to_client.size() >= 2);
  std::reverse(pair.to_client.begin(), pair.to_client.end());
  CHECK(pair.run_handshake());
}

TEST_CASE("a handshake that cannot finish fails at the configured deadline", "[dtls][loss]") {
  SessionConfig config;
  config.handshake_timeout = 5s;
  Pair pair(config);
  const TimePoint start = pair.now;
  pair.keep = [](bool toward_server, const Bytes&) { return !toward_server; };  // server unreachable
  CHECK_FALSE(pair.run_handshake(60s));
  REQUIRE(pair.client->state() == SessionState::failed);
  CHECK(pair.client->error().kind == ErrorKind::handshake_timeout);
  CHECK(pair.now == start + 5s);
  CHECK(pair.client->retransmissions() >= 2);
  CHECK_FALSE(pair.client->next_deadline());
}

TEST_CASE("server side handshake fails at its deadline when the client vanishes", "[dtls][loss]") {
  SessionConfig config;
  config.handshake_timeout = 3s;
  Pair pair(config);
  pair.deliver_to_server(pair.to_server.front());
  pair.to_server.pop_front();
  pair.deliver_to_client(pair.to_client.front());
  pair.to_client.pop_front();
  pair.deliver_to_server(pair.to_server.front());
  pair.to_server.pop_front();
  REQUIRE(pair.server);
  auto deadline = pair.server->next_deadline();
  REQUIRE(deadline);
  for (int i = 0; i < 20 && pair.server->next_deadline(); ++i) {
    pair.now = *pair.server->next_deadline();
    pair.server->handle_timeout(pair.now);
  }
  CHECK(pair.server->state() == SessionState::failed);
  CHECK(pair.server->error().kind == ErrorKind::handshake_timeout);
}

}  // namespace hoplink::dtls::test
