// The client side of SOCKS5 UDP ASSOCIATE (RFC 1928 sections 4, 6 and 7, RFC 1929 authentication), for
// TOR_PT_PROXY=socks5://...: hoplink's datagrams reach the bridge through the proxy's UDP relay.
//
// Two sans-I/O pieces: the handshake on the TCP control connection (bytes in, bytes out), and the header
// every relayed datagram carries. The association lives as long as the control connection: the caller keeps
// it open and treats its end as the end of the relay.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/peer_address.hpp"

namespace hoplink::pt {

class Socks5UdpAssociate {
 public:
  enum class Status : std::uint8_t { need_more, done, failed };

  // `username`/`password` empty: offer only "no authentication". RFC 1929 limits each to 255 bytes; longer
  // ones fail at start(). `client` is the address the datagrams will come from (0.0.0.0:0 when unknown).
  Socks5UdpAssociate(std::string username, std::string password, PeerAddress client);

  // The greeting, to send first.
  Status start(std::vector<std::byte>& out);
  // Consumes bytes from the proxy and appends what to send next to `out`. After done, relay() is the UDP
  // address to send datagrams to; bytes past the reply are a protocol error (the proxy sends nothing more).
  Status receive(std::span<const std::byte> in, std::vector<std::byte>& out);

  Status status() const { return status_; }
  // BND.ADDR:BND.PORT as the proxy sent it. An unspecified address (0.0.0.0 or ::) means "the proxy's own
  // address"; the caller substitutes it, since only the caller knows where the control connection went.
  const PeerAddress& relay() const { return relay_; }
  // Why it failed, for a PROXY-ERROR or LOG line.
  const std::string& error() const { return error_; }

 private:
  Status fail_with(std::string message);

  std::string username_;
  std::string password_;
  PeerAddress client_;
  Status status_ = Status::need_more;
  std::uint8_t stage_ = 0;
  bool request_sent_ = false;
  std::vector<std::byte> buffer_;
  PeerAddress relay_;
  std::string error_;
};

// +-----+------+------+----------+----------+----------+
// | RSV | FRAG | ATYP | DST.ADDR | DST.PORT |   DATA   |
// +-----+------+------+----------+----------+----------+
// |  2  |  1   |  1   | Variable |    2     | Variable |
// +-----+------+------+----------+----------+----------+
// 10 bytes for an IPv4 destination, 22 for IPv6.
std::size_t socks5_udp_header_size(const PeerAddress& destination);
// Writes the header for `destination` (RSV 0, FRAG 0) at the start of `out` and returns its size, or 0 when
// `out` is too small or the address has no family.
std::size_t write_socks5_udp_header(const PeerAddress& destination, std::span<std::byte> out);

struct Socks5UdpDatagram {
  PeerAddress source;                  // the remote end that sent it through the relay
  std::span<const std::byte> payload;  // a view into the parsed datagram
};
// A datagram from the relay. nullopt for anything short, fragmented (FRAG != 0: hoplink never sends
// fragments and RFC 1928 lets an implementation drop them), with a domain name or an unknown ATYP.
std::optional<Socks5UdpDatagram> parse_socks5_udp_datagram(std::span<const std::byte> datagram);

}  // namespace hoplink::pt
