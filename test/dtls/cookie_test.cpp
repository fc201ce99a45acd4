#include "dtls/cookie.hpp"

#include <catch2/catch.hpp>

#include "harness.hpp"

namespace hoplink::dtls::test {

TEST_CASE("cookie verifies for the address and port it was made for only", "[dtls][cookie]") {
  TimePoint t0{std::chrono::seconds(100)};
  auto jar = CookieJar::create(30s, t0);
  REQUIRE(jar.ok());
  PeerAddress peer = PeerAddress::v4({192, 0, 2, 1}, 5000);
  auto cookie = jar->make(peer, t0);
  CHECK(jar->verify(peer, cookie, t0 + 1s));
  CHECK_FALSE(jar->verify(peer.with_port(5001), cookie, t0 + 1s));
  CHECK_FALSE(jar->verify(PeerAddress::v4({192, 0, 2, 2}, 5000), cookie, t0 + 1s));
  auto forged = cookie;
  forged[0] ^= 1;
  CHECK_FALSE(jar->verify(peer, forged, t0 + 1s));
  CHECK_FALSE(jar->verify(peer, std::span(cookie).first(16), t0 + 1s));
}

TEST_CASE("cookie survives one rotation (previous secret) and expires after two", "[dtls][cookie]") {
  TimePoint t0{std::chrono::seconds(100)};
  auto jar = CookieJar::create(30s, t0);
  REQUIRE(jar.ok());
  PeerAddress peer = PeerAddress::v6({0x20, 0x01, 0x0d, 0xb8}, 443);
  auto cookie = jar->make(peer, t0 + 29s);
  CHECK(jar->verify(peer, cookie, t0 + 31s));        // rotated once: previous secret
  CHECK(jar->make(peer, t0 + 31s) != cookie);        // new cookies use the new secret
  CHECK_FALSE(jar->verify(peer, cookie, t0 + 61s));  // rotated twice: gone
}

TEST_CASE("cookie jar idle for a long time forgets both secrets", "[dtls][cookie]") {
  TimePoint t0{std::chrono::seconds(100)};
  auto jar = CookieJar::create(30s, t0);
  REQUIRE(jar.ok());
  PeerAddress peer = PeerAddress::v4({192, 0, 2, 1}, 5000);
  auto cookie = jar->make(peer, t0);
  CHECK_FALSE(jar->verify(peer, cookie, t0 + 3600s));
}

}  // namespace hoplink::dtls::test
