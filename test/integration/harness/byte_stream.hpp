// Deterministic pseudo-random byte streams and a duplex pump that sends one stream while checking another
// on the same socket, so both directions of a link are loaded at once and every byte is verified.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "net.hpp"

namespace hoplink::itest {

// Byte i of the stream with seed s is a pure function of (s, i), so any range can be produced or checked
// without keeping history.
void fill_stream(std::uint64_t seed, std::uint64_t offset, std::span<std::uint8_t> out);

struct StreamSpec {
  std::uint64_t seed = 0;
  std::uint64_t length = 0;
};

struct PumpResult {
  bool ok = false;
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::optional<std::uint64_t> mismatch_at;  // offset of the first wrong byte received
  std::string error;                         // empty when ok
  double seconds = 0;
  std::string summary() const;
};

// Sends `send` and receives exactly `expect.length` bytes that must equal stream `expect`, interleaved on
// one non-blocking socket. Stops early on a mismatch, the peer closing, the deadline, or `cancel`. With
// `half_close`, shuts down the sending side (a FIN) as soon as `send` is all written, and goes on receiving.
PumpResult duplex_pump(int fd, StreamSpec send, StreamSpec expect, Deadline deadline,
                       const std::atomic<bool>* cancel = nullptr, bool half_close = false);

// The 32 bytes a pump link starts with (client to bridge): magic, seed, up length, down length, all
// big-endian. The bridge side answers with stream `down_seed(seed)` of `down` bytes.
struct PumpHeader {
  std::uint64_t seed = 0;
  std::uint64_t up = 0;    // bytes the client sends after the header
  std::uint64_t down = 0;  // bytes the bridge sends back
  std::array<std::uint8_t, 32> serialize() const;
  static std::optional<PumpHeader> parse(std::span<const std::uint8_t, 32> bytes);
};
inline std::uint64_t down_seed(std::uint64_t seed) {
  return seed ^ 0xd0d0d0d0a5a5a5a5ull;
}

}  // namespace hoplink::itest
