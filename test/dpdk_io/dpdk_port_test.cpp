// The DPDK backend over net_ring ports in this process: two ports joined by rings, or one port whose other
// end is the test (raw frames), with an EAL that needs neither hugepages nor a NIC.
#include "dpdk_io/dpdk_port.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "dpdk_test_support.hpp"

namespace hoplink::dio {

using namespace dpdk_test;
using detail::Ipv4Address;
using detail::MacAddress;

TEST_CASE("dpdk: bad configurations are refused with a message", "[dpdk_io][dpdk][port]") {
  auto config = port_config("net_nosuchdriver0", PeerAddress::v4({10, 0, 0, 1}, 1000), kMacA);
  auto missing = open_dpdk_port(config);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().find("net_nosuchdriver0") != std::string::npos);
  config.address = *PeerAddress::parse("[::1]:5");
  CHECK_FALSE(open_dpdk_port(config).ok());
  config.address = PeerAddress::v4({10, 0, 0, 1}, 1000);
  config.pool_size = 100;
  CHECK_FALSE(open_dpdk_port(config).ok());
  // The EAL is initialised once per process.
  CHECK(init_dpdk_eal(kEal).ok());
  CHECK_FALSE(init_dpdk_eal({"--no-huge"}).ok());
}

TEST_CASE("dpdk: ARP resolves, then datagrams go both ways byte-exact with addresses",
          "[dpdk_io][dpdk][port]") {
  Pair pair;
  auto& a = *pair.a;
  auto& b = *pair.b;
  CHECK(a.backend_name() == "dpdk");
  CHECK(a.readiness_fd() == -1);
  CHECK(a.max_payload() == 1472);
  CHECK(a.local_address() == PeerAddress::v4({10, 0, 0, 1}, 1000));

  REQUIRE(a.enqueue(b.local_address(), to_bytes("ping")));
  CHECK(a.pending_tx() == 0);  // waiting for ARP, not in the batch
  CHECK(dpdk_counters(a)->arp_requests_sent == 1);
  auto at_b = pump(b, &a, 1);
  REQUIRE(at_b.size() == 1);
  CHECK(at_b[0].from == a.local_address());
  CHECK(at_b[0].payload == to_bytes("ping"));
  CHECK(dpdk_counters(b)->arp_requests_received == 1);
  CHECK(dpdk_counters(b)->arp_replies_sent == 1);
  CHECK(dpdk_counters(a)->arp_replies_received == 1);

  // b learned a from its request: no ARP on the way back.
  REQUIRE(b.enqueue(at_b[0].from, to_bytes("pong!")));
  CHECK(b.pending_tx() == 1);
  REQUIRE(b.flush().ok());
  auto at_a = pump(a, nullptr, 1);
  REQUIRE(at_a.size() == 1);
  CHECK(at_a[0].from == b.local_address());
  CHECK(at_a[0].payload == to_bytes("pong!"));
  CHECK(dpdk_counters(b)->arp_requests_sent == 0);
  CHECK(dpdk_counters(a)->rx_drop_bad_udp_checksum == 0);
  CHECK(dpdk_counters(b)->rx_drop_bad_ip_checksum == 0);
}

