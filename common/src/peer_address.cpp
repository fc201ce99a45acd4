#include "common/peer_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <functional>

namespace hoplink {

PeerAddress PeerAddress::v4(std::array<std::uint8_t, 4> address, std::uint16_t port) {
  PeerAddress result;
  result.family_ = Family::v4;
  result.port_ = port;
  std::memcpy(result.address_.data(), address.data(), address.size());
  return result;
}

PeerAddress PeerAddress::v6(std::array<std::uint8_t, 16> address, std::uint16_t port) {
  PeerAddress result;
  result.family_ = Family::v6;
  result.port_ = port;
  result.address_ = address;
  return result;
}

namespace {

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::optional<PeerAddress> PeerAddress::parse(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto host = text.substr(0, colon);
  const auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  // inet_pton needs a NUL-terminated string; a literal address is at most 45 characters.
  char buffer[64];
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
    if (host.size() >= sizeof buffer) return std::nullopt;
    std::memcpy(buffer, host.data(), host.size());
    buffer[host.size()] = '\0';
    std::array<std::uint8_t, 16> bytes{};
    if (inet_pton(AF_INET6, buffer, bytes.data()) != 1) return std::nullopt;
    return v6(bytes, *port);
  }
  if (host.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, host.data(), host.size());
  buffer[host.size()] = '\0';
  std::array<std::uint8_t, 4> bytes{};
  if (inet_pton(AF_INET, buffer, bytes.data()) != 1) return std::nullopt;
  return v4(bytes, *port);
}

std::optional<PeerAddress> PeerAddress::from_sockaddr(const sockaddr* address, socklen_t length) {
  if (address == nullptr) return std::nullopt;
  if (address->sa_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in in;
    std::memcpy(&in, address, sizeof in);
    std::array<std::uint8_t, 4> bytes;
    std::memcpy(bytes.data(), &in.sin_addr, 4);
    return v4(bytes, ntohs(in.sin_port));
  }
  if (address->sa_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 in6;
    std::memcpy(&in6, address, sizeof in6);
    std::array<std::uint8_t, 16> bytes;
    std::memcpy(bytes.data(), &in6.sin6_addr, 16);
    return v6(bytes, ntohs(in6.sin6_port));
  }
  return std::nullopt;
}

socklen_t PeerAddress::to_sockaddr(sockaddr_storage& out) const {
  std::memset(&out, 0, sizeof out);
  if (family_ == Family::v4) {
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port_);
    std::memcpy(&in.sin_addr, address_.data(), 4);
    std::memcpy(&out, &in, sizeof in);
    return sizeof in;
  }
  if (family_ == Family::v6) {
    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_port = htons(port_);
    std::memcpy(&in6.sin6_addr, address_.data(), 16);
    std::memcpy(&out, &in6, sizeof in6);
    return sizeof in6;
  }
  return 0;
}

PeerAddress PeerAddress::with_port(std::uint16_t port) const {
  PeerAddress copy = *this;
  copy.port_ = port;
  return copy;
}

std::span<const std::uint8_t> PeerAddress::address_bytes() const {
  switch (family_) {
    case Family::v4:
      return {address_.data(), 4};
    case Family::v6:
      return {address_.data(), 16};
    case Family::none:
      break;
  }
  return {};
}

bool PeerAddress::is_unspecified() const {
  for (auto byte : address_bytes()) {
    if (byte != 0) return false;
  }
  return family_ != Family::none;
}

std::string PeerAddress::host_string() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  if (family_ == Family::v4) {
    inet_ntop(AF_INET, address_.data(), buffer, sizeof buffer);
  } else if (family_ == Family::v6) {
    inet_ntop(AF_INET6, address_.data(), buffer, sizeof buffer);
  }
  return buffer;
}

std::string PeerAddress::to_string() const {
  if (family_ == Family::none) return {};
  const auto host = host_string();
  const auto port = std::to_string(port_);
  return family_ == Family::v6 ? "[" + host + "]:" + port : host + ":" + port;
}

std::size_t PeerAddressHash::operator()(const PeerAddress& address) const noexcept {
  // FNV-1a over family, port and address bytes: cheap and good enough for a per-peer map.
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  auto mix = [&hash](std::uint8_t byte) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  };
  mix(static_cast<std::uint8_t>(address.family()));
  mix(static_cast<std::uint8_t>(address.port() >> 8));
  mix(static_cast<std::uint8_t>(address.port() & 0xff));
  for (auto byte : address.address_bytes()) mix(byte);
  return static_cast<std::size_t>(hash);
}

}  // namespace hoplink
