#include "pt/socks5_udp.hpp"

#include <array>
#include <cstring>

#include "byte_reader.hpp"
#include "socks5_wire.hpp"

namespace hoplink::pt {
namespace {

using detail::ByteReader;
using namespace detail::socks5;

constexpr std::size_t kMaxCredential = 255;

enum Stage : std::uint8_t { greeting, authentication, associate, finished };

void push(std::vector<std::byte>& out, std::uint8_t byte) {
  out.push_back(static_cast<std::byte>(byte));
}

void push_address(std::vector<std::byte>& out, const PeerAddress& address) {
  if (address.family() == PeerAddress::Family::v6) {
    push(out, kAtypIpv6);
  } else {
    push(out, kAtypIpv4);
  }
  const auto bytes = address.address_bytes();
  if (bytes.empty()) {
    for (int i = 0; i < 4; ++i) push(out, 0);
  } else {
    for (const auto byte : bytes) push(out, byte);
  }
  detail::append_u16(out, address.port());
}

const char* reply_text(std::uint8_t reply) {
  switch (reply) {
    case 0x01:
      return "general SOCKS server failure";
    case 0x02:
      return "not allowed by ruleset";
    case 0x03:
      return "network unreachable";
    case 0x04:
      return "host unreachable";
    case 0x05:
      return "connection refused";
    case 0x06:
      return "TTL expired";
    case 0x07:
      return "command not supported (the proxy does not offer UDP ASSOCIATE)";
    case 0x08:
      return "address type not supported";
    default:
      return "unknown reply code";
  }
}

// ATYP, then the address and port. nullopt: need more bytes; Family::none: not an IP address.
std::optional<PeerAddress> read_address(ByteReader& reader, bool& bad_type) {
  const auto type = reader.u8();
  if (!type) return std::nullopt;
  if (*type == kAtypIpv4 || *type == kAtypIpv6) return read_ip_and_port(reader, *type);
  bad_type = true;
  if (*type == kAtypDomain) {
    // Consume it anyway so that the caller can tell a complete reply from a short one.
    const auto length = reader.u8();
    if (!length || !reader.bytes(*length) || !reader.u16()) return std::nullopt;
  }
  return PeerAddress{};
}

}  // namespace

Socks5UdpAssociate::Socks5UdpAssociate(std::string username, std::string password, PeerAddress client)
    : username_(std::move(username)), password_(std::move(password)), client_(client) {}

Socks5UdpAssociate::Status Socks5UdpAssociate::fail_with(std::string message) {
  error_ = std::move(message);
  status_ = Status::failed;
  return status_;
}

Socks5UdpAssociate::Status Socks5UdpAssociate::start(std::vector<std::byte>& out) {
  if (username_.size() > kMaxCredential || password_.size() > kMaxCredential) {
    return fail_with("SOCKS5 username and password are limited to 255 bytes each (RFC 1929)");
  }
  const bool credentials = !username_.empty() || !password_.empty();
  // +-----+----------+----------+
  // | VER | NMETHODS | METHODS  |
  // +-----+----------+----------+
  push(out, kVersion);
  push(out, 1);
  push(out, credentials ? kMethodUserPass : kMethodNoAuth);
  stage_ = greeting;
  return status_;
}

Socks5UdpAssociate::Status Socks5UdpAssociate::receive(std::span<const std::byte> in,
                                                       std::vector<std::byte>& out) {
  if (status_ != Status::need_more) {
    if (status_ == Status::done && !in.empty()) return fail_with("SOCKS5 proxy sent bytes after its reply");
    return status_;
  }
  buffer_.insert(buffer_.end(), in.begin(), in.end());
  while (status_ == Status::need_more) {
    ByteReader reader(buffer_);
    if (stage_ == greeting) {
      // | VER | METHOD |
      const auto version = reader.u8();
      const auto method = version ? reader.u8() : std::nullopt;
      if (!method) return status_;
      if (*version != kVersion) return fail_with("SOCKS5 proxy answered with another SOCKS version");
      const bool credentials = !username_.empty() || !password_.empty();
      if (*method == kNoAcceptableMethod) {
        return fail_with(credentials
                             ? "SOCKS5 proxy refused username/password authentication"
                             : "SOCKS5 proxy requires authentication (give user:pass in TOR_PT_PROXY)");
      }
      if (*method == kMethodUserPass && credentials) {
        // | VER | ULEN | UNAME | PLEN | PASSWD |
        push(out, kAuthVersion);
        push(out, static_cast<std::uint8_t>(username_.size()));
        for (const char c : username_) push(out, static_cast<std::uint8_t>(c));
        push(out, static_cast<std::uint8_t>(password_.size()));
        for (const char c : password_) push(out, static_cast<std::uint8_t>(c));
        stage_ = authentication;
      } else if (*method == kMethodNoAuth && !credentials) {
        stage_ = associate;
      } else {
        return fail_with("SOCKS5 proxy chose a method hoplink did not offer");
      }
    } else if (stage_ == authentication) {
      // | VER | STATUS |
      const auto version = reader.u8();
      const auto result = version ? reader.u8() : std::nullopt;
      if (!result) return status_;
      if (*version != kAuthVersion) return fail_with("SOCKS5 proxy: malformed authentication reply");
      if (*result != 0) return fail_with("SOCKS5 proxy rejected the username/password");
      stage_ = associate;
    } else {
      // | VER | REP | RSV | ATYP | BND.ADDR | BND.PORT |
      const auto version = reader.u8();
      const auto reply = version ? reader.u8() : std::nullopt;
      const auto reserved = reply ? reader.u8() : std::nullopt;
      if (!reserved) return status_;
      if (*version != kVersion) return fail_with("SOCKS5 proxy: malformed UDP ASSOCIATE reply");
      if (*reply != 0) {
        return fail_with(std::string("SOCKS5 proxy refused UDP ASSOCIATE: ") + reply_text(*reply));
      }
      bool bad_type = false;
      const auto relay = read_address(reader, bad_type);
      if (!relay) return status_;
      if (bad_type) return fail_with("SOCKS5 proxy gave its UDP relay as a host name, not an IP address");
      if (relay->port() == 0) return fail_with("SOCKS5 proxy gave UDP relay port 0");
      relay_ = *relay;
      stage_ = finished;
      status_ = Status::done;
    }
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(reader.consumed()));
    if (stage_ == associate && !request_sent_) {
      // | VER | CMD | RSV | ATYP | DST.ADDR | DST.PORT |
      push(out, kVersion);
      push(out, kCommandUdpAssociate);
      push(out, 0);
      push_address(out, client_);
      request_sent_ = true;
    }
  }
  if (status_ == Status::done && !buffer_.empty())
    return fail_with("SOCKS5 proxy sent bytes after its reply");
  return status_;
}

