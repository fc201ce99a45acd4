// One DPDK interface, several endpoints: demultiplexing by UDP port, ephemeral ports, the bounded queue of
// each endpoint, wake-ups of a sleeping endpoint, and endpoints that outlive the interface object.
#include <poll.h>

#include <catch2/catch.hpp>
#include <vector>

#include "dpdk_test_support.hpp"

namespace hoplink::dio {

using namespace dpdk_test;

namespace {

bool readable(int fd) {
  pollfd ready{fd, POLLIN, 0};
  return ::poll(&ready, 1, 0) == 1;
}

}  // namespace

TEST_CASE("dpdk interface: datagrams reach the endpoint of their destination port",
          "[dpdk_io][dpdk][interface]") {
  Raw raw;
  auto second = raw.interface->open_endpoint(0);
  REQUIRE(second.ok());
  auto& b = *second.value();
  const auto port = b.local_address().port();
  CHECK(port >= 49152);
  CHECK(b.local_address().host_string() == "10.0.0.1");
  CHECK_FALSE(raw.interface->open_endpoint(1000).ok());  // taken
  CHECK_FALSE(raw.interface->open_endpoint(port).ok());

  REQUIRE(raw.link->inject(udp_frame("to a")));
  REQUIRE(raw.link->inject(udp_frame("to b", port)));
  REQUIRE(raw.link->inject(udp_frame("to nobody", 7)));
  std::vector<ReceivedDatagram> out(8);
  // Whichever endpoint polls, each datagram waits in its own endpoint's queue.
  REQUIRE(Raw::receive(b, out) == 1);
  CHECK(std::vector<std::byte>(out[0].payload.begin(), out[0].payload.end()) == to_bytes("to b"));
  CHECK(out[0].from == kPeer);
  REQUIRE(raw.receive(out) == 1);
  CHECK(std::vector<std::byte>(out[0].payload.begin(), out[0].payload.end()) == to_bytes("to a"));
  CHECK(raw.counters().rx_drop_no_endpoint == 1);
  CHECK(raw.a->counters().rx_datagrams == 1);
  CHECK(b.counters().rx_datagrams == 1);

  // Replies leave from each endpoint's own port.
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::reply, {10, 0, 0, 1}, kMacA)));
  (void)raw.receive(out);
  REQUIRE(b.enqueue(kPeer, to_bytes("from b")));
  REQUIRE(b.flush().ok());
  auto frames = raw.link->capture();
  REQUIRE(frames.size() == 1);
  const auto parsed = detail::parse_frame(frames[0], {kPeerMac, kPeerIp});
  REQUIRE(parsed.kind == detail::FrameKind::udp);
  CHECK(parsed.source_port == port);

  // A closed endpoint's port is free again, and its datagrams are dropped.
  second.value().reset();
  REQUIRE(raw.link->inject(udp_frame("late", port)));
  (void)raw.receive(out);
  CHECK(raw.counters().rx_drop_no_endpoint == 2);
  CHECK(raw.interface->open_endpoint(port).ok());
}

TEST_CASE("dpdk interface: an endpoint that does not read loses datagrams beyond its queue, others do not",
          "[dpdk_io][dpdk][interface]") {
  DpdkConfig overrides;
  overrides.endpoint_queue = 16;
  Raw raw(overrides);
  auto other = raw.interface->open_endpoint(2000);
  REQUIRE(other.ok());
  for (std::uint32_t i = 0; i < 40; ++i) REQUIRE(raw.link->inject(udp_frame("stuck")));
  REQUIRE(raw.link->inject(udp_frame("other", 2000)));
  std::vector<ReceivedDatagram> out(8);
  std::size_t got = 0;
  for (int round = 0; round < 10; ++round) got += Raw::receive(*other.value(), out);
  CHECK(got == 1);
  CHECK(raw.counters().rx_drop_endpoint_full == 40 - 16);
  std::size_t kept = 0;
  for (int round = 0; round < 10; ++round) kept += raw.receive(out);
  CHECK(kept == 16);
}

TEST_CASE("dpdk interface: a waiting endpoint is woken when another's poll brings it datagrams",
          "[dpdk_io][dpdk][interface]") {
  Raw raw;
  auto second = raw.interface->open_endpoint(2000);
  REQUIRE(second.ok());
  auto& b = *second.value();
  CHECK(b.poll_policy().idle_sleep == DpdkConfig{}.poll.idle_sleep);
  const int fd = b.prepare_wait();
  REQUIRE(fd >= 0);
  CHECK(b.prepare_wait() == fd);
  CHECK_FALSE(readable(fd));

  std::vector<ReceivedDatagram> out(8);
  REQUIRE(raw.link->inject(udp_frame("for a")));
  CHECK(raw.receive(out) == 1);
  CHECK_FALSE(readable(fd));  // nothing for b
  REQUIRE(raw.link->inject(udp_frame("for b", 2000)));
  CHECK(raw.receive(out) == 0);
  CHECK(readable(fd));
  b.end_wait();
  CHECK_FALSE(readable(fd));
  REQUIRE(Raw::receive(b, out) == 1);

  // Datagrams already queued when it prepares to wait: readable at once.
  REQUIRE(raw.link->inject(udp_frame("for b again", 2000)));
  CHECK(raw.receive(out) == 0);
  CHECK(b.prepare_wait() == fd);
  CHECK(readable(fd));
  b.end_wait();
  CHECK(Raw::receive(b, out) == 1);
}

TEST_CASE("dpdk interface: endpoints keep the port open after the interface object is gone",
          "[dpdk_io][dpdk][interface]") {
  Raw raw;
  auto second = raw.interface->open_endpoint(2000);
  REQUIRE(second.ok());
  CHECK(raw.interface->info().mac == kMacA);
  CHECK_FALSE(raw.interface->info().tx_checksum_offload);  // net_ring has none
  CHECK_FALSE(raw.interface->info().rx_interrupts);
  raw.interface.reset();
  REQUIRE(raw.link->inject(udp_frame("still here", 2000)));
  std::vector<ReceivedDatagram> out(8);
  CHECK(Raw::receive(*second.value(), out) == 1);
  REQUIRE(raw.link->inject(arp_frame(detail::ArpOperation::request, {10, 0, 0, 1}, detail::kBroadcastMac)));
  CHECK(raw.receive(out) == 0);
  CHECK(raw.link->capture().size() == 1);  // the ARP reply
}

}  // namespace hoplink::dio
