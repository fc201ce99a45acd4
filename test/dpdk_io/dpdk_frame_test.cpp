// Header builders and validators of the DPDK backend, without an EAL.
#include <catch2/catch.hpp>
#include <cstring>
#include <random>
#include <vector>

#include "dpdk_arp.hpp"
#include "dpdk_ipv4_udp.hpp"

namespace hoplink::dio::detail {
namespace {

const LocalIdentity kLocal{{0x02, 0, 0, 0, 0, 0x02}, {10, 0, 0, 2}};
const MacAddress kPeerMac{0x02, 0, 0, 0, 0, 0x01};

std::vector<std::byte> bytes_of(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int value : values) out.push_back(static_cast<std::byte>(value));
  return out;
}

// 10.0.0.1:1000 -> 10.0.0.2:2000, identification 7, software checksums.
std::vector<std::byte> udp_frame(std::string_view payload, ChecksumMode mode = ChecksumMode::software) {
  std::vector<std::byte> frame(kUdpFrameHeaders + payload.size());
  std::memcpy(frame.data() + kUdpFrameHeaders, payload.data(), payload.size());
  UdpFrameFields fields;
  fields.source_mac = kPeerMac;
  fields.destination_mac = kLocal.mac;
  fields.source_ip = {10, 0, 0, 1};
  fields.destination_ip = kLocal.ip;
  fields.source_port = 1000;
  fields.destination_port = 2000;
  fields.identification = 7;
  write_udp_headers(frame, fields, mode);
  return frame;
}

void fix_ip_checksum(std::vector<std::byte>& frame) {
  auto ip = std::span(frame).subspan(kEthernetHeader, kIpv4Header);
  store16(ip, 10, 0);
  store16(ip, 10, checksum_finish(checksum_add(ip)));
}

DropReason reason_of(const std::vector<std::byte>& frame) {
  return parse_frame(frame, kLocal).reason;
}

}  // namespace

TEST_CASE("checksum: the RFC 1071 example and a known IPv4 header", "[dpdk_io][dpdk][frame]") {
  CHECK(checksum_finish(checksum_add(bytes_of({0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}))) == 0x220d);
  // 192.168.0.1 -> 192.168.0.199, UDP, total length 0x73: checksum 0xb861.
  const auto header = bytes_of({0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7});
  CHECK(checksum_finish(checksum_add(header)) == 0xb861);
  // Odd length: the last byte is padded with zero.
  CHECK(checksum_finish(checksum_add(bytes_of({0x01}))) == 0xfeff);
}

TEST_CASE("checksum: the word-at-a-time sum equals RFC 1071's definition on any bytes",
          "[dpdk_io][dpdk][frame]") {
  // The definition: 16-bit big-endian words, an odd last byte padded with zero, carries folded back.
  auto definition = [](std::span<const std::byte> bytes, std::uint32_t sum) {
    for (std::size_t i = 0; i < bytes.size(); i += 2) {
      const auto high = std::to_integer<std::uint32_t>(bytes[i]);
      const auto low = i + 1 < bytes.size() ? std::to_integer<std::uint32_t>(bytes[i + 1]) : 0u;
      sum += high << 8 | low;
      sum = (sum & 0xffff) + (sum >> 16);
    }
    return checksum_finish(sum);
  };
  std::mt19937 random(7);
  std::vector<std::byte> bytes(1600);
  for (int round = 0; round < 3000; ++round) {
    for (auto& byte : bytes) byte = static_cast<std::byte>(random());
    const std::size_t offset = random() % 9;  // any alignment
    const std::size_t length = random() % (bytes.size() - offset);
    const std::uint32_t seed = random() % 0x40000;  // e.g. a pseudo-header sum
    const auto span = std::span<const std::byte>(bytes).subspan(offset, length);
    INFO("round " << round << " offset " << offset << " length " << length);
    REQUIRE(checksum_finish(checksum_add(span, seed)) == definition(span, seed));
  }
}