std::size_t socks5_udp_header_size(const PeerAddress& destination) {
  return destination.family() == PeerAddress::Family::v6 ? 22 : 10;
}

std::size_t write_socks5_udp_header(const PeerAddress& destination, std::span<std::byte> out) {
  if (destination.family() == PeerAddress::Family::none) return 0;
  const std::size_t size = socks5_udp_header_size(destination);
  if (out.size() < size) return 0;
  out[0] = std::byte{0};
  out[1] = std::byte{0};
  out[2] = std::byte{0};  // FRAG: standalone datagram
  out[3] = static_cast<std::byte>(destination.family() == PeerAddress::Family::v6 ? kAtypIpv6 : kAtypIpv4);
  const auto bytes = destination.address_bytes();
  std::memcpy(out.data() + 4, bytes.data(), bytes.size());
  out[size - 2] = static_cast<std::byte>(destination.port() >> 8);
  out[size - 1] = static_cast<std::byte>(destination.port() & 0xff);
  return size;
}

std::optional<Socks5UdpDatagram> parse_socks5_udp_datagram(std::span<const std::byte> datagram) {
  ByteReader reader(datagram);
  const auto reserved = reader.u16();
  const auto fragment = reserved ? reader.u8() : std::nullopt;
  if (!fragment || *fragment != 0) return std::nullopt;
  bool bad_type = false;
  const auto source = read_address(reader, bad_type);
  if (!source || bad_type) return std::nullopt;
  return Socks5UdpDatagram{*source, datagram.subspan(reader.consumed())};
}

}  // namespace hoplink::pt