TEST_CASE("dpdk: bursts larger than the batch arrive complete and in order, counters exact",
          "[dpdk_io][dpdk][port]") {
  Pair pair;
  auto& a = *pair.a;
  auto& b = *pair.b;
  REQUIRE(a.enqueue(b.local_address(), to_bytes("arp")));
  REQUIRE(pump(b, &a, 1).size() == 1);

  constexpr std::uint32_t kCount = 300;
  std::uint64_t bytes = 3;
  std::vector<Copied> got;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    if (a.pending_tx() == a.tx_capacity()) {
      REQUIRE(a.flush().ok());
      auto more = pump(b, nullptr, a.tx_capacity());
      got.insert(got.end(), more.begin(), more.end());
    }
    const std::size_t size = 4 + (i * 37) % (a.max_payload() - 3);
    bytes += size;
    REQUIRE(a.enqueue(b.local_address(), numbered(i, size)));
  }
  REQUIRE(a.flush().ok());
  auto more = pump(b, nullptr, kCount - got.size());
  got.insert(got.end(), more.begin(), more.end());
  REQUIRE(got.size() == kCount);
  for (std::uint32_t i = 0; i < kCount; ++i) {
    INFO("datagram " << i);
    CHECK(got[i].from == a.local_address());
    CHECK(got[i].payload == numbered(i, 4 + (i * 37) % (a.max_payload() - 3)));
  }
  CHECK(a.counters().tx_datagrams == kCount + 1);
  CHECK(a.counters().tx_bytes == bytes);
  CHECK(b.counters().rx_datagrams == kCount + 1);
  CHECK(b.counters().rx_bytes == bytes);
  CHECK(dpdk_counters(b)->rx_frames == kCount + 2);  // + the ARP request
}

TEST_CASE("dpdk: max_payload, full batch, unroutable, empty and copied payloads", "[dpdk_io][dpdk][port]") {
  Pair pair;
  auto& a = *pair.a;
  auto& b = *pair.b;
  REQUIRE(a.enqueue(b.local_address(), to_bytes("")));  // empty datagrams pass
  auto first = pump(b, &a, 1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].payload.empty());

  CHECK(a.enqueue(b.local_address(), numbered(1, a.max_payload())));
  CHECK_FALSE(a.enqueue(b.local_address(), numbered(2, a.max_payload() + 1)));
  CHECK(a.counters().tx_dropped_too_big == 1);
  CHECK_FALSE(a.enqueue(*PeerAddress::parse("[::1]:5"), to_bytes("v6")));
  CHECK_FALSE(a.enqueue(PeerAddress::v4({192, 168, 1, 1}, 5), to_bytes("off-link, no gateway")));
  CHECK(a.counters().tx_errors == 2);

  auto buffer = to_bytes("original");
  REQUIRE(a.enqueue(b.local_address(), buffer));
  buffer[0] = std::byte{'X'};
  while (a.pending_tx() < a.tx_capacity()) REQUIRE(a.enqueue(b.local_address(), to_bytes("fill")));
  CHECK_FALSE(a.enqueue(b.local_address(), to_bytes("one too many")));
  CHECK(a.counters().tx_dropped_full == 1);
  auto flushed = a.flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == a.tx_capacity());
  auto got = pump(b, nullptr, a.tx_capacity());
  REQUIRE(got.size() == a.tx_capacity());
  CHECK(got[0].payload == numbered(1, a.max_payload()));
  CHECK(got[1].payload == to_bytes("original"));
}

TEST_CASE("dpdk: payload views stay valid until the next receive", "[dpdk_io][dpdk][port]") {
  Pair pair;
  auto& a = *pair.a;
  auto& b = *pair.b;
  REQUIRE(a.enqueue(b.local_address(), to_bytes("arp")));
  REQUIRE(pump(b, &a, 1).size() == 1);
  for (std::uint32_t i = 0; i < 4; ++i) REQUIRE(a.enqueue(b.local_address(), numbered(i, 100)));
  REQUIRE(a.flush().ok());
  std::vector<ReceivedDatagram> out(2);
  auto n = b.receive_burst(out);
  REQUIRE(n.ok());
  REQUIRE(*n == 2);
  // Allocate and send more while holding the views: the held mbufs are not reused.
  for (std::uint32_t i = 10; i < 14; ++i) REQUIRE(b.enqueue(a.local_address(), numbered(i, 100)));
  REQUIRE(b.flush().ok());
  CHECK(std::vector<std::byte>(out[0].payload.begin(), out[0].payload.end()) == numbered(0, 100));
  CHECK(std::vector<std::byte>(out[1].payload.begin(), out[1].payload.end()) == numbered(1, 100));
  auto rest = pump(b, nullptr, 2);
  REQUIRE(rest.size() == 2);
  CHECK(rest[1].payload == numbered(3, 100));
}

