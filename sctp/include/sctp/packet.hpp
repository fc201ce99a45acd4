// Byte layout of SCTP packets (RFC 9260 3), for code that looks at a packet before the stack does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hoplink::sctp {

// Common header (RFC 9260 3.1), in bits: source port 16, destination port 16, verification tag 32,
// checksum 32.
inline constexpr std::size_t kCommonHeaderBytes = 12;
// Fixed part of an INIT chunk (RFC 9260 3.3.2), in bits: type 8, flags 8, length 16, initiate tag 32,
// a_rwnd 32, outbound streams 16, inbound streams 16, initial TSN 32. Optional parameters follow.
inline constexpr std::size_t kInitChunkFixedBytes = 20;
inline constexpr std::uint8_t kChunkTypeInit = 1;
inline constexpr std::uint8_t kChunkTypeCookieEcho = 10;
inline constexpr std::uint8_t kChunkTypeCookieAck = 11;
// RFC 4820's Padding Parameter. The top bits of its type (10) tell an endpoint that does not know it to skip
// it without a report, so a padded INIT is still a valid INIT for any SCTP stack.
inline constexpr std::uint16_t kPadParameterType = 0x8005;

// True when `packet` holds a common header and a whole fixed INIT chunk, and its first chunk's type is INIT:
// the only packet that may start an association, so the one a listener may create state for. Nothing else is
// checked (not the checksum: see sctp_checksum_valid; not the verification tag, nor the chunk length field).
bool is_init_packet(std::span<const std::byte> packet);

// True when the first chunk is a COOKIE ECHO (RFC 9260 3.3.11): the packet that completes a handshake.
bool is_cookie_echo_packet(std::span<const std::byte> packet);
// True when a well-formed chunk of `type` is in the packet (chunks are walked by their length fields; a
// malformed chain ends the walk).
bool contains_chunk(std::span<const std::byte> packet, std::uint8_t type);

// Anti-amplification (hoplink's sctp transport): a listener answers an INIT from an address it has not
// validated only with as many bytes as the INIT carried, so a client pads its INIT to more than the INIT ACK
// it will get, and the listener strips the padding before its stack sees the INIT (the state cookie in the
// INIT ACK holds a copy of the INIT: padding left in would grow the answer with the question).
//
// A copy of a lone INIT chunk's packet grown to at least `size` bytes by one Padding Parameter at the end of
// the chunk, its checksum refilled when `crc32c`. Anything else, or an INIT already that large, is copied
// unchanged.
std::vector<std::byte> pad_init(std::span<const std::byte> packet, std::size_t size, bool crc32c);
// Removes every Padding Parameter from a lone INIT chunk in place, refills the checksum when `crc32c`, and
// returns the packet's new size. A packet that is not a well-formed lone INIT keeps its size and bytes (the
// stack judges it).
std::size_t strip_init_padding(std::span<std::byte> packet, bool crc32c);

}  // namespace hoplink::sctp
