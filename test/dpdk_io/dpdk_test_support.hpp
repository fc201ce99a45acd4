// Fixtures of the DPDK backend tests: an EAL without hugepages or NICs, net_ring links between two ports or
// between a port and the test (raw frames), and frame builders.
#pragma once

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "dpdk_arp.hpp"
#include "dpdk_io/dpdk_port.hpp"
#include "dpdk_ipv4_udp.hpp"
#include "test_payloads.hpp"

namespace hoplink::dio::dpdk_test {

using namespace std::chrono_literals;
using detail::Ipv4Address;
using detail::MacAddress;
using test::Copied;
using test::numbered;
using test::to_bytes;

inline const std::vector<std::string> kEal{"--no-huge", "--no-pci", "--no-shconf",
                                           "-m",        "512",      "--log-level=warning"};
inline const MacAddress kMacA{0x02, 0, 0, 0, 0, 0x01};
inline const MacAddress kMacB{0x02, 0, 0, 0, 0, 0x02};
inline const MacAddress kPeerMac{0x02, 0, 0, 0, 0, 0x09};
inline const Ipv4Address kPeerIp{10, 0, 0, 9};
inline const PeerAddress kPeer = PeerAddress::v4(kPeerIp, 9000);

inline std::string unique(const char* prefix) {
  static int next = 0;
  return std::string(prefix) + std::to_string(next++);
}

inline DpdkConfig port_config(const std::string& name, PeerAddress address, MacAddress mac) {
  DpdkConfig config;
  config.eal_args = kEal;
  config.port = name;
  config.address = address;
  config.mac = mac;
  config.pool_size = 2047;
  config.burst = 16;
  config.arp_timeout = 50ms;
  return config;
}

// Polls `to` (and `other`, whose receive_burst answers ARP and sends what ARP released) until `count`
// datagrams arrived at `to` or `wait` passed.
inline std::vector<Copied> pump(DatagramIo& to, DatagramIo* other, std::size_t count,
                                std::chrono::milliseconds wait = 1s) {
  std::vector<Copied> got;
  std::vector<ReceivedDatagram> out(8);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (got.size() < count && std::chrono::steady_clock::now() < deadline) {
    if (other != nullptr) {
      std::vector<ReceivedDatagram> ignored(8);
      REQUIRE(other->receive_burst(ignored).ok());
      (void)other->flush();
    }
    auto n = to.receive_burst(out);
    REQUIRE(n.ok());
    for (std::size_t i = 0; i < *n; ++i)
      got.push_back({out[i].from, {out[i].payload.begin(), out[i].payload.end()}});
  }
  return got;
}

// Two ports, a = 10.0.0.1:1000 and b = 10.0.0.2:2000, joined by rings.
struct Pair {
  explicit Pair(std::size_t pending_limit = 64) {
    const std::string name_a = unique("net_ring_a");
    const std::string name_b = unique("net_ring_b");
    auto created = DpdkRingLink::create(kEal, name_a, name_b);
    REQUIRE(created.ok());
    link = std::move(created).value();
    auto config_a = port_config(name_a, PeerAddress::v4({10, 0, 0, 1}, 1000), kMacA);
    config_a.arp_pending_limit = pending_limit;
    auto opened_a = open_dpdk_port(config_a);
    INFO((opened_a.ok() ? "" : opened_a.error()));
    REQUIRE(opened_a.ok());
    auto opened_b = open_dpdk_port(port_config(name_b, PeerAddress::v4({10, 0, 0, 2}, 2000), kMacB));
    REQUIRE(opened_b.ok());
    a = std::move(opened_a).value();
    b = std::move(opened_b).value();
  }
  // Members are destroyed in reverse: the ports close before the link frees its rings.
  std::unique_ptr<DpdkRingLink> link;
  std::unique_ptr<DatagramIo> a;
  std::unique_ptr<DatagramIo> b;
};

// Interface 10.0.0.1 with endpoint `a` on UDP port 1000, whose wire is the test itself.
struct Raw {
  explicit Raw(DpdkConfig overrides = {}) {
    const std::string name = unique("net_ring_raw");
    auto created = DpdkRingLink::create(kEal, name, "");
    REQUIRE(created.ok());
    link = std::move(created).value();
    auto config = port_config(name, PeerAddress::v4({10, 0, 0, 1}, 1000), kMacA);
    config.arp_pending_limit = overrides.arp_pending_limit;
    config.arp_cache_ttl = overrides.arp_cache_ttl;
    config.gateway = overrides.gateway;
    config.endpoint_queue = overrides.endpoint_queue;
    config.poll = overrides.poll;
    auto opened = DpdkInterface::open(config);
    INFO((opened.ok() ? "" : opened.error()));
    REQUIRE(opened.ok());
    interface = std::move(opened).value();
    auto endpoint = interface->open_endpoint(1000);
    REQUIRE(endpoint.ok());
    a = std::move(endpoint).value();
  }
  DpdkCounters counters() const { return *dpdk_counters(*a); }
  std::size_t receive(std::vector<ReceivedDatagram>& out) { return receive(*a, out); }
  static std::size_t receive(DatagramIo& endpoint, std::vector<ReceivedDatagram>& out) {
    auto n = endpoint.receive_burst(out);
    REQUIRE(n.ok());
    return *n;
  }
  std::unique_ptr<DpdkRingLink> link;
  std::unique_ptr<DpdkInterface> interface;
  std::unique_ptr<DatagramIo> a;
};

inline std::vector<std::byte> udp_frame(std::string_view payload, std::uint16_t destination_port = 1000) {
  std::vector<std::byte> frame(detail::kUdpFrameHeaders + payload.size());
  if (!payload.empty()) std::memcpy(frame.data() + detail::kUdpFrameHeaders, payload.data(), payload.size());
  detail::UdpFrameFields fields;
  fields.source_mac = kPeerMac;
  fields.destination_mac = kMacA;
  fields.source_ip = kPeerIp;
  fields.destination_ip = {10, 0, 0, 1};
  fields.source_port = 9000;
  fields.destination_port = destination_port;
  detail::write_udp_headers(frame, fields, detail::ChecksumMode::software);
  return frame;
}

inline void fix_ip_checksum(std::vector<std::byte>& frame) {
  auto ip = std::span(frame).subspan(detail::kEthernetHeader, detail::kIpv4Header);
  detail::store16(ip, 10, 0);
  detail::store16(ip, 10, detail::checksum_finish(detail::checksum_add(ip)));
}

inline std::vector<std::byte> arp_frame(detail::ArpOperation operation, Ipv4Address target,
                                        MacAddress destination) {
  detail::ArpPacket packet;
  packet.operation = operation;
  packet.sender_mac = kPeerMac;
  packet.sender_ip = kPeerIp;
  packet.target_mac = operation == detail::ArpOperation::reply ? kMacA : MacAddress{};
  packet.target_ip = target;
  std::vector<std::byte> frame(detail::kMinimumFrame);
  packet.serialize_frame(frame, destination);
  return frame;
}

inline std::optional<detail::ArpPacket> as_arp(const std::vector<std::byte>& frame) {
  if (frame.size() < detail::kArpFrame || detail::load16(frame, 12) != detail::kEtherTypeArp)
    return std::nullopt;
  return detail::ArpPacket::parse(std::span(frame).subspan(detail::kEthernetHeader));
}

}  // namespace hoplink::dio::dpdk_test