TEST_CASE("write_udp_headers produces the expected bytes", "[dpdk_io][dpdk][frame]") {
  const auto frame = udp_frame("ping");
  // Checksums computed independently (Python) for these fields.
  const auto expected = bytes_of({0x02, 0,    0,    0,    0,    0x02, 0x02, 0,    0,    0,
                                  0,    0x01, 0x08, 0x00,  // Ethernet
                                  0x45, 0x00, 0x00, 0x20, 0x00, 0x07, 0x40, 0x00, 0x40, 0x11,
                                  0x26, 0xc4, 10,   0,    0,    1,    10,   0,    0,    2,  // IPv4
                                  0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0c, 0x01, 0x4b,           // UDP
                                  'p',  'i',  'n',  'g'});
  CHECK(frame == expected);
  // The IPv4 total length is what an IP MTU limits: the public header count plus the payload.
  CHECK(load16(frame, kEthernetHeader + 2) == kIpv4UdpHeaderBytes + 4);
}

TEST_CASE("offload mode leaves the checksums to the NIC", "[dpdk_io][dpdk][frame]") {
  const auto frame = udp_frame("ping", ChecksumMode::offload);
  CHECK(load16(frame, kEthernetHeader + 10) == 0);
  const std::uint32_t pseudo = udp_pseudo_header_sum({10, 0, 0, 1}, {10, 0, 0, 2}, 12);
  CHECK(load16(frame, kEthernetHeader + kIpv4Header + 6) == ((pseudo & 0xffff) + (pseudo >> 16)));
}

TEST_CASE("parse_frame accepts a valid datagram and points at its payload", "[dpdk_io][dpdk][frame]") {
  auto frame = udp_frame("hello");
  auto parsed = parse_frame(frame, kLocal);
  REQUIRE(parsed.kind == FrameKind::udp);
  CHECK(parsed.source_ip == Ipv4Address{10, 0, 0, 1});
  CHECK(parsed.source_port == 1000);
  CHECK(parsed.source_mac == kPeerMac);
  CHECK(parsed.payload_offset == kUdpFrameHeaders);
  CHECK(parsed.payload_length == 5);

  SECTION("Ethernet padding after the IP packet is ignored") {
    frame.resize(kMinimumFrame);
    parsed = parse_frame(frame, kLocal);
    CHECK(parsed.kind == FrameKind::udp);
    CHECK(parsed.payload_length == 5);
  }
  SECTION("to the broadcast MAC") {
    set_destination_mac(frame, kBroadcastMac);
    CHECK(parse_frame(frame, kLocal).kind == FrameKind::udp);
  }
  SECTION("UDP checksum zero means none") {
    store16(frame, kEthernetHeader + kIpv4Header + 6, 0);
    CHECK(parse_frame(frame, kLocal).kind == FrameKind::udp);
  }
  SECTION("an empty datagram") {
    CHECK(parse_frame(udp_frame(""), kLocal).payload_length == 0);
  }
}

