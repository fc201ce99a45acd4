#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include "dpdk_arp.hpp"
#include "dpdk_ipv4_udp.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"

namespace hoplink::fuzz {
namespace {

using namespace hoplink::dio::detail;
using Bytes = std::vector<std::byte>;

const LocalIdentity kLocal{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}, {10, 0, 0, 1}};
constexpr std::uint16_t kLocalPort = 5000;

// Points the frame at kLocal and makes the IPv4 header checksum and the UDP / ICMP checksums valid, so that
// the checks after them are reached. Leaves lengths alone: they are the fuzzer's to get wrong.
void fix_up(Bytes& frame, std::uint8_t flags) {
  if (frame.size() < kEthernetHeader) return;
  const MacAddress& mac = (flags & 2) != 0 ? kBroadcastMac : kLocal.mac;
  std::copy(mac.begin(), mac.end(), reinterpret_cast<std::uint8_t*>(frame.data()));
  if (load16(frame, 12) != kEtherTypeIpv4 || frame.size() < kEthernetHeader + kIpv4Header) return;
  const std::span<std::byte> ip = std::span(frame).subspan(kEthernetHeader);
  const std::size_t header_length = (std::to_integer<std::size_t>(ip[0]) & 0x0f) * 4;
  if (header_length < kIpv4Header || header_length > ip.size()) return;
  std::copy(kLocal.ip.begin(), kLocal.ip.end(), reinterpret_cast<std::uint8_t*>(ip.data() + 16));
  const std::size_t total_length = std::clamp<std::size_t>(load16(ip, 2), header_length, ip.size());
  const std::span<std::byte> segment = ip.subspan(header_length, total_length - header_length);
  const std::uint8_t protocol = std::to_integer<std::uint8_t>(ip[9]);
  if (protocol == kProtocolUdp && segment.size() >= kUdpHeader) {
    store16(segment, 2, kLocalPort);
    store16(segment, 6, 0);
    const std::size_t udp_length = load16(segment, 4);
    if ((flags & 4) == 0 && udp_length >= kUdpHeader && udp_length <= segment.size()) {
      Ipv4Address source;
      std::copy_n(reinterpret_cast<const std::uint8_t*>(ip.data() + 12), 4, source.begin());
      const std::uint32_t pseudo =
          udp_pseudo_header_sum(source, kLocal.ip, static_cast<std::uint16_t>(udp_length));
      const std::uint16_t checksum = checksum_finish(checksum_add(segment.first(udp_length), pseudo));
      store16(segment, 6, checksum == 0 ? 0xffff : checksum);
    }
  } else if (protocol == kProtocolIcmp && segment.size() >= 4) {
    store16(segment, 2, 0);
    store16(segment, 2, checksum_finish(checksum_add(segment)));
  }
  store16(ip, 10, 0);
  store16(ip, 10, checksum_finish(checksum_add(ip.first(header_length))));
}

void check_udp(std::span<const std::byte> frame, const ParsedFrame& parsed) {
  FUZZ_CHECK(parsed.payload_offset >= kUdpFrameHeaders);
  FUZZ_CHECK(parsed.payload_offset + parsed.payload_length <= parsed.frame_length);
  FUZZ_CHECK(parsed.frame_length <= frame.size());
  if (parsed.payload_length + kIpv4Header + kUdpHeader > 0xffff) return;
  // The reply we would build parses, on the other side, to the same payload from our port.
  Bytes reply(kUdpFrameHeaders + parsed.payload_length);
  std::copy_n(frame.begin() + static_cast<std::ptrdiff_t>(parsed.payload_offset), parsed.payload_length,
              reply.begin() + kUdpFrameHeaders);
  UdpFrameFields fields;
  fields.source_mac = kLocal.mac;
  fields.destination_mac = parsed.source_mac;
  fields.source_ip = kLocal.ip;
  fields.destination_ip = parsed.source_ip;
  fields.source_port = kLocalPort;
  fields.destination_port = parsed.source_port;
  write_udp_headers(reply, fields, ChecksumMode::software);
  const LocalIdentity them{parsed.source_mac, parsed.source_ip};
  const ParsedFrame back = parse_frame(reply, them);
  FUZZ_CHECK(back.kind == FrameKind::udp);
  FUZZ_CHECK(back.source_port == kLocalPort && back.source_ip == kLocal.ip);
  FUZZ_CHECK(back.destination_port == parsed.source_port);
  FUZZ_CHECK(back.payload_length == parsed.payload_length);
  FUZZ_CHECK(std::equal(reply.begin() + static_cast<std::ptrdiff_t>(back.payload_offset), reply.end(),
                        frame.begin() + static_cast<std::ptrdiff_t>(parsed.payload_offset)));
}

void check_arp(std::span<const std::byte> frame, const ParsedFrame& parsed) {
  FUZZ_CHECK(parsed.payload_offset + parsed.payload_length <= frame.size());
  const auto packet = ArpPacket::parse(frame.subspan(parsed.payload_offset, parsed.payload_length));
  if (!packet) return;
  FUZZ_CHECK(packet->operation == ArpOperation::request || packet->operation == ArpOperation::reply);
  std::array<std::byte, kMinimumFrame> rebuilt{};
  packet->serialize_frame(rebuilt, kBroadcastMac);
  const ParsedFrame again = parse_frame(rebuilt, kLocal);
  // The rebuilt frame comes from the packet's sender MAC: no frame may come from a group MAC.
  if (is_group_mac(packet->sender_mac)) {
    FUZZ_CHECK(again.reason == DropReason::bad_address);
    return;
  }
  FUZZ_CHECK(again.kind == FrameKind::arp);
  const auto reparsed =
      ArpPacket::parse(std::span(rebuilt).subspan(again.payload_offset, again.payload_length));
  FUZZ_CHECK(reparsed && reparsed->operation == packet->operation &&
             reparsed->sender_mac == packet->sender_mac && reparsed->sender_ip == packet->sender_ip &&
             reparsed->target_mac == packet->target_mac && reparsed->target_ip == packet->target_ip);

  // What the backend does with it: learn the sender, release parked packets, expire.
  static ArpTable table(
      ArpTableConfig{std::chrono::milliseconds(1000), 3, std::chrono::milliseconds(60000), 8, 8});
  static ArpClock::time_point now{};
  static int parked_tokens = 0;
  now += std::chrono::milliseconds(250);
  table.learn(packet->sender_ip, packet->sender_mac, now, [](void*, const MacAddress&) {});
  bool refresh = false;
  FUZZ_CHECK(table.lookup(packet->sender_ip, now, refresh) == packet->sender_mac || table.entry_count() == 8);
  (void)table.park(packet->target_ip, &parked_tokens, now);
  table.poll(
      now, [](const Ipv4Address&) {}, [](void*) {});
  FUZZ_CHECK(table.parked_count() <= 8 && table.entry_count() <= 8);
}

void check_icmp(std::span<const std::byte> frame, const ParsedFrame& parsed) {
  FUZZ_CHECK(parsed.frame_length >= kEthernetHeader + kIpv4Header + 8 && parsed.frame_length <= frame.size());
  Bytes reply(frame.begin(), frame.begin() + static_cast<std::ptrdiff_t>(parsed.frame_length));
  make_echo_reply(reply, kLocal.mac);
  const std::span<const std::byte> ip = std::span(reply).subspan(kEthernetHeader);
  FUZZ_CHECK(checksum_finish(checksum_add(ip.first(kIpv4Header))) == 0);
  // An echo reply (type 0) with a valid checksum: "protocol", not "bad_icmp".
  FUZZ_CHECK(check_icmp_echo_request(ip.subspan(kIpv4Header)) == DropReason::protocol);
  FUZZ_CHECK(std::equal(ip.begin() + 12, ip.begin() + 16, frame.begin() + kEthernetHeader + 16));
}

}  // namespace

int fuzz_dpdk_frame(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  Bytes frame(reinterpret_cast<const std::byte*>(data + 1), reinterpret_cast<const std::byte*>(data + size));

  // The raw input as an ARP packet and as an ICMP message, without an Ethernet header.
  (void)ArpPacket::parse(frame);
  const DropReason icmp = check_icmp_echo_request(frame);
  FUZZ_CHECK(icmp == DropReason::none || icmp == DropReason::bad_icmp || icmp == DropReason::protocol);

  if ((flags & 1) != 0) fix_up(frame, flags);
  const ParsedFrame parsed = parse_frame(frame, kLocal);
  FUZZ_CHECK((parsed.kind == FrameKind::drop) == (parsed.reason != DropReason::none));
  FUZZ_CHECK(!to_string(parsed.reason).empty());
  switch (parsed.kind) {
    case FrameKind::udp:
      check_udp(frame, parsed);
      break;
    case FrameKind::arp:
      check_arp(frame, parsed);
      break;
    case FrameKind::icmp_echo:
      check_icmp(frame, parsed);
      break;
    case FrameKind::drop:
      break;
  }
  return 0;
}

}  // namespace hoplink::fuzz
