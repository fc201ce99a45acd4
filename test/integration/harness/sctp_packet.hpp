// Just enough SCTP (RFC 9260) framing to send hand-made packets at a bridge and look at what comes back:
// common header, chunks, CRC32c.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace hoplink::itest {

enum SctpChunkType : std::uint8_t {
  kSctpData = 0,
  kSctpInit = 1,
  kSctpInitAck = 2,
  kSctpAbort = 6,
  kSctpCookieEcho = 10,
};

std::uint32_t crc32c(std::span<const std::uint8_t> bytes);

struct SctpChunk {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::vector<std::uint8_t> value;  // without the 4-byte chunk header
};

// A packet with a correct CRC32c (or a deliberately wrong one).
std::vector<std::uint8_t> sctp_packet(std::uint16_t src_port, std::uint16_t dst_port, std::uint32_t vtag,
                                      const std::vector<SctpChunk>& chunks, bool corrupt_crc = false);
// An INIT chunk with the given initiate tag. With `packet_size`, an RFC 4820 Padding Parameter makes the
// whole packet (common header included) at least that long, as hoplink clients pad their INITs.
SctpChunk sctp_init_chunk(std::uint32_t initiate_tag, std::size_t packet_size = 0);

struct SctpPacket {
  std::uint16_t src_port = 0, dst_port = 0;
  std::uint32_t vtag = 0;
  bool crc_ok = false;
  std::vector<SctpChunk> chunks;
};
// nullopt if shorter than a common header or a chunk runs past the end.
std::optional<SctpPacket> parse_sctp_packet(std::span<const std::uint8_t> bytes);

}  // namespace hoplink::itest
