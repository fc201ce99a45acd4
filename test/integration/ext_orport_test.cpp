// The bridge side as tor sees it: the Extended ORPort handshake hoplink performs, and what it does when
// tor refuses, lies, or is not there; and the plain ORPort mode.
#include <catch2/catch.hpp>

#include "bridge_pair.hpp"
#include "proc_net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

FakeTorConfig tor_config(AuthMode auth, bool extended = true, std::chrono::milliseconds okay_delay = {}) {
  return {.extended = extended, .auth = auth, .data = DataMode::pump, .okay_delay = okay_delay};
}

PairOptions with_tor(FakeTorConfig config) {
  return pair_options(config);
}

// A link the bridge side refuses: SOCKS may succeed (the association came up) but the stream must then
// close without delivering a byte.
void expect_refused_link(BridgePair& pair, std::uint64_t seed) {
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  if (!socks.connected()) {
    CHECK(socks.reply.has_value());  // a failure reply, not a hang
    return;
  }
  auto header = PumpHeader{.seed = seed, .up = 1000, .down = 1000}.serialize();
  send_all(socks.fd.get(), header, deadline_in(timeouts::kClose));
  auto drained = recv_until_closed(socks.fd.get(), deadline_in(timeouts::kClose + timeouts::kLinkSetup));
  CHECK(drained.status == IoStatus::closed);
  CHECK(drained.bytes.empty());
}

// Waits for a LOG line printed after line `from`.
std::optional<std::string> log_after(const Process& p, std::size_t from) {
  return p.wait_for_line_text(starts_with("LOG "), timeouts::kLogLine, from);
}

}  // namespace

TEST_CASE("ExtORPort: SAFE_COOKIE, then USERADDR of the client's UDP address and TRANSPORT sctp",
          "[extorport]") {
  BridgePair pair;
  auto result = pair.link({.seed = 5, .up = 50000, .down = 50000}, timeouts::kSmallLink);
  INFO(result.describe());
  INFO(pair.describe());
  REQUIRE(result.ok());
  const auto& rec = *result.bridge;
  CHECK(rec.auth_type == 1);
  CHECK(rec.client_hash_ok);
  CHECK(rec.transport == "sctp");
  REQUIRE(rec.useraddr);
  auto addr = parse_endpoint(*rec.useraddr);
  REQUIRE(addr);
  CHECK(addr->ip == "127.0.0.1");
  auto client_udp = udp_ports_of(pair.client_process().pid());
  INFO("client UDP ports: " << client_udp.size());
  CHECK(client_udp.contains(addr->port));
  // Commands: USERADDR and TRANSPORT once each, DONE last.
  REQUIRE_FALSE(rec.commands.empty());
  CHECK(rec.commands.back().first == kExtOrDone);
  CHECK(std::count_if(rec.commands.begin(), rec.commands.end(),
                      [](auto& c) { return c.first == kExtOrUserAddr; }) == 1);
  CHECK(std::count_if(rec.commands.begin(), rec.commands.end(),
                      [](auto& c) { return c.first == kExtOrTransport; }) == 1);
  CHECK(pair.orport_trap->records().empty());
}

TEST_CASE("ExtORPort: no link bytes reach tor before OKAY", "[extorport]") {
  BridgePair pair(with_tor(tor_config(AuthMode::okay, true, 700ms)));
  // The client sends its header as soon as SOCKS succeeds, while tor is still sitting on DONE.
  auto result = pair.link({.seed = 6, .up = 100000, .down = 100000}, timeouts::kSmallLink);
  INFO(result.describe());
  INFO(pair.describe());
  REQUIRE(result.ok());
  CHECK_FALSE(result.bridge->early_link_bytes);
}

TEST_CASE("ExtORPort: the cookie file is re-read for every connection", "[extorport]") {
  BridgePair pair;
  auto first = pair.link({.seed = 1, .up = 1000, .down = 1000}, timeouts::kSmallLink);
  INFO(first.describe());
  REQUIRE(first.ok());
  pair.tor->rotate_cookie();
  auto second = pair.link({.seed = 2, .up = 1000, .down = 1000}, timeouts::kSmallLink);
  INFO(second.describe());
  INFO(pair.describe());
  CHECK(second.ok());
}

