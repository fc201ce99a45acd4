// Payloads the dpdk_io tests send and check, shared by the tests of every backend.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <span>
#include <string_view>
#include <vector>

#include "common/peer_address.hpp"

namespace hoplink::dio::test {

// A received datagram copied out of the backend's buffers.
struct Copied {
  PeerAddress from;
  std::vector<std::byte> payload;
};

inline std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  if (!text.empty()) std::memcpy(bytes.data(), text.data(), text.size());  // data() of an empty vector: null
  return bytes;
}

// `size` bytes (at least 4) starting with `sequence` (little endian), then a pattern derived from it, so that
// a wrong, shifted or torn payload is caught by payload_matches().
inline std::vector<std::byte> numbered(std::uint32_t sequence, std::size_t size) {
  std::vector<std::byte> bytes(std::max<std::size_t>(size, 4));
  std::memcpy(bytes.data(), &sequence, 4);
  for (std::size_t i = 4; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>((sequence * 31 + i) & 0xff);
  return bytes;
}

inline std::uint32_t sequence_of(std::span<const std::byte> payload) {
  std::uint32_t sequence = std::numeric_limits<std::uint32_t>::max();
  if (payload.size() >= 4) std::memcpy(&sequence, payload.data(), 4);
  return sequence;
}

inline bool payload_matches(std::span<const std::byte> payload, std::size_t size) {
  const auto expected = numbered(sequence_of(payload), size);
  return payload.size() == expected.size() && std::memcmp(payload.data(), expected.data(), size) == 0;
}

}  // namespace hoplink::dio::test
