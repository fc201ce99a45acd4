// TCP's half-close end to end, for both transports on simulated time: either tor side ends its direction
// first and the other keeps sending, both directions arrive whole at every size, under loss too; a reset on
// one side is a reset on the other, and neither side calls that orderly.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace hoplink;
using namespace hoplink::transport;
using namespace hoplink::transport::in_process;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// Both links (the client's and the bridge's) said REASON=orderly, having carried `bytes` between them.
void both_links_closed_in_order(InProcess& p, std::size_t bytes) {
  REQUIRE(p.run_until([&] { return p.lines_containing("EVENT=closed").size() == 2; }, 30s));
  for (const auto& line : p.lines_containing("EVENT=closed")) {
    INFO(line);
    CHECK(line.find("REASON=orderly") != std::string::npos);
  }
  CHECK(p.status_number("LINKS") == 0);
  CHECK(p.status_number("BYTES_TO_PEER") == bytes);
}

struct HalfClose {
  std::size_t first_bytes;   // sent by the side that half-closes first
  std::size_t second_bytes;  // sent by the other side, half of it after the first side's FIN arrived
  bool client_first;
  double loss;
};

void both_directions_whole(const std::string& transport, const HalfClose& c, unsigned seed) {
  InProcess p(transport);
  auto [client, orport] = p.open_link();
  if (c.loss > 0) p.network.set_impairment(dio::Impairment{.loss = c.loss, .delay = 2ms});
  TcpPeer& first = c.client_first ? *client : *orport;
  TcpPeer& second = c.client_first ? *orport : *client;
  first.end_on_eof = false;
  second.end_on_eof = false;
  const auto first_data = pattern(c.first_bytes, seed);
  const auto second_data = pattern(c.second_bytes, seed + 1);
  const auto half = static_cast<std::ptrdiff_t>(c.second_bytes / 2);

  first.write(first_data);
  first.shutdown_send();
  second.write({second_data.begin(), second_data.begin() + half});
  REQUIRE(p.run_until([&] { return second.eof; }, 300s));
  CHECK_FALSE(second.error);
  CHECK(second.received.size() == first_data.size());
  CHECK(second.received == first_data);
  // The first side's FIN ended one direction only: the other still carries bytes, after it.
  second.write({second_data.begin() + half, second_data.end()});
  second.shutdown_send();
  REQUIRE(p.run_until([&] { return first.eof; }, 300s));
  CHECK_FALSE(first.error);
  CHECK(first.received.size() == second_data.size());
  CHECK(first.received == second_data);

  both_links_closed_in_order(p, first_data.size() + second_data.size());
}

void half_close_runs(const std::string& transport) {
  const auto [first_bytes, second_bytes] = GENERATE(table<std::size_t, std::size_t>({
      {0, 0},
      {0, 1 * kMiB},
      {1, 300000},
      {1000, 3 * kMiB},
      {1 * kMiB, 1},
      {3 * kMiB, 2 * kMiB},
  }));
  const bool client_first = GENERATE(true, false);
  const double loss = GENERATE(0.0, 0.02);
  INFO(transport << ": " << (client_first ? "client" : "ORPort") << " half-closes first after " << first_bytes
                 << " bytes, the other side sends " << second_bytes << ", loss " << loss);
  both_directions_whole(transport, {first_bytes, second_bytes, client_first, loss},
                        static_cast<unsigned>(first_bytes + second_bytes) % 250);
}

// tor ends its direction before the bridge side has reached the ORPort: the end-of-stream marker waits in
// the association until the bridge's link starts and reads it, and the ORPort still answers in full.
void half_close_before_the_orport(const std::string& transport) {
  InProcess p(transport);
  p.orport_end_on_eof = false;
  auto& client = p.connect();
  client.end_on_eof = false;
  const auto up = pattern(5000, 7);
  client.write(up);
  client.shutdown_send();
  REQUIRE(p.run_until([&] { return !p.orport_connections().empty(); }, 5s));
  TcpPeer& orport = *p.orport_connections().back();
  REQUIRE(p.run_until([&] { return orport.eof; }, 10s));
  CHECK(orport.received == up);
  const auto down = pattern(200000, 8);
  orport.write(down);
  orport.shutdown_send();
  REQUIRE(p.run_until([&] { return client.eof; }, 10s));
  CHECK_FALSE(client.error);
  CHECK(client.received == down);
  both_links_closed_in_order(p, up.size() + down.size());
}