TEST_CASE("parse_frame drops every malformed or foreign frame with its reason", "[dpdk_io][dpdk][frame]") {
  auto frame = udp_frame("payload!");
  const std::size_t ip = kEthernetHeader;
  const std::size_t udp = kEthernetHeader + kIpv4Header;

  SECTION("short Ethernet header") {
    frame.resize(13);
    CHECK(reason_of(frame) == DropReason::bad_ethernet);
  }
  SECTION("IPv6 and VLAN ethertypes") {
    store16(frame, 12, 0x86dd);
    CHECK(reason_of(frame) == DropReason::ethertype);
    store16(frame, 12, 0x8100);
    CHECK(reason_of(frame) == DropReason::ethertype);
  }
  SECTION("another MAC") {
    frame[5] = std::byte{0x99};
    CHECK(reason_of(frame) == DropReason::not_for_us);
  }
  SECTION("truncated inside the IP header, inside UDP, inside the payload") {
    for (std::size_t length : {kEthernetHeader + 10, udp + 4, frame.size() - 1}) {
      auto cut = frame;
      cut.resize(length);
      INFO("length " << length);
      CHECK(reason_of(cut) == DropReason::bad_ip_header);
    }
  }
  SECTION("version 6 in an IPv4 frame") {
    frame[ip] = std::byte{0x65};
    CHECK(reason_of(frame) == DropReason::bad_ip_header);
  }
  SECTION("IHL below 5") {
    frame[ip] = std::byte{0x44};
    CHECK(reason_of(frame) == DropReason::bad_ip_header);
  }
  SECTION("total length shorter than the header") {
    store16(frame, ip + 2, 19);
    fix_ip_checksum(frame);
    CHECK(reason_of(frame) == DropReason::bad_ip_header);
  }
  SECTION("bad IP checksum") {
    frame[ip + 8] = std::byte{63};  // TTL changed, checksum not
    CHECK(reason_of(frame) == DropReason::bad_ip_checksum);
  }
  SECTION("fragments: more-fragments flag, or an offset") {
    store16(frame, ip + 6, 0x2000);
    fix_ip_checksum(frame);
    CHECK(reason_of(frame) == DropReason::fragment);
    store16(frame, ip + 6, 0x0001);
    fix_ip_checksum(frame);
    CHECK(reason_of(frame) == DropReason::fragment);
  }
  SECTION("another IP") {
    frame[ip + 19] = std::byte{3};
    fix_ip_checksum(frame);
    CHECK(reason_of(frame) == DropReason::not_for_us);
  }
  SECTION("TCP") {
    frame[ip + 9] = std::byte{6};
    fix_ip_checksum(frame);
    CHECK(reason_of(frame) == DropReason::protocol);
  }
  SECTION("UDP length beyond the IP payload, and below 8") {
    store16(frame, udp + 4, 17);
    CHECK(reason_of(frame) == DropReason::bad_udp_header);
    store16(frame, udp + 4, 7);
    CHECK(reason_of(frame) == DropReason::bad_udp_header);
  }
  SECTION("bad UDP checksum") {
    frame.back() ^= std::byte{0x01};
    CHECK(reason_of(frame) == DropReason::bad_udp_checksum);
  }
  SECTION("UDP source port 0: nowhere to answer") {
    store16(frame, udp, 0);
    store16(frame, udp + 6, 0);
    CHECK(reason_of(frame) == DropReason::bad_udp_header);
  }
  SECTION("the destination port is reported, not checked: the interface picks the endpoint") {
    auto other = udp_frame("payload!");
    store16(other, udp + 2, 2001);
    store16(other, udp + 6, 0);
    const auto parsed = parse_frame(other, kLocal);
    CHECK(parsed.kind == FrameKind::udp);
    CHECK(parsed.destination_port == 2001);
  }
  SECTION("sources no host may use") {
    auto from = [&](Ipv4Address source) {
      auto bad = frame;
      std::memcpy(bad.data() + kEthernetHeader + 12, source.data(), 4);
      store16(bad, udp + 6, 0);
      fix_ip_checksum(bad);
      return reason_of(bad);
    };
    CHECK(from({0, 0, 0, 0}) == DropReason::bad_address);
    CHECK(from({127, 0, 0, 1}) == DropReason::bad_address);
    CHECK(from({224, 0, 0, 1}) == DropReason::bad_address);
    CHECK(from({255, 255, 255, 255}) == DropReason::bad_address);
    CHECK(from(kLocal.ip) == DropReason::bad_address);
    CHECK(from({192, 0, 2, 1}) == DropReason::none);
    auto multicast_mac = frame;
    multicast_mac[6] = std::byte{0x01};
    CHECK(reason_of(multicast_mac) == DropReason::bad_address);
  }
  SECTION("checksums the driver verified are not checked again") {
    auto bad_ip = frame;
    bad_ip[kEthernetHeader + 8] = std::byte{1};  // TTL: the header checksum no longer matches
    CHECK(parse_frame(bad_ip, kLocal, {true, false}).kind == FrameKind::udp);
    frame.back() ^= std::byte{0x01};
    CHECK(parse_frame(frame, kLocal, {false, true}).kind == FrameKind::udp);
    CHECK(parse_frame(frame, kLocal, {true, false}).reason == DropReason::bad_udp_checksum);
  }
}

