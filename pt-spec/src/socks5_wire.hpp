// SOCKS5 field values (RFC 1928, RFC 1929) shared by the server tor talks to and the UDP ASSOCIATE client.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "byte_reader.hpp"
#include "common/peer_address.hpp"

namespace hoplink::pt::detail::socks5 {

constexpr std::uint8_t kVersion = 0x05;
constexpr std::uint8_t kAuthVersion = 0x01;  // RFC 1929 sub-negotiation
constexpr std::uint8_t kMethodNoAuth = 0x00;
constexpr std::uint8_t kMethodUserPass = 0x02;
constexpr std::uint8_t kNoAcceptableMethod = 0xff;
constexpr std::uint8_t kCommandConnect = 0x01;
constexpr std::uint8_t kCommandUdpAssociate = 0x03;
constexpr std::uint8_t kAtypIpv4 = 0x01;
constexpr std::uint8_t kAtypDomain = 0x03;
constexpr std::uint8_t kAtypIpv6 = 0x04;

// ADDR and PORT after an ATYP of kAtypIpv4 or kAtypIpv6 (the caller has checked it); nullopt: need more.
inline std::optional<PeerAddress> read_ip_and_port(ByteReader& reader, std::uint8_t atyp) {
  const auto address = reader.bytes(atyp == kAtypIpv4 ? 4 : 16);
  const auto port = address ? reader.u16() : std::nullopt;
  if (!port) return std::nullopt;
  if (atyp == kAtypIpv4) {
    std::array<std::uint8_t, 4> bytes;
    std::transform(address->begin(), address->end(), bytes.begin(), std::to_integer<std::uint8_t>);
    return PeerAddress::v4(bytes, *port);
  }
  std::array<std::uint8_t, 16> bytes;
  std::transform(address->begin(), address->end(), bytes.begin(), std::to_integer<std::uint8_t>);
  return PeerAddress::v6(bytes, *port);
}

}  // namespace hoplink::pt::detail::socks5