// tor on one side resets its connection while both directions carry data: the link aborts, the other tor
// sees a reset (not a clean FIN), and neither link says orderly.
void reset_reaches_the_other_side(const std::string& transport) {
  const bool client_resets = GENERATE(true, false);
  INFO(transport << ": " << (client_resets ? "client" : "ORPort") << " resets");
  InProcess p(transport);
  auto [client, orport] = p.open_link();
  TcpPeer& resetting = client_resets ? *client : *orport;
  TcpPeer& other = client_resets ? *orport : *client;
  client->write(pattern(8 * kMiB, 4));
  orport->write(pattern(8 * kMiB, 5));
  REQUIRE(p.run_until([&] { return client->received.size() > kMiB && orport->received.size() > kMiB; }, 60s));
  resetting.reset();
  REQUIRE(p.run_until([&] { return other.eof; }, 10s));
  INFO("the other side: " << other.error.message());
  CHECK(other.error == asio::error::connection_reset);
  CHECK(other.received.size() < 8 * kMiB);
  REQUIRE(p.run_until([&] { return p.lines_containing("EVENT=closed").size() == 2; }, 10s));
  CHECK(p.lines_containing("REASON=orderly").empty());
  CHECK(p.lines_containing("REASON=\"tor connection error").size() == 1);
  CHECK(p.lines_containing("REASON=\"association closed: peer_aborted").size() == 1);
}

// The client's tor resets and the ABORT that the client side sends is lost on the way. Over sctp the client
// stack answers the bridge's next packet with another ABORT. Over dtls every later SCTP packet is lost too
// and only the client's close_notify arrives: ending the session must end the associations it carried.
// Either way the bridge's link ends at once, not at the dead-peer timeout (30 s).
void lost_abort_still_ends_the_bridge_side(const std::string& transport) {
  InProcess p(transport);
  auto [client, orport] = p.open_link();
  client->write(pattern(4 * kMiB, 6));
  orport->write(pattern(4 * kMiB, 7));
  REQUIRE(p.run_until([&] { return client->received.size() > kMiB && orport->received.size() > kMiB; }, 60s));
  // The ABORT leaves once the client side has logged its link closed. Over dtls it is an application_data
  // record (content type 23), as every SCTP packet is, while close_notify is an alert (21); over sctp it is
  // the packet whose first chunk (after the 12-byte common header) is an ABORT (6).
  const bool dtls = transport == "dtls";
  int dropped = 0;
  p.network.set_filter([&](const PeerAddress&, const PeerAddress& to, std::span<const std::byte> datagram) {
    if (to != p.bridge || datagram.size() < 13 || (dropped > 0 && !dtls)) return true;
    if (p.lines_containing("LINK=1 EVENT=closed").empty()) return true;
    if (datagram[dtls ? 0 : 12] != (dtls ? std::byte{23} : std::byte{6})) return true;
    ++dropped;
    return false;
  });
  client->reset();
  const auto reset_at = p.runtime.now();
  REQUIRE(p.run_until([&] { return orport->eof; }, 40s));
  const auto took = std::chrono::duration<double>(p.runtime.now() - reset_at).count();
  INFO("the bridge side ended " << took << " s after the reset; " << orport->error.message());
  CHECK(dropped >= 1);
  CHECK(took < 3.0);
  CHECK(orport->error == asio::error::connection_reset);
  REQUIRE(p.run_until([&] { return p.lines_containing("EVENT=closed").size() == 2; }, 10s));
  CHECK(p.lines_containing("REASON=orderly").empty());
  const auto bridge_closed = p.lines_containing("LINK=2 EVENT=closed");
  REQUIRE(bridge_closed.size() == 1);
  INFO(bridge_closed.front());
  CHECK(bridge_closed.front().find(dtls ? "lower_layer_closed" : "peer_aborted") != std::string::npos);
}

}  // namespace

TEST_CASE("in process sctp: either side half-closes first and both directions arrive whole") {
  half_close_runs("sctp");
}

TEST_CASE("in process dtls: either side half-closes first and both directions arrive whole") {
  half_close_runs("dtls");
}

TEST_CASE("in process sctp: tor half-closes before the bridge reached the ORPort") {
  half_close_before_the_orport("sctp");
}

TEST_CASE("in process dtls: tor half-closes before the bridge reached the ORPort") {
  half_close_before_the_orport("dtls");
}

TEST_CASE("in process sctp: a reset from tor on one side is a reset on the other") {
  reset_reaches_the_other_side("sctp");
}

TEST_CASE("in process dtls: a reset from tor on one side is a reset on the other") {
  reset_reaches_the_other_side("dtls");
}

TEST_CASE("in process sctp: the bridge side ends soon when the client's ABORT is lost") {
  lost_abort_still_ends_the_bridge_side("sctp");
}

TEST_CASE("in process dtls: the bridge side ends soon when the client's ABORT is lost") {
  lost_abort_still_ends_the_bridge_side("dtls");
}
