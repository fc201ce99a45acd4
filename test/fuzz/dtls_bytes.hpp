// DTLS 1.2 handshake bytes for the harnesses that get fuzzed ClientHellos past a stateless cookie exchange:
// the cookie of a HelloVerifyRequest, spliced into a ClientHello.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace hoplink::fuzz {

// DTLS 1.2 ClientHello layout (RFC 6347 4.2.1, 4.3.2): 13-byte record header (length at 11), 12-byte
// handshake header (length at 14, fragment length at 22), then version, 32-byte random, session id, cookie.
inline constexpr std::size_t kRecordHeader = 13;
inline constexpr std::size_t kHandshakeHeader = 12;
inline constexpr std::size_t kHelloBody = kRecordHeader + kHandshakeHeader;

inline void add_to_field(std::vector<std::byte>& bytes, std::size_t offset, std::size_t width,
                         std::ptrdiff_t delta) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < width; ++i)
    value = value << 8 | std::to_integer<std::uint32_t>(bytes[offset + i]);
  value = static_cast<std::uint32_t>(static_cast<std::int64_t>(value) + delta);
  for (std::size_t i = 0; i < width; ++i)
    bytes[offset + width - 1 - i] = static_cast<std::byte>(value >> (8 * i));
}

// The cookie of a HelloVerifyRequest (server_version, then cookie<0..255>), if `reply` is one.
inline std::optional<std::vector<std::byte>> hello_verify_cookie(const std::vector<std::byte>& reply) {
  if (reply.size() < kHelloBody + 3 || reply[0] != std::byte{22} || reply[kRecordHeader] != std::byte{3})
    return std::nullopt;
  const std::size_t length = std::to_integer<std::size_t>(reply[kHelloBody + 2]);
  if (kHelloBody + 3 + length > reply.size()) return std::nullopt;
  return std::vector<std::byte>(reply.begin() + kHelloBody + 3,
                                reply.begin() + static_cast<std::ptrdiff_t>(kHelloBody + 3 + length));
}

// Replaces the cookie of a ClientHello in the first record, fixing the three length fields by the difference.
inline std::optional<std::vector<std::byte>> with_cookie(const std::vector<std::byte>& hello,
                                                         const std::vector<std::byte>& cookie) {
  const std::size_t session_id = kHelloBody + 2 + 32;
  if (hello.size() <= session_id) return std::nullopt;
  const std::size_t cookie_offset = session_id + 1 + std::to_integer<std::size_t>(hello[session_id]);
  if (cookie_offset >= hello.size()) return std::nullopt;
  const std::size_t old_length = std::to_integer<std::size_t>(hello[cookie_offset]);
  if (cookie_offset + 1 + old_length > hello.size()) return std::nullopt;
  std::vector<std::byte> out(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(cookie_offset));
  out.push_back(static_cast<std::byte>(cookie.size()));
  out.insert(out.end(), cookie.begin(), cookie.end());
  out.insert(out.end(), hello.begin() + static_cast<std::ptrdiff_t>(cookie_offset + 1 + old_length),
             hello.end());
  const auto delta = static_cast<std::ptrdiff_t>(cookie.size()) - static_cast<std::ptrdiff_t>(old_length);
  add_to_field(out, 11, 2, delta);
  add_to_field(out, kRecordHeader + 1, 3, delta);
  add_to_field(out, kRecordHeader + 9, 3, delta);
  return out;
}

}  // namespace hoplink::fuzz
