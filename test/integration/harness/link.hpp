// One tor connection carried end to end: SOCKS CONNECT through the hoplink client to the bridge, the pump
// protocol over it, and the fake tor's view of the same connection on the bridge side.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "byte_stream.hpp"
#include "fake_tor.hpp"
#include "socks_client.hpp"

namespace hoplink::itest {

struct LinkSpec {
  std::uint64_t seed = 1;  // unique per link: the fake tor finds its side of the link by it
  std::uint64_t up = 0;    // client -> bridge bytes
  std::uint64_t down = 0;  // bridge -> client bytes
};

struct LinkResult {
  std::optional<SocksOutcome> socks;   // absent when the link did not go through SOCKS
  PumpResult pump;                     // the client side
  std::optional<OrConnRecord> bridge;  // the fake tor side
  std::string error;
  bool ok() const;
  std::string describe() const;
};

// SOCKS CONNECT to `bridge`, then run_pump_link on the stream.
LinkResult run_socks_link(std::uint16_t socks_port, const Endpoint& bridge, const KeyValues& args,
                          const FakeTor& tor, LinkSpec spec, std::chrono::milliseconds timeout);
// Pump protocol on an already connected stream; waits for the fake tor to report its side, then closes.
LinkResult run_pump_link(Fd fd, const FakeTor& tor, LinkSpec spec, std::chrono::milliseconds timeout);

// `count` run_socks_link calls at once, seeds first_seed, first_seed+1, ...
std::vector<LinkResult> run_socks_links_parallel(std::size_t count, std::uint16_t socks_port,
                                                 const Endpoint& bridge, const KeyValues& args,
                                                 const FakeTor& tor, std::uint64_t first_seed,
                                                 std::uint64_t up, std::uint64_t down,
                                                 std::chrono::milliseconds timeout);

}  // namespace hoplink::itest