TEST_CASE("dpdk: would_block keeps datagrams queued in order", "[dpdk_io][dpdk][port]") {
  Pair pair;
  auto& a = *pair.a;
  auto& b = *pair.b;
  REQUIRE(a.enqueue(b.local_address(), to_bytes("arp")));
  REQUIRE(pump(b, &a, 1).size() == 1);
  // b does not read: the 1024-slot ring fills.
  std::uint32_t sequence = 0;
  bool blocked = false;
  for (int round = 0; round < 200 && !blocked; ++round) {
    while (a.pending_tx() < a.tx_capacity()) REQUIRE(a.enqueue(b.local_address(), numbered(sequence++, 64)));
    auto flushed = a.flush();
    if (!flushed.ok()) {
      REQUIRE(flushed.error() == IoError::would_block);
      blocked = true;
    }
  }
  REQUIRE(blocked);
  const std::size_t queued = a.pending_tx();
  REQUIRE(queued > 0);
  CHECK(a.counters().tx_datagrams == 1 + sequence - queued);
  std::vector<Copied> got;
  for (int round = 0; round < 500 && got.size() < sequence; ++round) {
    auto more = pump(b, nullptr, 64, 20ms);
    got.insert(got.end(), more.begin(), more.end());
    if (a.pending_tx() > 0) (void)a.flush();
  }
  CHECK(a.pending_tx() == 0);
  REQUIRE(got.size() == sequence);
  for (std::uint32_t i = 0; i < sequence; ++i) {
    INFO("datagram " << i);
    CHECK(got[i].payload == numbered(i, 64));
  }
  CHECK(a.counters().tx_errors == 0);
}

TEST_CASE("dpdk: ARP requests for our address are answered, others dropped and counted",
          "[dpdk_io][dpdk][port][raw]") {
  Raw raw;
  std::vector<ReceivedDatagram> out(8);
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::request, {10, 0, 0, 77}, detail::kBroadcastMac)));
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::request, {10, 0, 0, 1}, detail::kBroadcastMac)));
  CHECK(raw.receive(out) == 0);
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  auto reply = as_arp(frames[0]);
  REQUIRE(reply);
  CHECK(std::memcmp(frames[0].data(), kPeerMac.data(), 6) == 0);
  CHECK(reply->operation == detail::ArpOperation::reply);
  CHECK(reply->sender_mac == kMacA);
  CHECK(reply->sender_ip == Ipv4Address{10, 0, 0, 1});
  CHECK(reply->target_mac == kPeerMac);
  CHECK(reply->target_ip == kPeerIp);
  const auto counters = raw.counters();
  CHECK(counters.rx_drop_not_for_us == 1);
  CHECK(counters.arp_requests_received == 1);
  CHECK(counters.arp_replies_sent == 1);
  CHECK(counters.tx_frames == 1);

  // The requester was learned: a datagram to it leaves at once, to its MAC.
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("hi")));
  REQUIRE(raw.a->flush().ok());
  frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  CHECK(std::memcmp(frames[0].data(), kPeerMac.data(), 6) == 0);
}