TEST_CASE("ExtORPort: a forged server hash refuses the link, is logged, and the next link works",
          "[extorport]") {
  BridgePair pair(with_tor(tor_config(AuthMode::forged_server_hash)));
  auto mark = pair.server_process().lines().size();
  expect_refused_link(pair, 1);
  INFO(pair.describe());
  REQUIRE(pair.tor->wait_until([](const auto& all) { return !all.empty() && all[0].finished; },
                               timeouts::kClose));
  auto rec = pair.tor->records()[0];
  // hoplink must hang up without answering a server it could not authenticate.
  CHECK(rec.bytes_after_forged_hash == 0u);
  auto log = log_after(pair.server_process(), mark);
  INFO("logged: " << log.value_or("<nothing>"));
  CHECK(log.has_value());
  CHECK(pair.server_process().running());

  pair.tor->set_auth_mode(AuthMode::okay);
  auto next = pair.link({.seed = 2, .up = 20000, .down = 20000}, timeouts::kSmallLink);
  INFO(next.describe());
  CHECK(next.ok());
}

TEST_CASE("ExtORPort: DENY refuses the link, is logged, and the next link works", "[extorport]") {
  BridgePair pair(with_tor(tor_config(AuthMode::deny)));
  auto mark = pair.server_process().lines().size();
  expect_refused_link(pair, 1);
  INFO(pair.describe());
  REQUIRE(pair.tor->wait_until([](const auto& all) { return !all.empty() && all[0].finished; },
                               timeouts::kClose));
  auto rec = pair.tor->records()[0];
  CHECK(rec.client_hash_ok);
  CHECK(rec.pt_hung_up);
  CHECK(log_after(pair.server_process(), mark).has_value());
  CHECK(pair.server_process().running());

  pair.tor->set_auth_mode(AuthMode::okay);
  auto next = pair.link({.seed = 2, .up = 20000, .down = 20000}, timeouts::kSmallLink);
  INFO(next.describe());
  CHECK(next.ok());
}

TEST_CASE("ExtORPort not listening: the link is refused and logged, the process stays up", "[extorport]") {
  TempDir dir;
  std::uint16_t dead_port;
  {
    Fd probe = tcp_listen();
    dead_port = local_port(probe.get());
  }  // closed: connections to it are refused
  FakeTor cookie_owner(FakeTorConfig{}, dir / "cookie");
  auto server = start_managed_server(dir, {.orport = dead_port,
                                           .ext_orport = dead_port,
                                           .cookie_file = dir / "cookie",
                                           .transports = "sctp",
                                           .bindaddr = "sctp-127.0.0.1:0",
                                           .extra_env = {},
                                           .args = {}});
  auto client = start_managed_client(dir, {});
  auto mark = server.process->lines().size();
  auto socks = socks5_connect(client.method.address.port, server.method.address, server.method.args,
                              deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  INFO(server.process->describe());
  if (socks.connected()) {
    auto drained = recv_until_closed(socks.fd.get(), deadline_in(timeouts::kLinkSetup));
    CHECK(drained.status == IoStatus::closed);
    CHECK(drained.bytes.empty());
  } else {
    CHECK(socks.reply.has_value());
  }
  CHECK(log_after(*server.process, mark).has_value());
  CHECK(server.process->running());
}

TEST_CASE("plain ORPort (TOR_PT_EXTENDED_SERVER_PORT empty): link bytes go straight to the ORPort",
          "[orport]") {
  BridgePair pair(with_tor(tor_config(AuthMode::okay, false)));
  auto result = pair.link({.seed = 9, .up = 2'000'000, .down = 2'000'000}, timeouts::kSmallLink);
  INFO(result.describe());
  INFO(pair.describe());
  // The fake ORPort takes the first 32 bytes as the pump header: any ExtORPort bytes would fail it.
  CHECK(result.ok());
  CHECK_FALSE(result.bridge->auth_type.has_value());
}

TEST_CASE("a tor that accepts but never speaks: the server gives up after --handshake-timeout",
          "[extorport]") {
  BridgePair pair(pair_options(tor_config(AuthMode::silent), {}, {"--handshake-timeout", "1000"}));
  INFO(pair.describe());
  auto start = Clock::now();
  expect_refused_link(pair, 1);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  INFO("refused after " << took.count() << " ms");
  CHECK(took < 1000ms + 9s);
  CHECK(pair.tor->wait_until([](const auto& all) { return !all.empty() && all[0].pt_hung_up; },
                             timeouts::kClose));
  CHECK(pair.server_process().running());
}
