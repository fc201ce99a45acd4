#include "sctp/packet.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "sctp/crc32c.hpp"

namespace hoplink::sctp {
namespace {

constexpr std::size_t kChunkHeaderBytes = 4;
constexpr std::size_t kParameterHeaderBytes = 4;

std::uint16_t read16(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(bytes[offset]) << 8) |
                                    std::to_integer<unsigned>(bytes[offset + 1]));
}

void write16(std::span<std::byte> bytes, std::size_t offset, std::size_t value) {
  bytes[offset] = static_cast<std::byte>((value >> 8) & 0xff);
  bytes[offset + 1] = static_cast<std::byte>(value & 0xff);
}

constexpr std::size_t round4(std::size_t n) {
  return (n + 3) & ~std::size_t{3};
}

// The INIT chunk's length field when `packet` is one INIT chunk and nothing else (RFC 9260 6.10: INIT is
// never bundled), its length consistent with the packet's size.
std::optional<std::size_t> lone_init_length(std::span<const std::byte> packet) {
  if (!is_init_packet(packet)) return std::nullopt;
  const std::size_t length = read16(packet, kCommonHeaderBytes + 2);
  if (length < kInitChunkFixedBytes) return std::nullopt;
  const std::size_t end = kCommonHeaderBytes + length;
  if (end > packet.size() || packet.size() > kCommonHeaderBytes + round4(length)) return std::nullopt;
  return length;
}

}  // namespace

bool is_init_packet(std::span<const std::byte> packet) {
  return packet.size() >= kCommonHeaderBytes + kInitChunkFixedBytes &&
         std::to_integer<std::uint8_t>(packet[kCommonHeaderBytes]) == kChunkTypeInit;
}

bool is_cookie_echo_packet(std::span<const std::byte> packet) {
  return packet.size() >= kCommonHeaderBytes + kChunkHeaderBytes &&
         std::to_integer<std::uint8_t>(packet[kCommonHeaderBytes]) == kChunkTypeCookieEcho;
}

bool contains_chunk(std::span<const std::byte> packet, std::uint8_t type) {
  std::size_t offset = kCommonHeaderBytes;
  while (offset + kChunkHeaderBytes <= packet.size()) {
    const std::size_t length = read16(packet, offset + 2);
    if (length < kChunkHeaderBytes || offset + length > packet.size()) return false;
    if (std::to_integer<std::uint8_t>(packet[offset]) == type) return true;
    offset += round4(length);
  }
  return false;
}

std::vector<std::byte> pad_init(std::span<const std::byte> packet, std::size_t size, bool crc32c) {
  std::vector<std::byte> out(packet.begin(), packet.end());
  const auto length = lone_init_length(packet);
  if (!length || packet.size() >= size) return out;
  const std::size_t start = kCommonHeaderBytes + round4(*length);
  const std::size_t parameter = std::max(kParameterHeaderBytes, round4(size - std::min(size, start)));
  const std::size_t chunk_length = round4(*length) + parameter;
  if (chunk_length > 0xffff) return out;
  out.resize(start + parameter, std::byte{0});  // the chunk's own padding, then the parameter's zero bytes
  write16(out, start, kPadParameterType);
  write16(out, start + 2, parameter);
  write16(out, kCommonHeaderBytes + 2, chunk_length);
  if (crc32c) sctp_fill_checksum(out);
  return out;
}

std::size_t strip_init_padding(std::span<std::byte> packet, bool crc32c) {
  const auto length = lone_init_length(packet);
  if (!length) return packet.size();
  const std::size_t end = kCommonHeaderBytes + *length;
  // First check the whole parameter chain, so that a malformed one is left exactly as it came.
  bool found = false;
  for (std::size_t at = kCommonHeaderBytes + kInitChunkFixedBytes; at < end;) {
    if (at + kParameterHeaderBytes > end) return packet.size();
    const std::size_t parameter = read16(packet, at + 2);
    if (parameter < kParameterHeaderBytes || at + parameter > end) return packet.size();
    found = found || read16(packet, at) == kPadParameterType;
    at += round4(parameter);
  }
  if (!found) return packet.size();
  std::size_t write = kCommonHeaderBytes + kInitChunkFixedBytes;
  std::size_t chunk_end = write;  // the last kept parameter's end, without its padding (RFC 9260 3.2)
  for (std::size_t at = write; at < end;) {
    const std::size_t parameter = read16(packet, at + 2);
    const std::size_t padded = std::min(round4(parameter), end - at);
    if (read16(packet, at) != kPadParameterType) {
      std::memmove(packet.data() + write, packet.data() + at, padded);
      chunk_end = write + parameter;
      write += round4(parameter);
    }
    at += round4(parameter);
  }
  write16(packet, kCommonHeaderBytes + 2, chunk_end - kCommonHeaderBytes);
  const std::size_t size = kCommonHeaderBytes + round4(chunk_end - kCommonHeaderBytes);
  std::fill(packet.begin() + static_cast<std::ptrdiff_t>(chunk_end),
            packet.begin() + static_cast<std::ptrdiff_t>(size), std::byte{0});
  if (crc32c) sctp_fill_checksum(packet.first(size));
  return size;
}

}  // namespace hoplink::sctp
