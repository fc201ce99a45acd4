// Unmanaged mode (no tor): `hoplink client|server` configured on the command line.
#include <catch2/catch.hpp>

#include "fake_tor.hpp"
#include "hoplink.hpp"
#include "link.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

TEST_CASE("unmanaged client --remote forwards each TCP connection to an unmanaged server --orport",
          "[unmanaged]") {
  TempDir dir;
  FakeTor orport({.extended = false, .auth = AuthMode::okay, .data = DataMode::pump, .okay_delay = {}});
  auto server = start_unmanaged(
      dir, "server", {"--listen", "127.0.0.1:0", "--orport", "127.0.0.1:" + std::to_string(orport.port())},
      "server");
  auto client = start_unmanaged(
      dir, "client", {"--listen", "127.0.0.1:0", "--remote", server.method.address.to_string()}, "client");
  INFO(server.process->describe());
  INFO(client.process->describe());
  CHECK(server.method.address.ip == "127.0.0.1");
  std::vector<LinkResult> results;
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    Fd fd = tcp_connect(client.method.address.port, deadline_in(timeouts::kLinkSetup));
    results.push_back(run_pump_link(std::move(fd), orport, {.seed = seed, .up = 1'000'000, .down = 1'000'000},
                                    timeouts::kSmallLink));
  }
  for (const auto& r : results) {
    INFO(r.describe());
    CHECK(r.ok());
  }
  CHECK(orport.records().size() == 3);
}

TEST_CASE("unmanaged client (SOCKS5) to an unmanaged server --ext-orport --auth-cookie", "[unmanaged]") {
  TempDir dir;
  FakeTor tor(FakeTorConfig{}, dir / "cookie");
  auto server =
      start_unmanaged(dir, "server",
                      {"--listen", "127.0.0.1:0", "--ext-orport", "127.0.0.1:" + std::to_string(tor.port()),
                       "--auth-cookie", (dir / "cookie").string()},
                      "server");
  auto client = start_unmanaged(dir, "client", {"--listen", "127.0.0.1:0"}, "client");
  INFO(server.process->describe());
  INFO(client.process->describe());
  CHECK(client.method.protocol == "socks5");
  auto r = run_socks_link(client.method.address.port, server.method.address, server.method.args, tor,
                          {.seed = 77, .up = 500'000, .down = 500'000}, timeouts::kSmallLink);
  INFO(r.describe());
  REQUIRE(r.ok());
  CHECK(r.bridge->client_hash_ok);
  CHECK(r.bridge->transport == "sctp");
}
