// The whole transport in one process on simulated time: links relay and close, and a silent peer is found
// dead at its timeout, for both transports.
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace hoplink;
using namespace hoplink::transport;
using namespace hoplink::transport::in_process;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

void relays_and_closes(const std::string& transport) {
  InProcess p(transport);
  auto [client, orport] = p.open_link();
  const auto up = pattern(4 * kMiB, 1);
  const auto down = pattern(4 * kMiB, 2);
  client->write(up);
  orport->write(down);
  REQUIRE(p.run_until(
      [&] { return client->received.size() >= down.size() && orport->received.size() >= up.size(); }, 120s));
  CHECK(client->received == down);
  CHECK(orport->received == up);
  // tor's client hangs up: the link ends in order on both sides.
  client->close();
  REQUIRE(p.run_until([&] { return orport->eof; }, 10s));
  REQUIRE(p.run_until([&] { return p.lines_containing("EVENT=closed").size() == 2; }, 10s));
  for (const auto& line : p.lines_containing("EVENT=closed")) {
    INFO(line);
    CHECK(line.find("REASON=orderly") != std::string::npos);
  }
  CHECK(p.status_number("LINKS") == 0);
  CHECK(p.status_number("LINKS_OPENED") == 2);  // the client's link and the bridge's
  CHECK(p.status_number("BYTES_TO_PEER") == up.size() + down.size());
}

// The bridge falls silent (every datagram lost): both sides declare the peer dead after --dead-peer-timeout.
void dead_peer(const std::string& transport) {
  InProcess p(transport, [](Options& o) {
    o.link.association.heartbeat_interval = std::chrono::milliseconds(500);
    o.link.association.dead_peer_timeout = std::chrono::milliseconds(3000);
  });
  auto [client, orport] = p.open_link();
  client->write(pattern(1000, 3));
  REQUIRE(p.run_until([&] { return orport->received.size() == 1000; }, 5s));
  p.network.set_filter(
      [](const PeerAddress&, const PeerAddress&, std::span<const std::byte>) { return false; });
  const auto silent_since = p.runtime.now();
  REQUIRE(p.run_until([&] { return client->eof && orport->eof; }, 60s));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(p.runtime.now() - silent_since);
  INFO("both sides closed " << took.count() << " ms of simulated time after the path went silent");
  // The stack's dead-peer watchdog closes an association that has heard nothing for --dead-peer-timeout;
  // the last thing heard came at most a heartbeat interval before the path went silent.
  CHECK(took >= 2500ms);
  CHECK(took <= 4000ms);
  const auto closed = p.lines_containing("EVENT=closed");
  REQUIRE(closed.size() == 2);
  for (const auto& line : closed) {
    INFO(line);
    CHECK(line.find("REASON=\"association closed: peer_unreachable\"") != std::string::npos);
  }
}

}  // namespace

TEST_CASE("in process sctp: a link relays 4 MiB each way and closes in order") {
  relays_and_closes("sctp");
}

TEST_CASE("in process dtls: a link relays 4 MiB each way and closes in order") {
  relays_and_closes("dtls");
}

TEST_CASE("in process sctp: a silent bridge is declared dead after the dead-peer timeout") {
  dead_peer("sctp");
}

TEST_CASE("in process dtls: a silent bridge is declared dead after the dead-peer timeout") {
  dead_peer("dtls");
}

TEST_CASE("in process sctp: tor resetting its connection aborts the link on both sides and says so") {
  InProcess p("sctp");
  auto [client, orport] = p.open_link();
  client->write(pattern(100000, 4));
  REQUIRE(p.run_until([&] { return orport->received.size() == 100000; }, 5s));
  client->reset();
  REQUIRE(p.run_until([&] { return orport->eof; }, 5s));
  const auto closed = p.lines_containing("EVENT=closed");
  REQUIRE(closed.size() == 2);
  // The client's link saw tor's reset; the bridge's link saw the association aborted. Neither is "orderly".
  CHECK(p.lines_containing("REASON=\"tor connection error").size() == 1);
  CHECK(p.lines_containing("REASON=\"association closed: peer_aborted").size() == 1);
}

TEST_CASE("in process sctp: the ORPort stopping reading stops the client's writer and loses nothing") {
  InProcess p("sctp", [](Options& o) { o.link.association.max_window = 0; });  // fixed 1 MiB buffers
  auto [client, orport] = p.open_link();
  orport->pause_reading();
  const auto up = pattern(64 * kMiB, 5);
  client->write(up);
  p.run_for(20s);
  const auto held = client->written;
  INFO("the client got " << held << " bytes into hoplink while the ORPort did not read");
  // Kernel socket buffers on both TCP sides, one link buffer each side, the association's send buffer and
  // receive window: far less than what tor wanted to write.
  CHECK(held < 32 * kMiB);
  p.run_for(5s);
  CHECK(client->written == held);  // and it stays stopped
  orport->resume_reading();
  REQUIRE(p.run_until([&] { return orport->received.size() >= up.size(); }, 300s));
  CHECK(orport->received == up);
}
