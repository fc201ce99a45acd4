// Peer tables on simulated time: the --max-peers limit, idle peers forgotten, DTLS half-open handshakes
// bounded and expired.
#include <catch2/catch.hpp>
#include <unordered_map>

#include "harness.hpp"

using namespace hoplink;
using namespace hoplink::transport;
using namespace hoplink::transport::in_process;

TEST_CASE("in process sctp: over --max-peers a new address gets no state and its link fails") {
  // One App is both ends: its client side's peer (the bridge) already fills --max-peers 1, so the bridge
  // side refuses the client's address.
  InProcess p("sctp", [](Options& o) {
    o.transports.max_peers = 1;
    o.link.connect_timeout = std::chrono::milliseconds(2000);
  });
  auto& client = p.connect();
  REQUIRE(p.run_until([&] { return client.eof; }, 10s));
  CHECK(p.orport_connections().empty());
  CHECK(p.status_number("PEERS") == 1);
  CHECK(p.status_number("PEERS_REFUSED") >= 1);
  CHECK(p.status_number("LINKS_REFUSED") == 1);
}

TEST_CASE("in process dtls: --max-peers bounds a client's sessions, one per link") {
  // A dtls link is two sessions here: the client's and the bridge's. --max-peers 2 leaves room for one link.
  InProcess p("dtls", [](Options& o) { o.transports.max_peers = 2; });
  auto& first = p.connect();
  REQUIRE(p.run_until([&] { return p.orport_connections().size() == 1; }, 5s));
  auto& second = p.connect();
  REQUIRE(p.run_until([&] { return second.eof; }, 5s));
  CHECK_FALSE(first.eof);
  CHECK(p.status_number("PEERS") == 2);
  CHECK(p.status_number("PEERS_REFUSED") == 1);
  CHECK(p.lines_containing("too many peers (--max-peers)").size() == 1);
}

TEST_CASE("in process sctp: peers idle for 20 to 30 s are forgotten, busy ones are not") {
  InProcess p("sctp");
  auto& client = p.connect();
  REQUIRE(p.run_until([&] { return p.orport_connections().size() == 1; }, 5s));
  CHECK(p.status_number("PEERS") ==
        2);  // the bridge, as the client knows it, and the client, as the bridge does
  // A link that stays open keeps its peers through many sweeps (heartbeats count as use).
  p.run_for(60s);
  CHECK(p.status_number("PEERS") == 2);
  client.close();
  REQUIRE(p.run_until([&] { return p.status_number("LINKS") == 0; }, 10s));
  p.run_for(15s);
  CHECK(p.status_number("PEERS") == 2);  // not idle long enough yet
  p.run_for(20s);
  CHECK(p.status_number("PEERS") == 0);
}

TEST_CASE("in process dtls: a closed link's sessions end at once with close_notify") {
  InProcess p("dtls");
  auto& client = p.connect();
  REQUIRE(p.run_until([&] { return p.orport_connections().size() == 1; }, 5s));
  CHECK(p.status_number("PEERS") == 2);  // the client's session and the bridge's
  client.close();
  // The client's socket goes at its next sweep (500 ms); its close_notify ends the bridge's session too.
  REQUIRE(p.run_until([&] { return p.status_number("PEERS") == 0; }, 2s));
  CHECK(p.status_number("DTLS_SESSIONS_CLOSED") >= 1);
}

TEST_CASE("in process dtls: a bridge session whose client vanished is forgotten once idle") {
  InProcess p("dtls",
              [](Options& o) { o.link.association.dead_peer_timeout = std::chrono::milliseconds(5000); });
  auto& client = p.connect();
  REQUIRE(p.run_until([&] { return p.orport_connections().size() == 1; }, 5s));
  // The client disappears without a word: nothing it sends arrives any more, close_notify included.
  p.network.set_filter(
      [](const PeerAddress&, const PeerAddress&, std::span<const std::byte>) { return false; });
  client.close();
  // Both associations die unanswered (the client's SHUTDOWN, the bridge's heartbeats); the client's socket
  // goes with its association, the bridge's session stays until it has idled 20 to 30 s.
  REQUIRE(p.run_until([&] { return p.status_number("PEERS") == 1; }, 30s));
  p.run_for(15s);
  CHECK(p.status_number("PEERS") == 1);
  REQUIRE(p.run_until([&] { return p.status_number("PEERS") == 0; }, 30s));
}

TEST_CASE("in process dtls: half-open handshakes are bounded by --dtls-max-half-open and expire") {
  InProcess p("dtls", [](Options& o) {
    o.transports.dtls.max_half_open = 1;
    o.transports.dtls.handshake_timeout = std::chrono::milliseconds(2000);
  });
  // Each client address gets its first two datagrams to the bridge through (ClientHello, then ClientHello
  // with the cookie): the bridge starts a session, which can then never complete.
  std::unordered_map<PeerAddress, int, PeerAddressHash> sent;
  const auto bridge_port = p.bridge.port();
  p.network.set_filter([&](const PeerAddress& from, const PeerAddress& to, std::span<const std::byte>) {
    if (to.port() != bridge_port) return true;
    return ++sent[from] <= 2;
  });
  auto& one = p.connect();
  auto& two = p.connect();
  auto& three = p.connect();
  p.run_for(std::chrono::milliseconds(500));
  CHECK(p.status_number("DTLS_HALF_OPEN") == 1);
  CHECK(p.status_number("DTLS_HALF_OPEN_REFUSED") >= 2);
  CHECK(p.lines_containing("--dtls-max-half-open").size() == 1);  // the first refusal is logged
  REQUIRE(p.run_until([&] { return one.eof && two.eof && three.eof; }, 20s));
  p.run_for(3s);
  CHECK(p.status_number("DTLS_HALF_OPEN") == 0);
  CHECK(p.status_number("DTLS_HANDSHAKES_TIMED_OUT") >= 1);
  CHECK(p.orport_connections().empty());
  // The bound frees up: a client whose datagrams arrive gets through.
  p.network.set_filter({});
  p.connect();
  CHECK(p.run_until([&] { return p.orport_connections().size() == 1; }, 5s));
}
