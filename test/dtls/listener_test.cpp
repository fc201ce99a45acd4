// The stateless front door: HelloVerifyRequest before any state, cookies bound to address and time.
#include "dtls/listener.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace hoplink::dtls::test {
namespace {

// Offset of the cookie in a ClientHello datagram: record header 13, handshake header 12, version 2, random
// 32, session id (length byte + bytes), then the cookie's length byte.
std::size_t cookie_length_offset(const Bytes& hello) {
  std::size_t sid = 13 + 12 + 2 + 32;
  REQUIRE(hello.size() > sid);
  return sid + 1 + static_cast<std::size_t>(hello[sid]);
}

struct CookieExchange {
  Pair pair;
  Bytes first_hello, hello_verify, second_hello;
  CookieExchange() {
    REQUIRE(pair.to_server.size() == 1);
    first_hello = pair.to_server.front();
    pair.to_server.pop_front();
    auto decision = pair.listener->receive(pair.client_address, first_hello, pair.now);
    REQUIRE(decision.kind == ListenDecision::Kind::reply);
    hello_verify = decision.reply;
    pair.deliver_to_client(hello_verify);
    REQUIRE(pair.to_server.size() == 1);
    second_hello = pair.to_server.front();
    pair.to_server.pop_front();
  }
};

}  // namespace

TEST_CASE("first ClientHello gets a HelloVerifyRequest no longer than itself, and no state",
          "[dtls][listener]") {
  CookieExchange x;
  CHECK(x.hello_verify.size() <= x.first_hello.size());
  CHECK(static_cast<int>(x.hello_verify[0]) == 22);  // handshake record
  CHECK(static_cast<int>(x.hello_verify[13]) == 3);  // hello_verify_request
  // The client's first ClientHello has no cookie, its second one carries 32 bytes.
  CHECK(static_cast<int>(x.first_hello[cookie_length_offset(x.first_hello)]) == 0);
  CHECK(static_cast<int>(x.second_hello[cookie_length_offset(x.second_hello)]) == 32);
  // No state: the same datagram gets the same answer again, and nothing else is ever sent.
  auto again = x.pair.listener->receive(x.pair.client_address, x.first_hello, x.pair.now);
  REQUIRE(again.kind == ListenDecision::Kind::reply);
  CHECK(again.reply == x.hello_verify);
}

TEST_CASE("valid cookie is accepted and the handshake completes", "[dtls][listener]") {
  CookieExchange x;
  auto decision = x.pair.listener->receive(x.pair.client_address, x.second_hello, x.pair.now);
  REQUIRE(decision.kind == ListenDecision::Kind::accept);
  auto server = DtlsSession::accept(std::move(decision.pending), x.pair.server_callbacks(), x.pair.now);
  REQUIRE(server.ok());
  x.pair.server.emplace(std::move(server).value());
  CHECK(x.pair.server->peer() == x.pair.client_address);
  CHECK(x.pair.run_handshake());
}

TEST_CASE("forged, misdirected or expired cookies are refused", "[dtls][listener]") {
  CookieExchange x;
  SECTION("forged cookie") {
    Bytes forged = x.second_hello;
    forged[cookie_length_offset(forged) + 1] ^= std::byte{0x40};
    auto d = x.pair.listener->receive(x.pair.client_address, forged, x.pair.now);
    CHECK(d.kind != ListenDecision::Kind::accept);
    if (d.kind == ListenDecision::Kind::reply) CHECK(d.reply.size() <= forged.size());
  }
  SECTION("cookie replayed from another address") {
    auto d = x.pair.listener->receive(x.pair.client_address.with_port(40001), x.second_hello, x.pair.now);
    CHECK(d.kind != ListenDecision::Kind::accept);
  }
  SECTION("cookie older than two rotations") {
    auto d = x.pair.listener->receive(x.pair.client_address, x.second_hello, x.pair.now + 61s);
    CHECK(d.kind != ListenDecision::Kind::accept);
  }
  SECTION("cookie from the previous secret is still accepted") {
    auto d = x.pair.listener->receive(x.pair.client_address, x.second_hello, x.pair.now + 31s);
    CHECK(d.kind == ListenDecision::Kind::accept);
  }
}

TEST_CASE("front door drops what is not a ClientHello without answering", "[dtls][listener]") {
  Pair pair;
  for (std::uint32_t seed = 0; seed < 200; ++seed) {
    Bytes junk = random_bytes(seed % 300, seed);
    auto d = pair.listener->receive(pair.client_address, junk, pair.now);
    CHECK(d.kind == ListenDecision::Kind::drop);
  }
  // A ClientHello header with a garbage body.
  Bytes fake = random_bytes(120, 7);
  fake[0] = std::byte{22};
  fake[1] = std::byte{0xfe};
  fake[2] = std::byte{0xfd};
  fake[3] = fake[4] = std::byte{0};
  fake[13] = std::byte{1};
  auto d = pair.listener->receive(pair.client_address, fake, pair.now);
  CHECK(d.kind != ListenDecision::Kind::accept);
  if (d.kind == ListenDecision::Kind::reply) CHECK(d.reply.size() <= fake.size());
  // Truncations of a real ClientHello.
  Bytes hello = pair.to_server.front();
  for (std::size_t n = 0; n < hello.size(); ++n) {
    auto t = pair.listener->receive(pair.client_address, std::span(hello).first(n), pair.now);
    CHECK(t.kind != ListenDecision::Kind::accept);
    if (t.kind == ListenDecision::Kind::reply) CHECK(t.reply.size() <= n);
  }
}

}  // namespace hoplink::dtls::test
