// The path between client and bridge through a relay that can see, drop, duplicate and reorder datagrams.
#include <catch2/catch.hpp>

#include "bridge_pair.hpp"
#include "timeouts.hpp"
#include "udp_relay.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

PairOptions with_args(std::vector<std::string> client_args, Env server_env) {
  auto options = pair_options(FakeTorConfig{}, std::move(client_args));
  options.server_env = std::move(server_env);
  return options;
}

RelayImpairment random_impairment(double drop, double duplicate, double reorder, std::uint32_t seed) {
  return {.drop = drop,
          .duplicate = duplicate,
          .reorder = reorder,
          .seed = seed,
          .burst_after = 0,
          .burst_to_bridge = 0,
          .burst_to_client = 0};
}

std::string relay_summary(const RelayStats& s) {
  return "relay: " + std::to_string(s.to_bridge) + " datagrams to the bridge, " +
         std::to_string(s.to_client) + " to the client; dropped " + std::to_string(s.dropped_to_bridge) +
         " / " + std::to_string(s.dropped_to_client) + ", " + std::to_string(s.send_failures) +
         " send failures, " + std::to_string(s.duplicated) + " duplicated, " + std::to_string(s.reordered) +
         " reordered; largest " + std::to_string(s.max_to_bridge) + " / " + std::to_string(s.max_to_client) +
         " bytes";
}

LinkResult link_via(const BridgePair& pair, const UdpRelay& relay, LinkSpec spec,
                    std::chrono::milliseconds timeout) {
  return run_socks_link(pair.socks_port(), relay.address(), pair.bridge_args(), *pair.tor, spec, timeout);
}

}  // namespace

TEST_CASE("through a clean relay: links work, and datagrams stay within the default MTU of 1200",
          "[impairment][mtu]") {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), {});
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    auto r = link_via(pair, relay, {.seed = seed, .up = 4'000'000, .down = 4'000'000}, timeouts::kSmallLink);
    INFO(r.describe());
    INFO(relay_summary(relay.stats()));
    INFO(pair.describe());
    REQUIRE(r.ok());
  }
  auto s = relay.stats();
  INFO(relay_summary(s));
  // --help: "--mtu: SCTP packet size in bytes, i.e. the UDP payload".
  CHECK(s.max_to_bridge <= 1200);
  CHECK(s.max_to_client <= 1200);
  CHECK(s.max_to_bridge > 1100);  // the limit is used, not just respected
  CHECK(s.max_to_client > 1100);
  CHECK(s.dropped() + s.send_failures + s.duplicated + s.reordered == 0);  // clean
}

TEST_CASE("mtu 600 (client --mtu, server TOR_PT_SERVER_TRANSPORT_OPTIONS): no datagram is larger, either way",
          "[impairment][mtu]") {
  BridgePair pair(with_args({"--mtu", "600"}, {{"TOR_PT_SERVER_TRANSPORT_OPTIONS", "sctp:mtu=600"}}));
  UdpRelay relay(pair.bridge(), {});
  auto r = link_via(pair, relay, {.seed = 1, .up = 2'000'000, .down = 2'000'000}, timeouts::kSmallLink);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  REQUIRE(r.ok());
  CHECK(s.max_to_bridge <= 600);
  CHECK(s.max_to_client <= 600);
  CHECK(s.max_to_bridge > 500);  // the limit is used, not just respected
  CHECK(s.max_to_client > 500);
}

TEST_CASE("2% random loss each way: every byte still arrives, in order", "[impairment][loss]") {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), random_impairment(0.02, 0, 0, 5));
  auto r = link_via(pair, relay, {.seed = 2, .up = 4'000'000, .down = 4'000'000}, timeouts::kBulk);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  CHECK(r.ok());
  CHECK(s.dropped_to_bridge > 0);
  CHECK(s.dropped_to_client > 0);
  WARN("4 MB each way with 2% loss: " << r.pump.seconds << " s");
}

namespace {

// A queue overflowing somewhere on the path: up to 300 datagrams in a row lost in one direction, once, within
// 200 ms (an unpaced sender loses 300 at once; a paced one on loopback has far fewer in flight).
void burst_loss_link(bool to_bridge, bool to_client) {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), {.drop = 0,
                                 .duplicate = 0,
                                 .reorder = 0,
                                 .seed = 1,
                                 .burst_after = 500,
                                 .burst_to_bridge = to_bridge ? 300u : 0u,
                                 .burst_to_client = to_client ? 300u : 0u,
                                 .burst_duration = std::chrono::milliseconds(200)});
  auto r = link_via(pair, relay, {.seed = 4, .up = 4'000'000, .down = 4'000'000}, timeouts::kBulk);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  // A burst each way is shorter: a side whose SACKs are lost too stops sending sooner (measured 23..111
  // datagrams towards the client, 130..237 towards the bridge; one way alone, 200..300).
  const std::uint64_t least = to_bridge && to_client ? 5 : 20;
  if (to_bridge) {
    CHECK(s.dropped_to_bridge >= least);
    CHECK(s.dropped_to_bridge <= 300);
  } else {
    CHECK(s.dropped_to_bridge == 0);
  }
  if (to_client) {
    CHECK(s.dropped_to_client >= least);
    CHECK(s.dropped_to_client <= 300);
  } else {
    CHECK(s.dropped_to_client == 0);
  }
  CHECK(r.ok());
}

}  // namespace

TEST_CASE("300 datagrams in a row lost towards the bridge: the link recovers", "[impairment][loss][burst]") {
  burst_loss_link(true, false);
}

TEST_CASE("300 datagrams in a row lost towards the client: the link recovers", "[impairment][loss][burst]") {
  burst_loss_link(false, true);
}

TEST_CASE("300 datagrams in a row lost each way: the link recovers", "[impairment][loss][burst]") {
  burst_loss_link(true, true);
}

TEST_CASE("duplicated and reordered datagrams: every byte arrives once, in order", "[impairment][reorder]") {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), random_impairment(0, 0.03, 0.03, 6));
  auto r = link_via(pair, relay, {.seed = 3, .up = 4'000'000, .down = 4'000'000}, timeouts::kBulk);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  CHECK(r.ok());
  CHECK(s.duplicated > 0);
  CHECK(s.reordered > 0);
}

TEST_CASE("reordering alone: every byte arrives once, in order", "[impairment][reorder]") {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), random_impairment(0, 0, 0.03, 8));
  auto r = link_via(pair, relay, {.seed = 5, .up = 4'000'000, .down = 4'000'000}, timeouts::kBulk);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  CHECK(r.ok());
  CHECK(s.reordered > 0);
  CHECK(s.duplicated + s.dropped() == 0);
}

TEST_CASE("duplication alone: every byte arrives once, in order", "[impairment][reorder]") {
  BridgePair pair;
  UdpRelay relay(pair.bridge(), random_impairment(0, 0.03, 0, 9));
  auto r = link_via(pair, relay, {.seed = 6, .up = 4'000'000, .down = 4'000'000}, timeouts::kBulk);
  auto s = relay.stats();
  INFO(r.describe());
  INFO(relay_summary(s));
  INFO(pair.describe());
  CHECK(r.ok());
  CHECK(s.duplicated > 0);
  CHECK(s.reordered + s.dropped() == 0);
}
