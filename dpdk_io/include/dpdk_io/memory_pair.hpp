// An in-memory pair of DatagramIo endpoints, for tests: what one enqueues and flushes, the other receives.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <utility>

#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

struct MemoryPairConfig {
  PeerAddress a = PeerAddress::v4({10, 0, 0, 1}, 1000);
  PeerAddress b = PeerAddress::v4({10, 0, 0, 2}, 2000);
  std::size_t capacity = 1024;     // datagrams in flight per direction; beyond it a flush reports would_block
  std::size_t max_payload = 2048;
  // Called for every flushed datagram; return false to lose it (impairment in tests).
  std::function<bool(const PeerAddress& from, std::span<const std::byte> payload)> deliver;
};

std::pair<std::unique_ptr<DatagramIo>, std::unique_ptr<DatagramIo>> make_memory_pair(
    const MemoryPairConfig& config = {});

}  // namespace hoplink::dio
