// TCP's half-close through real hoplink processes over kernel UDP on loopback: one side shuts down its
// sending side once it has written, while the other is still sending; both directions must arrive whole
// (issue 9: one direction used to arrive short, with both sides saying REASON=orderly). The DPDK backend runs
// the same links in test/netns/dpdk_half_close_test.cpp.
#include <catch2/catch.hpp>

#include "bridge_pair.hpp"
#include "half_close_link.hpp"
#include "socks_client.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;

namespace {

// The side that ends first alternates; it sends less (4 MB against 12 MB), so most of the other direction is
// still to come when its FIN arrives.
void half_close_repeated(const std::string& transport) {
  BridgePair pair(over(transport));
  constexpr std::uint64_t kLess = 4'000'000;
  constexpr std::uint64_t kMore = 12'000'000;
  constexpr std::uint64_t kRuns = 4;
  for (std::uint64_t seed = 1; seed <= kRuns; ++seed) {
    const auto first = seed % 2 == 1 ? FirstToEnd::client : FirstToEnd::bridge;
    const bool client_first = first == FirstToEnd::client;
    const HalfCloseSpec spec{{seed, client_first ? kLess : kMore, client_first ? kMore : kLess}, first};
    std::string socks_text;
    const auto connect = [&](Deadline deadline) {
      auto socks = socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline);
      socks_text = socks.describe();
      return socks.connected() ? std::move(socks.fd) : Fd{};
    };
    const auto r = run_half_close_link(*pair.tor, connect, spec, timeouts::kSmallLink);
    INFO(socks_text);
    INFO(r.describe());
    CHECK(r.ok());
  }
  // Each side's link reports its close; every one in order.
  CHECK(orderly_close_problems(pair.client_process(), kRuns, timeouts::kLogLine) == "");
  CHECK(orderly_close_problems(pair.server_process(), kRuns, timeouts::kLogLine) == "");
}

}  // namespace

TEST_CASE("sctp: either side half-closes after writing and both directions arrive whole",
          "[transfer][half_close]") {
  half_close_repeated("sctp");
}

TEST_CASE("dtls: either side half-closes after writing and both directions arrive whole",
          "[transfer][half_close][dtls]") {
  half_close_repeated("dtls");
}
