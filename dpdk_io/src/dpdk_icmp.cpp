// ICMP echo (RFC 792): the one ICMP message hoplink's DPDK backend answers, so that `ping` works.
#include <cstring>

#include "dpdk_ipv4_udp.hpp"

namespace hoplink::dio::detail {
namespace {

constexpr std::uint8_t kEchoRequest = 8;
constexpr std::uint8_t kEchoReply = 0;
constexpr std::size_t kIcmpHeader = 8;  // type, code, checksum, identifier, sequence

}  // namespace

// Type 8, code 0, at least the 8-byte header, checksum over the whole message valid.
DropReason check_icmp_echo_request(std::span<const std::byte> icmp) {
  if (icmp.size() < kIcmpHeader) return DropReason::bad_icmp;
  if (checksum_finish(checksum_add(icmp)) != 0) return DropReason::bad_icmp;
  if (std::to_integer<std::uint8_t>(icmp[0]) != kEchoRequest || std::to_integer<std::uint8_t>(icmp[1]) != 0) {
    return DropReason::protocol;
  }
  return DropReason::none;
}

void make_echo_reply(std::span<std::byte> frame, const MacAddress& our_mac) {
  // Ethernet: back to the sender.
  std::memcpy(frame.data(), frame.data() + 6, 6);
  std::memcpy(frame.data() + 6, our_mac.data(), 6);
  // IPv4 (no options: parse_frame refuses echo requests with options): swap the addresses.
  const auto ip = frame.subspan(kEthernetHeader, kIpv4Header);
  std::array<std::byte, 4> source{};
  std::memcpy(source.data(), ip.data() + 12, 4);
  std::memcpy(ip.data() + 12, ip.data() + 16, 4);
  std::memcpy(ip.data() + 16, source.data(), 4);
  ip[8] = std::byte{64};
  store16(ip, 10, 0);
  store16(ip, 10, checksum_finish(checksum_add(ip)));
  // ICMP: same identifier, sequence and data; type 0.
  const auto icmp = frame.subspan(kEthernetHeader + kIpv4Header);
  icmp[0] = static_cast<std::byte>(kEchoReply);
  store16(icmp, 2, 0);
  store16(icmp, 2, checksum_finish(checksum_add(icmp)));
}

}  // namespace hoplink::dio::detail
