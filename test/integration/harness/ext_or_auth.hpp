// Tor's side of Extended ORPort SAFE_COOKIE authentication: the cookie file and the two HMACs
// (HMAC-SHA256 via OpenSSL), written from the spec independently of hoplink's pt-spec.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>

namespace hoplink::itest {

using Bytes32 = std::array<std::uint8_t, 32>;

Bytes32 ext_or_server_hash(const Bytes32& cookie, const Bytes32& client_nonce, const Bytes32& server_nonce);
Bytes32 ext_or_client_hash(const Bytes32& cookie, const Bytes32& client_nonce, const Bytes32& server_nonce);
Bytes32 random_bytes32();

// Writes the 64-byte cookie file: "! Extended ORPort Auth Cookie !\n" then the cookie (mode 0600).
void write_cookie_file(const std::filesystem::path& path, const Bytes32& cookie);

// ExtORPort command codes.
enum ExtOrCommand : std::uint16_t {
  kExtOrDone = 0x0000,
  kExtOrUserAddr = 0x0001,
  kExtOrTransport = 0x0002,
  kExtOrOkay = 0x1000,
  kExtOrDeny = 0x1001,
};

}  // namespace hoplink::itest