TEST_CASE("dpdk: an ICMP echo request is answered", "[dpdk_io][dpdk][port][raw]") {
  Raw raw;
  auto frame = udp_frame("");
  const std::size_t ip = detail::kEthernetHeader;
  const std::size_t icmp = ip + detail::kIpv4Header;
  frame.resize(icmp + 8 + 32);
  frame[ip + 9] = static_cast<std::byte>(detail::kProtocolIcmp);
  detail::store16(frame, ip + 2, static_cast<std::uint16_t>(frame.size() - ip));
  fix_ip_checksum(frame);
  std::fill(frame.begin() + static_cast<std::ptrdiff_t>(icmp), frame.end(), std::byte{0});
  frame[icmp] = std::byte{8};
  detail::store16(frame, icmp + 4, 0xbeef);
  detail::store16(frame, icmp + 6, 42);
  for (std::size_t i = icmp + 8; i < frame.size(); ++i) frame[i] = static_cast<std::byte>(i);
  detail::store16(frame, icmp + 2,
                  detail::checksum_finish(detail::checksum_add(std::span(frame).subspan(icmp))));
  REQUIRE(raw.link->inject(frame));
  std::vector<ReceivedDatagram> out(8);
  CHECK(raw.receive(out) == 0);
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  const auto& reply = frames[0];
  REQUIRE(reply.size() == frame.size());
  CHECK(std::memcmp(reply.data(), kPeerMac.data(), 6) == 0);
  CHECK(std::memcmp(reply.data() + ip + 12, std::array<std::uint8_t, 4>{10, 0, 0, 1}.data(), 4) == 0);
  CHECK(std::memcmp(reply.data() + ip + 16, kPeerIp.data(), 4) == 0);
  CHECK(reply[icmp] == std::byte{0});
  CHECK(detail::load16(reply, icmp + 4) == 0xbeef);
  CHECK(detail::load16(reply, icmp + 6) == 42);
  CHECK(std::memcmp(reply.data() + icmp + 8, frame.data() + icmp + 8, 32) == 0);
  CHECK(detail::checksum_finish(detail::checksum_add(std::span(reply).subspan(ip, detail::kIpv4Header))) ==
        0);
  CHECK(detail::checksum_finish(detail::checksum_add(std::span(reply).subspan(icmp))) == 0);
  CHECK(raw.counters().icmp_echo_answered == 1);
}

TEST_CASE("dpdk: malformed frames are dropped and counted without disturbing traffic",
          "[dpdk_io][dpdk][port][raw]") {
  Raw raw;
  const std::size_t ip = detail::kEthernetHeader;
  auto bad_ip_checksum = udp_frame("x");
  bad_ip_checksum[ip + 8] = std::byte{1};
  auto bad_udp_checksum = udp_frame("abc");
  bad_udp_checksum.back() ^= std::byte{0xff};
  auto truncated = udp_frame("truncated payload");
  truncated.resize(truncated.size() - 3);
  auto fragment = udp_frame("frag");
  detail::store16(fragment, ip + 6, 0x2000);
  fix_ip_checksum(fragment);
  auto version = udp_frame("v");
  version[ip] = std::byte{0x65};
  auto ipv6 = udp_frame("v6");
  detail::store16(ipv6, 12, 0x86dd);
  auto other_port = udp_frame("port", 1001);
  auto runt = std::vector<std::byte>(10);
  auto multicast_source = udp_frame("group");
  multicast_source[6] = std::byte{0x01};
  auto martian = udp_frame("loopback");
  martian[ip + 12] = std::byte{127};
  fix_ip_checksum(martian);
  auto bad_arp = arp_frame(detail::ArpOperation::request, {10, 0, 0, 1}, detail::kBroadcastMac);
  bad_arp[detail::kEthernetHeader + 4] = std::byte{8};  // hardware length 8

  const std::vector<std::vector<std::byte>> frames{udp_frame("one"), bad_ip_checksum,
                                                   bad_udp_checksum, udp_frame("two"),
                                                   truncated,        fragment,
                                                   version,          ipv6,
                                                   other_port,       runt,
                                                   bad_arp,          multicast_source,
                                                   martian,          udp_frame("three")};
  for (const auto& frame : frames) REQUIRE(raw.link->inject(frame));
  std::vector<Copied> got;
  std::vector<ReceivedDatagram> out(4);
  for (int round = 0; round < 10; ++round) {
    const std::size_t n = raw.receive(out);
    for (std::size_t i = 0; i < n; ++i)
      got.push_back({out[i].from, {out[i].payload.begin(), out[i].payload.end()}});
  }
  REQUIRE(got.size() == 3);
  CHECK(got[0].payload == to_bytes("one"));
  CHECK(got[1].payload == to_bytes("two"));
  CHECK(got[2].payload == to_bytes("three"));
  CHECK(got[2].from == kPeer);
  const auto counters = raw.counters();
  CHECK(counters.rx_frames == frames.size());
  CHECK(counters.rx_drop_bad_ip_checksum == 1);
  CHECK(counters.rx_drop_bad_udp_checksum == 1);
  CHECK(counters.rx_drop_bad_ip_header == 2);  // truncated, version 6
  CHECK(counters.rx_drop_fragment == 1);
  CHECK(counters.rx_drop_ethertype == 1);
  CHECK(counters.rx_drop_no_endpoint == 1);
  CHECK(counters.rx_drop_bad_ethernet == 1);
  CHECK(counters.rx_drop_bad_arp == 1);
  CHECK(counters.rx_drop_bad_address == 2);
  CHECK(raw.a->counters().rx_datagrams == 3);
  CHECK(raw.link->capture().empty());  // nothing answered
}

