// CRC32c (Castagnoli), as SCTP's checksum (RFC 4960 appendix B / RFC 3309).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace hoplink::sctp {

// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise. Plain CRC32c of the bytes
// (initial value ~0, final xor ~0): crc32c("123456789") == 0xE3069283.
std::uint32_t crc32c(std::span<const std::byte> bytes);
// The table code alone, for tests and benchmarks.
std::uint32_t crc32c_portable(std::span<const std::byte> bytes);
bool crc32c_hardware_available();

// SCTP checksum of a whole packet: computed with the checksum field (bytes 8..11) taken as zero, and
// written there in the byte order RFC 4960 specifies.
void sctp_fill_checksum(std::span<std::byte> packet);
// True when the packet's checksum field matches. Packets shorter than 12 bytes are never valid.
bool sctp_checksum_valid(std::span<const std::byte> packet);

}  // namespace hoplink::sctp
