// The far end goes away: killed, exited, restarted; and one client talking to two bridges.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "bridge_pair.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

PairOptions echo_with_client_args(std::vector<std::string> args, std::string transport = "sctp") {
  return pair_options(ext_tor(DataMode::echo), std::move(args), {}, std::move(transport));
}

SocksOutcome open_echo_link(const BridgePair& pair) {
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  if (socks.connected()) {
    auto r = duplex_pump(socks.fd.get(), {1, 10000}, {1, 10000}, deadline_in(timeouts::kSmallLink));
    if (!r.ok) socks.error = "echo before the failure: " + r.summary();
  }
  return socks;
}

// The client's dead-peer detection (--dead-peer-timeout 3000, --heartbeat-interval 500 so that heartbeats
// keep an idle link heard from): the link closes once nothing has been heard from the bridge for the timeout.
constexpr auto kDeadPeerTimeout = 3000ms;

void bridge_killed(const std::string& transport) {
  BridgePair pair(echo_with_client_args(
      {"--heartbeat-interval", "500", "--dead-peer-timeout", std::to_string(kDeadPeerTimeout.count())},
      transport));
  INFO(pair.describe());
  auto socks = open_echo_link(pair);
  // The client last heard from the bridge at the end of the echo or later (SACKs, heartbeat answers), and
  // at the kill at the latest: the link must close within [echoed + timeout, killed + timeout] plus slack.
  const auto echoed = Clock::now();
  INFO(socks.describe());
  REQUIRE(socks.connected());
  REQUIRE(socks.error.empty());
  const auto killed = Clock::now();
  pair.server_process().send_signal(SIGKILL);
  REQUIRE(pair.server_process().wait_exit(timeouts::kExit));
  auto drained = recv_until_closed(socks.fd.get(), deadline_in(kDeadPeerTimeout + 10s));
  const auto closed = Clock::now();
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  };
  INFO("closed " << ms(closed - killed) << " ms after the kill, " << ms(closed - echoed)
                 << " ms after the last echo");
  CHECK(drained.status == IoStatus::closed);
  // Not before the timeout, less what the client's clock may lag when its loop is late (its packets are
  // stamped with the time of its last timer call): an earlier close is not the dead-peer detection's.
  CHECK(closed - echoed >= kDeadPeerTimeout - 500ms);
  // Not much after it either: the watchdog's timer is due when the timeout is; the rest is for a busy
  // machine.
  CHECK(closed - killed <= kDeadPeerTimeout + 2s);
  CHECK(pair.client_process().running());
}

void bridge_exits(const std::string& transport) {
  // Default dead-peer timeout (30 s): only an ABORT/SHUTDOWN from the exiting bridge closes the link in time.
  BridgePair pair(echo_with_client_args({}, transport));
  INFO(pair.describe());
  auto socks = open_echo_link(pair);
  INFO(socks.describe());
  REQUIRE(socks.connected());
  const auto signalled = Clock::now();
  pair.server_process().send_signal(SIGTERM);
  REQUIRE(pair.server_process().wait_exit(timeouts::kPromptExit));
  auto drained = recv_until_closed(socks.fd.get(), deadline_in(timeouts::kClose));
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - signalled);
  INFO("closed " << took.count() << " ms after the SIGTERM");
  CHECK(drained.status == IoStatus::closed);
  // Promptly: as long as the bridge may take to exit, far from any timeout.
  CHECK(took <= timeouts::kPromptExit);
}

void bridge_restarts(const std::string& transport) {
  BridgePair pair(over(transport));
  INFO(pair.describe());
  auto first = pair.link({.seed = 1, .up = 100000, .down = 100000}, timeouts::kSmallLink);
  INFO(first.describe());
  REQUIRE(first.ok());
  auto port = pair.bridge().port;
  pair.server_process().send_signal(SIGKILL);
  REQUIRE(pair.server_process().wait_exit(timeouts::kExit));
  ManagedServerOptions again;
  again.orport = pair.orport_trap->port();
  again.ext_orport = pair.tor->port();
  again.cookie_file = pair.tor->cookie_file();
  again.transports = transport;
  again.bindaddr = transport + "-127.0.0.1:" + std::to_string(port);
  // The same state directory, as tor gives a restarted PT: a dtls bridge keeps its certificate, so the
  // client's bridge line (its fp=) is still right.
  auto server = start_managed_server(pair.dir, again, "server");
  INFO(server.process->describe());
  REQUIRE(server.method.address.port == port);
  CHECK(server.method.args == pair.bridge_args());
  auto second = run_socks_link(pair.socks_port(), server.method.address, pair.bridge_args(), *pair.tor,
                               {.seed = 2, .up = 100000, .down = 100000}, timeouts::kSmallLink);
  INFO(second.describe());
  CHECK(second.ok());
}

}  // namespace

TEST_CASE("a bridge killed without a word: the client closes tor's connection after the dead-peer timeout",
          "[peer][dead]") {
  bridge_killed("sctp");
}

TEST_CASE(
    "dtls: a bridge killed without a word: the client closes tor's connection after the dead-peer "
    "timeout",
    "[peer][dead][dtls]") {
  bridge_killed("dtls");
}

TEST_CASE("a bridge that exits (SIGTERM) ends its links at the client promptly", "[peer][exit]") {
  bridge_exits("sctp");
}

TEST_CASE("dtls: a bridge that exits (SIGTERM) ends its links at the client promptly", "[peer][exit][dtls]") {
  bridge_exits("dtls");
}

TEST_CASE("a bridge restarted on the same UDP port serves the same client again", "[peer][restart]") {
  bridge_restarts("sctp");
}

TEST_CASE("dtls: a bridge restarted on the same UDP port (same certificate) serves the same client again",
          "[peer][restart][dtls]") {
  bridge_restarts("dtls");
}

TEST_CASE("tor closing the client side mid-link ends the bridge's ORPort connection", "[peer][close]") {
  BridgePair pair(echo_with_client_args({}));
  INFO(pair.describe());
  auto socks = open_echo_link(pair);
  REQUIRE(socks.connected());
  socks.fd.reset();
  CHECK(pair.tor->wait_until([](const auto& all) { return all.size() == 1 && all[0].eof_after_data; },
                             timeouts::kClose));
}

TEST_CASE("one client, two bridges, links to both at once", "[peer][multi]") {
  BridgePair pair;
  INFO(pair.describe());
  ManagedServerOptions other;
  other.orport = pair.orport_trap->port();
  other.ext_orport = pair.tor->port();
  other.cookie_file = pair.tor->cookie_file();
  auto second = start_managed_server(pair.dir, other, "server2");
  INFO(second.process->describe());
  std::vector<LinkResult> results(20);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto& bridge = i % 2 ? second.method : pair.server.method;
      results[i] = run_socks_link(pair.socks_port(), bridge.address, bridge.args, *pair.tor,
                                  {.seed = 100 + i, .up = 200000, .down = 200000}, timeouts::kSmallLink);
    });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < results.size(); ++i) {
    INFO("link " << i << ": " << results[i].describe());
    CHECK(results[i].ok());
  }
}
