// A UDP endpoint (IPv4 or IPv6 address and port): the "from" and "to" of every datagram.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hoplink {

class PeerAddress {
 public:
  enum class Family : std::uint8_t { none, v4, v6 };

  PeerAddress() = default;
  static PeerAddress v4(std::array<std::uint8_t, 4> address, std::uint16_t port);
  static PeerAddress v6(std::array<std::uint8_t, 16> address, std::uint16_t port);

  // "1.2.3.4:5678" or "[::1]:5678"; nullopt for anything else (no host names).
  static std::optional<PeerAddress> parse(std::string_view text);
  static std::optional<PeerAddress> from_sockaddr(const sockaddr* address, socklen_t length);

  // Writes a sockaddr_in / sockaddr_in6 and returns its length (0 for Family::none).
  socklen_t to_sockaddr(sockaddr_storage& out) const;

  Family family() const { return family_; }
  std::uint16_t port() const { return port_; }
  PeerAddress with_port(std::uint16_t port) const;
  // 4 bytes for v4, 16 for v6, empty for none; network order.
  std::span<const std::uint8_t> address_bytes() const;
  bool is_unspecified() const;  // 0.0.0.0 or ::

  // "1.2.3.4:5678" / "[::1]:5678"; "" for none.
  std::string to_string() const;
  // The address without the port: "1.2.3.4" / "::1".
  std::string host_string() const;

  friend bool operator==(const PeerAddress&, const PeerAddress&) = default;
  friend auto operator<=>(const PeerAddress&, const PeerAddress&) = default;

 private:
  Family family_ = Family::none;
  std::uint16_t port_ = 0;
  std::array<std::uint8_t, 16> address_{};
};

struct PeerAddressHash {
  std::size_t operator()(const PeerAddress& address) const noexcept;
};

}  // namespace hoplink
