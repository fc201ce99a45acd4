// Ethernet / IPv4 / UDP / ICMP-echo frames as bytes: building, validating and checksums. No DPDK header here,
// so that these functions are unit-tested without an EAL; dpdk_port.cpp applies them to mbuf data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dpdk_io/headers.hpp"

namespace hoplink::dio::detail {

using MacAddress = std::array<std::uint8_t, 6>;
using Ipv4Address = std::array<std::uint8_t, 4>;

inline constexpr MacAddress kBroadcastMac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
inline constexpr std::size_t kEthernetHeader = 14;
inline constexpr std::size_t kIpv4Header = 20;  // without options; we never send options
inline constexpr std::size_t kUdpHeader = 8;
static_assert(kIpv4Header + kUdpHeader == kIpv4UdpHeaderBytes);
inline constexpr std::size_t kUdpFrameHeaders = kEthernetHeader + kIpv4Header + kUdpHeader;
inline constexpr std::size_t kMinimumFrame = 60;  // Ethernet minimum without the FCS
inline constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEtherTypeArp = 0x0806;
inline constexpr std::uint8_t kProtocolIcmp = 1;
inline constexpr std::uint8_t kProtocolUdp = 17;

// Big-endian field access on byte spans (callers check the bounds).
std::uint16_t load16(std::span<const std::byte> bytes, std::size_t offset);
void store16(std::span<std::byte> bytes, std::size_t offset, std::uint16_t value);

// RFC 1071 ones' complement sum of 16-bit big-endian words (an odd last byte is padded with zero), not yet
// complemented; sums may be chained through `sum`.
std::uint32_t checksum_add(std::span<const std::byte> bytes, std::uint32_t sum = 0);
// Folds the carries and complements: the value to store in a checksum field.
std::uint16_t checksum_finish(std::uint32_t sum);
// The sum of the UDP pseudo-header (addresses, protocol, UDP length).
std::uint32_t udp_pseudo_header_sum(Ipv4Address source, Ipv4Address destination, std::uint16_t udp_length);

// How write_udp_headers() fills the checksums.
enum class ChecksumMode : std::uint8_t {
  software,  // both checksums computed here
  offload,   // the NIC computes them: IPv4 checksum 0, UDP checksum = pseudo-header sum (what DPDK expects)
};

struct UdpFrameFields {
  MacAddress source_mac{};
  MacAddress destination_mac{};
  Ipv4Address source_ip{};
  Ipv4Address destination_ip{};
  std::uint16_t source_port = 0;
  std::uint16_t destination_port = 0;
  std::uint16_t identification = 0;
  std::uint8_t ttl = 64;
};

// `frame` is exactly kUdpFrameHeaders + payload bytes, the payload already in place after the headers. Writes
// the Ethernet, IPv4 (DF set) and UDP headers. The payload must fit an IPv4 datagram (caller checks the MTU).
void write_udp_headers(std::span<std::byte> frame, const UdpFrameFields& fields, ChecksumMode mode);
// Rewrites the destination MAC of a frame built earlier (checksums do not cover it).
void set_destination_mac(std::span<std::byte> frame, const MacAddress& mac);

// Why a received frame was dropped; `none` for frames that were used.
enum class DropReason : std::uint8_t {
  none,
  bad_ethernet,   // shorter than an Ethernet header
  ethertype,      // neither IPv4 nor ARP (VLAN tags included)
  not_for_us,     // another MAC, another IP, another UDP port
  bad_ip_header,  // length, version, IHL, total length
  bad_ip_checksum,
  bad_address,     // a source no host may use: multicast MAC; 0/8, 127/8, multicast, broadcast or our IP
  fragment,        // MF set or a fragment offset
  protocol,        // an IP protocol other than UDP and ICMP, or ICMP other than echo request
  bad_udp_header,  // length field, source port 0
  bad_udp_checksum,
  bad_icmp,  // too short or bad checksum
  bad_arp,   // not Ethernet/IPv4 ARP, or an unknown operation
};
std::string_view to_string(DropReason reason);

enum class FrameKind : std::uint8_t { drop, udp, arp, icmp_echo };

struct LocalIdentity {
  MacAddress mac{};
  Ipv4Address ip{};
};

// True for a source IPv4 address no neighbour may send from: 0.0.0.0/8, 127/8, multicast and reserved
// (224/3), limited broadcast; and `ours` (a frame from our own address is a loop or a spoof).
bool is_martian_source(const Ipv4Address& ip, const Ipv4Address& ours);
// The group bit of the first octet: multicast and broadcast MACs, which no frame may come from.
inline bool is_group_mac(const MacAddress& mac) {
  return (mac[0] & 1) != 0;
}

// Checksums the port verified in hardware (DPDK rx offload flags said GOOD): parse_frame skips them.
struct VerifiedChecksums {
  bool ip = false;
  bool udp = false;
};

struct ParsedFrame {
  FrameKind kind = FrameKind::drop;
  DropReason reason = DropReason::none;
  MacAddress source_mac{};
  Ipv4Address source_ip{};             // udp, icmp_echo
  std::uint16_t source_port = 0;       // udp
  std::uint16_t destination_port = 0;  // udp: the caller picks the endpoint
  std::size_t payload_offset = 0;      // udp: payload; arp: the ARP packet
  std::size_t payload_length = 0;
  std::size_t frame_length = 0;  // Ethernet header + IP total length (frames may carry padding after it)
};

// Validates every header of a received frame: Ethernet (to our MAC or broadcast, from a unicast MAC), IPv4
// (version, IHL, total length within the frame, header checksum, not a fragment, to our IP, from a plausible
// source), UDP (length, checksum when not zero, source port not 0) or ICMP echo request (checksum). The UDP
// destination port is returned, not checked. ARP frames are returned as FrameKind::arp for ArpPacket::parse.
ParsedFrame parse_frame(std::span<const std::byte> frame, const LocalIdentity& local,
                        VerifiedChecksums verified = {});

// none for a well-formed echo request (type 8, code 0, checksum valid over the whole message); bad_icmp
// when short or corrupt; protocol for any other ICMP message.
DropReason check_icmp_echo_request(std::span<const std::byte> icmp);

// Turns a validated ICMP echo request (parse_frame said icmp_echo) into its reply in place: addresses
// swapped, type 0, TTL 64, both checksums recomputed. `frame` is trimmed to ParsedFrame::frame_length.
void make_echo_reply(std::span<std::byte> frame, const MacAddress& our_mac);

}  // namespace hoplink::dio::detail