TEST_CASE("dpdk: datagrams wait for ARP, the wait queue is bounded, a failed resolution drops them",
          "[dpdk_io][dpdk][port][raw]") {
  DpdkConfig overrides;
  overrides.arp_pending_limit = 4;
  Raw raw(overrides);
  for (std::uint32_t i = 0; i < 4; ++i) REQUIRE(raw.a->enqueue(kPeer, numbered(i, 20)));
  CHECK_FALSE(raw.a->enqueue(kPeer, numbered(4, 20)));
  CHECK(raw.counters().arp_queue_overflow == 1);
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  auto request = as_arp(frames[0]);
  REQUIRE(request);
  CHECK(request->operation == detail::ArpOperation::request);
  CHECK(request->target_ip == kPeerIp);
  CHECK(std::memcmp(frames[0].data(), detail::kBroadcastMac.data(), 6) == 0);

  SECTION("the answer releases them in order") {
    REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::reply, {10, 0, 0, 1}, kMacA)));
    std::vector<ReceivedDatagram> out(8);
    CHECK(raw.receive(out) == 0);
    frames = raw.link->capture();
    REQUIRE(frames.size() == 4);
    for (std::uint32_t i = 0; i < 4; ++i) {
      CHECK(std::memcmp(frames[i].data(), kPeerMac.data(), 6) == 0);
      const auto parsed = detail::parse_frame(frames[i], {kPeerMac, kPeerIp});
      REQUIRE(parsed.kind == detail::FrameKind::udp);
      CHECK(std::vector<std::byte>(frames[i].begin() + static_cast<std::ptrdiff_t>(parsed.payload_offset),
                                   frames[i].end()) == numbered(i, 20));
    }
    CHECK(raw.a->counters().tx_datagrams == 4);
    CHECK(raw.counters().arp_replies_received == 1);
  }
  SECTION("no answer: three requests, then the datagrams are dropped") {
    std::vector<ReceivedDatagram> out(8);
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (raw.counters().arp_resolution_failures == 0 && std::chrono::steady_clock::now() < deadline) {
      (void)raw.receive(out);
      std::this_thread::sleep_for(5ms);
    }
    const auto counters = raw.counters();
    CHECK(counters.arp_resolution_failures == 1);
    CHECK(counters.arp_requests_sent == 3);
    CHECK(counters.arp_dropped_unresolved == 4);
    CHECK(raw.link->capture().size() == 2);  // the two retries
    CHECK(raw.a->counters().tx_datagrams == 0);
  }
}