TEST_CASE("ICMP echo: a request is recognised and turned into its reply", "[dpdk_io][dpdk][frame]") {
  auto frame = udp_frame("");
  // Replace UDP by an echo request with 6 bytes of data.
  frame.resize(kEthernetHeader + kIpv4Header + 14);
  const std::size_t ip = kEthernetHeader;
  const std::size_t icmp = kEthernetHeader + kIpv4Header;
  frame[ip + 9] = static_cast<std::byte>(kProtocolIcmp);
  store16(frame, ip + 2, kIpv4Header + 14);
  fix_ip_checksum(frame);
  const auto body = bytes_of({8, 0, 0, 0, 0x12, 0x34, 0x00, 0x01, 'a', 'b', 'c', 'd', 'e', 'f'});
  std::memcpy(frame.data() + icmp, body.data(), body.size());
  store16(frame, icmp + 2, checksum_finish(checksum_add(std::span(frame).subspan(icmp))));

  auto parsed = parse_frame(frame, kLocal);
  REQUIRE(parsed.kind == FrameKind::icmp_echo);
  CHECK(parsed.frame_length == frame.size());

  make_echo_reply(frame, kLocal.mac);
  CHECK(std::memcmp(frame.data(), kPeerMac.data(), 6) == 0);
  CHECK(std::memcmp(frame.data() + 6, kLocal.mac.data(), 6) == 0);
  CHECK(frame[ip + 15] == std::byte{2});  // source is now us
  CHECK(frame[ip + 19] == std::byte{1});
  CHECK(frame[icmp] == std::byte{0});
  CHECK(checksum_finish(checksum_add(std::span(frame).subspan(ip, kIpv4Header))) == 0);
  CHECK(checksum_finish(checksum_add(std::span(frame).subspan(icmp))) == 0);
  CHECK(std::memcmp(frame.data() + icmp + 4, body.data() + 4, 10) == 0);

  SECTION("a corrupt request and other ICMP types are dropped") {
    auto bad = frame;  // an echo reply now: not answered
    CHECK(parse_frame(bad, LocalIdentity{kPeerMac, {10, 0, 0, 1}}).reason == DropReason::protocol);
    bad.back() ^= std::byte{1};
    CHECK(parse_frame(bad, LocalIdentity{kPeerMac, {10, 0, 0, 1}}).reason == DropReason::bad_icmp);
  }
}

TEST_CASE("ARP packets round trip, others are refused", "[dpdk_io][dpdk][frame]") {
  ArpPacket request;
  request.operation = ArpOperation::request;
  request.sender_mac = kPeerMac;
  request.sender_ip = {10, 0, 0, 1};
  request.target_ip = {10, 0, 0, 2};
  std::vector<std::byte> frame(kMinimumFrame);
  request.serialize_frame(frame, kBroadcastMac);
  const auto parsed_frame = parse_frame(frame, kLocal);
  REQUIRE(parsed_frame.kind == FrameKind::arp);
  const auto packet = ArpPacket::parse(std::span(frame).subspan(parsed_frame.payload_offset));
  REQUIRE(packet);
  CHECK(packet->operation == ArpOperation::request);
  CHECK(packet->sender_mac == kPeerMac);
  CHECK(packet->sender_ip == Ipv4Address{10, 0, 0, 1});
  CHECK(packet->target_ip == Ipv4Address{10, 0, 0, 2});

  auto arp = std::span(frame).subspan(kEthernetHeader);
  CHECK_FALSE(ArpPacket::parse(arp.first(27)));
  store16(arp, 6, 3);
  CHECK_FALSE(ArpPacket::parse(arp));
  store16(arp, 6, 1);
  store16(arp, 0, 6);  // IEEE 802 hardware
  CHECK_FALSE(ArpPacket::parse(arp));
}

}  // namespace hoplink::dio::detail
