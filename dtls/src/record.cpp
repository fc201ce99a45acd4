#include "dtls/record.hpp"

#include <cstdint>

namespace hoplink::dtls {
namespace {

// Record header bytes: 0 content type, 1-2 version, 3-4 epoch, 5-10 sequence number, 11-12 length.
constexpr std::uint8_t kContentTypeHandshake = 22;
constexpr std::size_t kEpochOffset = 3;

}  // namespace

bool is_epoch0_handshake_record(std::span<const std::byte> datagram) {
  return datagram.size() >= kRecordHeaderBytes &&
         std::to_integer<std::uint8_t>(datagram[0]) == kContentTypeHandshake &&
         datagram[kEpochOffset] == std::byte{0} && datagram[kEpochOffset + 1] == std::byte{0};
}

}  // namespace hoplink::dtls
