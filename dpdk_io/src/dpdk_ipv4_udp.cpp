#include "dpdk_ipv4_udp.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>

namespace hoplink::dio::detail {
namespace {

constexpr std::size_t kIp = kEthernetHeader;  // offset of the IPv4 header in a frame
constexpr std::uint16_t kFlagMoreFragments = 0x2000;
constexpr std::uint16_t kFlagDontFragment = 0x4000;
constexpr std::uint16_t kFragmentOffsetMask = 0x1fff;

template <std::size_t N>
std::array<std::uint8_t, N> load_array(std::span<const std::byte> bytes, std::size_t offset) {
  std::array<std::uint8_t, N> out{};
  std::memcpy(out.data(), bytes.data() + offset, N);
  return out;
}

template <std::size_t N>
void store_array(std::span<std::byte> bytes, std::size_t offset, const std::array<std::uint8_t, N>& value) {
  std::memcpy(bytes.data() + offset, value.data(), N);
}

ParsedFrame dropped(DropReason reason) {
  ParsedFrame parsed;
  parsed.reason = reason;
  return parsed;
}
}  // namespace

std::uint16_t load16(std::span<const std::byte> bytes, std::size_t offset) {
  return static_cast<std::uint16_t>((std::to_integer<unsigned>(bytes[offset]) << 8) |
                                    std::to_integer<unsigned>(bytes[offset + 1]));
}

void store16(std::span<std::byte> bytes, std::size_t offset, std::uint16_t value) {
  bytes[offset] = static_cast<std::byte>(value >> 8);
  bytes[offset + 1] = static_cast<std::byte>(value & 0xff);
}

// RFC 1071 section 2: the one's complement sum does not depend on byte order, and carries may be deferred.
// So 8 bytes at a time are added as two 32-bit machine-order words into a 64-bit accumulator, which is
// folded to 16 bits and put in network order once at the end. Every datagram is summed on both paths when
// the port has no checksum offload (af_packet, af_xdp): this is per-byte work on the hot path.
std::uint32_t checksum_add(std::span<const std::byte> bytes, std::uint32_t sum) {
  std::uint64_t accumulator = 0;
  const std::byte* data = bytes.data();
  const std::size_t size = bytes.size();
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word = 0;
    std::memcpy(&word, data + i, 8);
    accumulator += (word & 0xffffffffu) + (word >> 32);
  }
  for (; i + 2 <= size; i += 2) {
    std::uint16_t word = 0;
    std::memcpy(&word, data + i, 2);
    accumulator += word;
  }
  if (i < size) {
    // The odd last byte is the high half of a word padded with zero, in network order.
    const std::array<std::byte, 2> padded{data[i], std::byte{0}};
    std::uint16_t word = 0;
    std::memcpy(&word, padded.data(), 2);
    accumulator += word;
  }
  while (accumulator >> 16) accumulator = (accumulator & 0xffff) + (accumulator >> 16);
  auto folded = static_cast<std::uint16_t>(accumulator);
  if constexpr (std::endian::native == std::endian::little) {
    folded = static_cast<std::uint16_t>((folded >> 8) | (folded << 8));
  }
  return sum + folded;
}

