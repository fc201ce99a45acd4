// One SCTP association through a simulated bottleneck, on simulated time: real usrsctp (hoplink's patched
// build, its clock injected through StackConfig::clock) on both ends in one process, packets carried by an
// event queue with a rate-limited drop-tail queue, a fixed one-way delay and random loss. Thirty simulated
// seconds at 200 Mbit/s take a few seconds of wall time, the same every run (seeded loss).
//
// usrsctp is process-global: one PathSim at a time, and each needs a process whose usrsctp is free.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "sctp/stack.hpp"

namespace hoplink::sctp::test {

struct PathConfig {
  double rate_bits_per_s = 200e6;  // the bottleneck, client -> server
  std::chrono::microseconds one_way_delay{25000};
  std::uint64_t queue_bytes = 1'250'000;  // drop-tail queue before the bottleneck
  double loss = 0.0;                      // random loss, each direction
  std::uint64_t burst_after = 0;          // then this many packets in a row lost towards the server:
  std::uint64_t burst_count = 0;          // a queue overflowing somewhere, once
  // Everything towards the server lost during [blackout_start, +blackout) after the transfer starts:
  // long enough for a T3-rtx timeout.
  std::chrono::milliseconds blackout_start{0};
  std::chrono::milliseconds blackout{0};
  std::uint32_t seed = 1;
  std::size_t mtu = 1200;
  std::size_t buffer = 256u << 10;     // send buffer and receive window at the start
  std::size_t max_window = 16u << 20;  // up to which they grow (AssociationConfig::max_window)
};

struct PathResult {
  std::uint64_t bytes_delivered = 0;  // read by the server application
  double goodput_bits_per_s = 0;
  AssociationStats client;  // the sender's path at the end
  AssociationStats server;  // the receiver's
  std::uint64_t packets_dropped_queue = 0;
  std::uint64_t packets_dropped_loss = 0;
  std::chrono::microseconds mean_queue_delay{0};
};

// Bulk client -> server for `duration` of simulated time (after the association is up).
PathResult run_bulk(CongestionControl cc, const PathConfig& path, std::chrono::seconds duration);

}  // namespace hoplink::sctp::test