TEST_CASE("dpdk: an old ARP entry is refreshed without holding datagrams back",
          "[dpdk_io][dpdk][port][raw]") {
  DpdkConfig overrides;
  overrides.arp_cache_ttl = 100ms;
  Raw raw(overrides);
  std::vector<ReceivedDatagram> out(8);
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("first")));
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::reply, {10, 0, 0, 1}, kMacA)));
  CHECK(raw.receive(out) == 0);
  CHECK(raw.link->capture().size() == 2);  // request, datagram
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("fresh")));
  REQUIRE(raw.a->flush().ok());
  CHECK(raw.link->capture().size() == 1);
  CHECK(raw.counters().arp_requests_sent == 1);

  std::this_thread::sleep_for(150ms);
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("old entry")));
  CHECK(raw.a->pending_tx() == 1);  // sent at once, to the MAC we know
  REQUIRE(raw.a->flush().ok());
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 2);
  CHECK(as_arp(frames[0]));  // the refresh goes first
  CHECK(std::memcmp(frames[1].data(), kPeerMac.data(), 6) == 0);
  CHECK(raw.counters().arp_requests_sent == 2);
  CHECK(raw.counters().arp_refreshes == 1);
}

TEST_CASE("dpdk: ARP from a known neighbour updates it, whoever it asks about",
          "[dpdk_io][dpdk][port][raw]") {
  Raw raw;
  std::vector<ReceivedDatagram> out(8);
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("first")));
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::reply, {10, 0, 0, 1}, kMacA)));
  CHECK(raw.receive(out) == 0);
  CHECK(raw.link->capture().size() == 2);

  // The neighbour moved to another NIC and announces it (a request for someone else).
  const MacAddress moved{0x02, 0, 0, 0, 0, 0x77};
  auto announce = arp_frame(detail::ArpOperation::request, {10, 0, 0, 50}, detail::kBroadcastMac);
  std::memcpy(announce.data() + 6, moved.data(), 6);
  std::memcpy(announce.data() + detail::kEthernetHeader + 8, moved.data(), 6);
  REQUIRE(raw.link->inject(announce));
  // A stranger's ARP for someone else teaches nothing.
  auto stranger = arp_frame(detail::ArpOperation::request, {10, 0, 0, 50}, detail::kBroadcastMac);
  stranger[detail::kEthernetHeader + 14 + 3] = std::byte{33};  // sender 10.0.0.33
  REQUIRE(raw.link->inject(stranger));
  CHECK(raw.receive(out) == 0);
  CHECK(raw.counters().rx_drop_not_for_us == 2);
  REQUIRE(raw.a->enqueue(kPeer, to_bytes("to the new MAC")));
  REQUIRE(raw.a->enqueue(PeerAddress::v4({10, 0, 0, 33}, 9000), to_bytes("unknown")));
  REQUIRE(raw.a->flush().ok());
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 2);
  REQUIRE(as_arp(frames[0]));  // 10.0.0.33 still has to be resolved (its request leaves at once)
  CHECK(as_arp(frames[0])->target_ip == Ipv4Address{10, 0, 0, 33});
  CHECK(std::memcmp(frames[1].data(), moved.data(), 6) == 0);
}

TEST_CASE("dpdk: off-link destinations go through the gateway", "[dpdk_io][dpdk][port][raw]") {
  DpdkConfig overrides;
  overrides.gateway = std::array<std::uint8_t, 4>{10, 0, 0, 9};
  Raw raw(overrides);
  const PeerAddress far = PeerAddress::v4({192, 168, 5, 5}, 443);
  REQUIRE(raw.a->enqueue(far, to_bytes("via gateway")));
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  REQUIRE(as_arp(frames[0]));
  CHECK(as_arp(frames[0])->target_ip == kPeerIp);
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::reply, {10, 0, 0, 1}, kMacA)));
  std::vector<ReceivedDatagram> out(8);
  CHECK(raw.receive(out) == 0);
  frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  CHECK(std::memcmp(frames[0].data(), kPeerMac.data(), 6) == 0);
  const auto parsed = detail::parse_frame(frames[0], {kPeerMac, {192, 168, 5, 5}});
  REQUIRE(parsed.kind == detail::FrameKind::udp);
  CHECK(parsed.payload_length == 11);
}

}  // namespace hoplink::dio