std::uint16_t checksum_finish(std::uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

std::uint32_t udp_pseudo_header_sum(Ipv4Address source, Ipv4Address destination, std::uint16_t udp_length) {
  std::uint32_t sum = 0;
  sum += static_cast<std::uint32_t>(source[0] << 8 | source[1]) +
         static_cast<std::uint32_t>(source[2] << 8 | source[3]);
  sum += static_cast<std::uint32_t>(destination[0] << 8 | destination[1]) +
         static_cast<std::uint32_t>(destination[2] << 8 | destination[3]);
  sum += kProtocolUdp;
  sum += udp_length;
  return sum;
}

void write_udp_headers(std::span<std::byte> frame, const UdpFrameFields& fields, ChecksumMode mode) {
  const auto ip = frame.subspan(kIp, kIpv4Header);
  const auto udp = frame.subspan(kIp + kIpv4Header);
  const auto udp_length = static_cast<std::uint16_t>(udp.size());

  store_array(frame, 0, fields.destination_mac);
  store_array(frame, 6, fields.source_mac);
  store16(frame, 12, kEtherTypeIpv4);

  ip[0] = std::byte{0x45};  // version 4, IHL 5
  ip[1] = std::byte{0};     // DSCP/ECN
  store16(ip, 2, static_cast<std::uint16_t>(kIpv4Header + udp.size()));
  store16(ip, 4, fields.identification);
  store16(ip, 6, kFlagDontFragment);
  ip[8] = static_cast<std::byte>(fields.ttl);
  ip[9] = static_cast<std::byte>(kProtocolUdp);
  store16(ip, 10, 0);
  store_array(ip, 12, fields.source_ip);
  store_array(ip, 16, fields.destination_ip);

  store16(udp, 0, fields.source_port);
  store16(udp, 2, fields.destination_port);
  store16(udp, 4, udp_length);
  store16(udp, 6, 0);

  const std::uint32_t pseudo = udp_pseudo_header_sum(fields.source_ip, fields.destination_ip, udp_length);
  if (mode == ChecksumMode::offload) {
    // Not complemented: the NIC adds the segment and complements.
    std::uint32_t folded = pseudo;
    while (folded >> 16) folded = (folded & 0xffff) + (folded >> 16);
    store16(udp, 6, static_cast<std::uint16_t>(folded));
    return;
  }
  store16(ip, 10, checksum_finish(checksum_add(ip)));
  std::uint16_t checksum = checksum_finish(checksum_add(udp, pseudo));
  if (checksum == 0) checksum = 0xffff;  // RFC 768: 0 means "no checksum"
  store16(udp, 6, checksum);
}

bool is_martian_source(const Ipv4Address& ip, const Ipv4Address& ours) {
  return ip[0] == 0 || ip[0] == 127 || ip[0] >= 224 || ip == ours;
}

void set_destination_mac(std::span<std::byte> frame, const MacAddress& mac) {
  store_array(frame, 0, mac);
}

std::string_view to_string(DropReason reason) {
  switch (reason) {
    case DropReason::none:
      return "none";
    case DropReason::bad_ethernet:
      return "bad ethernet header";
    case DropReason::ethertype:
      return "unsupported ethertype";
    case DropReason::not_for_us:
      return "not for us";
    case DropReason::bad_ip_header:
      return "bad ipv4 header";
    case DropReason::bad_ip_checksum:
      return "bad ipv4 checksum";
    case DropReason::bad_address:
      return "bad source address";
    case DropReason::fragment:
      return "ipv4 fragment";
    case DropReason::protocol:
      return "unsupported protocol";
    case DropReason::bad_udp_header:
      return "bad udp header";
    case DropReason::bad_udp_checksum:
      return "bad udp checksum";
    case DropReason::bad_icmp:
      return "bad icmp";
    case DropReason::bad_arp:
      return "bad arp";
  }
  return "unknown";
}

//  0                   1                   2                   3
//  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// |Version|  IHL  |Type of Service|          Total Length         |
// |         Identification        |Flags|      Fragment Offset    |
// |  Time to Live |    Protocol   |         Header Checksum       |
// |                       Source Address                          |
// |                    Destination Address                        |
// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// followed by the UDP header: source port, destination port, length, checksum (16 bits each).
ParsedFrame parse_frame(std::span<const std::byte> frame, const LocalIdentity& local,
                        VerifiedChecksums verified) {
  if (frame.size() < kEthernetHeader) return dropped(DropReason::bad_ethernet);
  const auto destination_mac = load_array<6>(frame, 0);
  const std::uint16_t ethertype = load16(frame, 12);
  if (ethertype != kEtherTypeIpv4 && ethertype != kEtherTypeArp) return dropped(DropReason::ethertype);
  if (destination_mac != local.mac && destination_mac != kBroadcastMac)
    return dropped(DropReason::not_for_us);

  ParsedFrame parsed;
  parsed.source_mac = load_array<6>(frame, 6);
  if (is_group_mac(parsed.source_mac)) return dropped(DropReason::bad_address);
  if (ethertype == kEtherTypeArp) {
    parsed.kind = FrameKind::arp;
    parsed.payload_offset = kEthernetHeader;
    parsed.payload_length = frame.size() - kEthernetHeader;
    parsed.frame_length = frame.size();
    return parsed;
  }

  const auto ip = frame.subspan(kIp);
  if (ip.size() < kIpv4Header) return dropped(DropReason::bad_ip_header);
  const unsigned version = std::to_integer<unsigned>(ip[0]) >> 4;
  const std::size_t header_length = (std::to_integer<std::size_t>(ip[0]) & 0x0f) * 4;
  const std::size_t total_length = load16(ip, 2);
  if (version != 4 || header_length < kIpv4Header || header_length > ip.size() ||
      total_length < header_length || total_length > ip.size()) {
    return dropped(DropReason::bad_ip_header);
  }
  if (!verified.ip && checksum_finish(checksum_add(ip.first(header_length))) != 0)
    return dropped(DropReason::bad_ip_checksum);
  const std::uint16_t flags_offset = load16(ip, 6);
  if ((flags_offset & (kFlagMoreFragments | kFragmentOffsetMask)) != 0) return dropped(DropReason::fragment);
  if (load_array<4>(ip, 16) != local.ip) return dropped(DropReason::not_for_us);
  // A broadcast MAC carrying a unicast IP packet to us is odd but harmless; the IP check above decides.
  parsed.source_ip = load_array<4>(ip, 12);
  if (is_martian_source(parsed.source_ip, local.ip)) return dropped(DropReason::bad_address);
  parsed.frame_length = kEthernetHeader + total_length;
  const std::uint8_t protocol = std::to_integer<std::uint8_t>(ip[9]);
  const auto segment = ip.subspan(header_length, total_length - header_length);

  if (protocol == kProtocolIcmp) {
    if (header_length != kIpv4Header) return dropped(DropReason::protocol);  // we do not echo IP options
    const DropReason reason = check_icmp_echo_request(segment);
    if (reason != DropReason::none) return dropped(reason);
    parsed.kind = FrameKind::icmp_echo;
    return parsed;
  }
  if (protocol != kProtocolUdp) return dropped(DropReason::protocol);

  if (segment.size() < kUdpHeader) return dropped(DropReason::bad_udp_header);
  const std::size_t udp_length = load16(segment, 4);
  if (udp_length < kUdpHeader || udp_length > segment.size()) return dropped(DropReason::bad_udp_header);
  if (!verified.udp && load16(segment, 6) != 0) {
    const std::uint32_t pseudo =
        udp_pseudo_header_sum(parsed.source_ip, local.ip, static_cast<std::uint16_t>(udp_length));
    if (checksum_finish(checksum_add(segment.first(udp_length), pseudo)) != 0) {
      return dropped(DropReason::bad_udp_checksum);
    }
  }
  parsed.source_port = load16(segment, 0);
  if (parsed.source_port == 0) return dropped(DropReason::bad_udp_header);  // nowhere to answer
  parsed.kind = FrameKind::udp;
  parsed.destination_port = load16(segment, 2);
  parsed.payload_offset = kEthernetHeader + header_length + kUdpHeader;
  parsed.payload_length = udp_length - kUdpHeader;
  return parsed;
}

}  // namespace hoplink::dio::detail
