#include "sctp/packet.hpp"

namespace hoplink::sctp {

bool is_init_packet(std::span<const std::byte> packet) {
  return packet.size() >= kCommonHeaderBytes + kInitChunkFixedBytes &&
         std::to_integer<std::uint8_t>(packet[kCommonHeaderBytes]) == kChunkTypeInit;
}

}  // namespace hoplink::sctp
