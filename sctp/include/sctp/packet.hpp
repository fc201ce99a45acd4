// Byte layout of SCTP packets (RFC 9260 3), for code that looks at a packet before the stack does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hoplink::sctp {

// Common header (RFC 9260 3.1), in bits: source port 16, destination port 16, verification tag 32,
// checksum 32.
inline constexpr std::size_t kCommonHeaderBytes = 12;
// Fixed part of an INIT chunk (RFC 9260 3.3.2), in bits: type 8, flags 8, length 16, initiate tag 32,
// a_rwnd 32, outbound streams 16, inbound streams 16, initial TSN 32. Optional parameters follow.
inline constexpr std::size_t kInitChunkFixedBytes = 20;
inline constexpr std::uint8_t kChunkTypeInit = 1;

// True when `packet` holds a common header and a whole fixed INIT chunk, and its first chunk's type is INIT:
// the only packet that may start an association, so the one a listener may create state for. Nothing else is
// checked (not the checksum: see sctp_checksum_valid; not the verification tag, nor the chunk length field).
bool is_init_packet(std::span<const std::byte> packet);

}  // namespace hoplink::sctp
