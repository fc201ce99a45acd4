// SCTP packet bytes for the harnesses that steer fuzzed packets onto real associations: big-endian fields,
// the CRC32c, the INIT a client opens with and what an INIT-ACK hands back (its tag and state cookie).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "sctp/crc32c.hpp"

namespace hoplink::fuzz {

using Bytes = std::vector<std::byte>;

inline constexpr std::size_t kSctpCommonHeader = 12;

inline std::uint16_t load16(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(bytes[offset]) << 8) |
                                    std::to_integer<unsigned>(bytes[offset + 1]));
}
inline std::uint32_t load32(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint32_t>(load16(bytes, offset)) << 16 | load16(bytes, offset + 2);
}
inline void store16(Bytes& bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::byte>(value >> 8);
  bytes[offset + 1] = static_cast<std::byte>(value);
}
inline void store32(Bytes& bytes, std::size_t offset, std::uint32_t value) {
  store16(bytes, offset, static_cast<std::uint16_t>(value >> 16));
  store16(bytes, offset + 2, static_cast<std::uint16_t>(value));
}

// RFC 4960 appendix B: CRC32c over the packet with a zero checksum field, stored least significant byte
// first (as sctp/ verifies it).
inline void fill_checksum(Bytes& packet) {
  if (packet.size() < kSctpCommonHeader) return;
  std::memset(packet.data() + 8, 0, 4);
  const std::uint32_t crc = sctp::crc32c(packet);
  for (std::size_t i = 0; i < 4; ++i) packet[8 + i] = static_cast<std::byte>(crc >> (8 * i));
}

// What an INIT-ACK (the first chunk, type 2) tells the side that sent the INIT: the tag its next packets
// carry (the initiate tag), the ports, and the state cookie (parameter 7) to echo.
struct InitAck {
  std::uint16_t source_port = 0;       // the listener's port
  std::uint16_t destination_port = 0;  // the INIT's source port
  std::uint32_t initiate_tag = 0;
  Bytes cookie;
};

inline std::optional<InitAck> parse_init_ack(std::span<const std::byte> packet) {
  constexpr std::size_t kFixed = 20;  // chunk header, initiate tag, a_rwnd, streams, initial TSN
  if (packet.size() < kSctpCommonHeader + kFixed || packet[kSctpCommonHeader] != std::byte{2}) return {};
  const auto chunk = packet.subspan(kSctpCommonHeader);
  const std::size_t chunk_length = std::min<std::size_t>(load16(chunk, 2), chunk.size());
  InitAck ack{load16(packet, 0), load16(packet, 2), load32(chunk, 4), {}};
  for (std::size_t offset = kFixed; offset + 4 <= chunk_length;) {
    const std::uint16_t type = load16(chunk, offset);
    const std::size_t length = load16(chunk, offset + 2);
    if (length < 4 || offset + length > chunk_length) break;
    if (type == 7) {
      ack.cookie.assign(chunk.begin() + static_cast<std::ptrdiff_t>(offset + 4),
                        chunk.begin() + static_cast<std::ptrdiff_t>(offset + length));
      return ack;
    }
    offset += (length + 3) & ~std::size_t{3};
  }
  return {};
}

// A well-formed INIT (one stream each way), padded with an RFC 4820 PAD parameter to at least `padded_to`
// bytes: a bridge may refuse shorter INITs from addresses it does not know (no amplification).
inline Bytes make_init(std::uint16_t source_port, std::uint16_t destination_port, std::uint32_t tag,
                       std::size_t padded_to = 0) {
  constexpr std::size_t kFixed = 20;
  std::size_t pad = 0;
  if (padded_to > kSctpCommonHeader + kFixed) {
    pad = std::max<std::size_t>(padded_to - kSctpCommonHeader - kFixed, 4);
    pad = (pad + 3) & ~std::size_t{3};
  }
  Bytes init(kSctpCommonHeader + kFixed + pad);
  store16(init, 0, source_port);
  store16(init, 2, destination_port);
  init[kSctpCommonHeader] = std::byte{1};
  store16(init, kSctpCommonHeader + 2, static_cast<std::uint16_t>(kFixed + pad));
  store32(init, kSctpCommonHeader + 4, tag);
  store32(init, kSctpCommonHeader + 8, 1 << 20);  // a_rwnd
  store16(init, kSctpCommonHeader + 12, 1);       // outbound streams
  store16(init, kSctpCommonHeader + 14, 1);       // inbound streams
  store32(init, kSctpCommonHeader + 16, 1);       // initial TSN
  if (pad > 0) {
    store16(init, kSctpCommonHeader + kFixed, 0x8005);  // PAD: skipped by whoever does not know it
    store16(init, kSctpCommonHeader + kFixed + 2, static_cast<std::uint16_t>(pad));
  }
  fill_checksum(init);
  return init;
}

// A COOKIE-ECHO chunk carrying `cookie`, padded to a multiple of 4.
inline Bytes cookie_echo_chunk(std::span<const std::byte> cookie) {
  const std::size_t length = 4 + cookie.size();
  Bytes chunk((length + 3) & ~std::size_t{3});
  chunk[0] = std::byte{10};
  store16(chunk, 2, static_cast<std::uint16_t>(length));
  std::copy(cookie.begin(), cookie.end(), chunk.begin() + 4);
  return chunk;
}

}  // namespace hoplink::fuzz
