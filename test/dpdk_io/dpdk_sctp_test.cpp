// An SCTP association (usrsctp, AF_CONN, CRC32c on) over two DPDK ports joined by net_ring rings, in one
// process: what hoplink does between two hosts, with ARP, IPv4 and UDP built and checked by the DPDK backend
// on every packet, and the bytes checked end to end in both directions.
#include <catch2/catch.hpp>
#include <chrono>

#include "../sctp/harness.hpp"
#include "dpdk_test_support.hpp"
#include "sctp/stack.hpp"

namespace hoplink::dio {

using namespace dpdk_test;

TEST_CASE("dpdk + sctp: an association over two net_ring ports carries bytes both ways intact",
          "[dpdk_io][dpdk][sctp]") {
  Pair pair;
  DatagramIo& a = *pair.a;
  DatagramIo& b = *pair.b;

  // One Stack per process hosts both ends: the client's packets for `toward_b` leave through port a to b's
  // address; port b hands them to the Stack as coming from `toward_a`, and back.
  sctp::PeerToken toward_b;
  sctp::PeerToken toward_a;
  auto created = sctp::Stack::create({}, [&](sctp::PeerToken to, std::span<const std::byte> packet) {
    if (to == toward_b) {
      a.enqueue(b.local_address(), packet);
    } else if (to == toward_a) {
      b.enqueue(a.local_address(), packet);
    }
  });
  REQUIRE(created.ok());
  auto& stack = *created.value();
  toward_b = stack.register_peer(true);
  toward_a = stack.register_peer(true);

  constexpr std::uint64_t kBytes = 16 * 1024 * 1024;
  sctp::AssociationConfig config;
  config.mtu = 1200;
  sctp::test::Endpoint server;
  server.to_send = kBytes;
  server.send_seed = 2;
  server.receive_seed = 1;
  REQUIRE(stack
              .listen(config,
                      [&](std::unique_ptr<sctp::Association> association) {
                        server.association = std::move(association);
                        server.connected = true;
                        server.association->set_events(server);
                        server.push();
                      })
              .ok());
  sctp::test::Endpoint client;
  client.to_send = kBytes;
  client.send_seed = 1;
  client.receive_seed = 2;
  auto connected = stack.connect(toward_b, config, client);
  REQUIRE(connected.ok());
  client.association = std::move(connected).value();

  std::vector<ReceivedDatagram> burst(64);
  auto deliver = [&](DatagramIo& port, sctp::PeerToken from) {
    auto n = port.receive_burst(burst);
    if (!n.ok()) return;  // never for DPDK; the byte counts below would tell
    for (std::size_t i = 0; i < *n; ++i) stack.receive_packet(from, burst[i].payload);
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while ((client.received < kBytes || server.received < kBytes) &&
         std::chrono::steady_clock::now() < deadline) {
    deliver(a, toward_b);
    deliver(b, toward_a);
    const auto now = std::chrono::steady_clock::now();
    stack.handle_timers(now);
    // What the event loop does for a paced association (congestion control bbr, the default): release the
    // paths whose release time has come.
    stack.release_paced(now);
    stack.dispatch_events();
    (void)a.flush();
    (void)b.flush();
  }
  CHECK(client.connected);
  CHECK(client.content_ok);
  CHECK(server.content_ok);
  CHECK(client.received == kBytes);
  CHECK(server.received == kBytes);
  CHECK(stack.counters().dropped_bad_checksum == 0);
  const auto counters_a = *dpdk_counters(a);
  const auto counters_b = *dpdk_counters(b);
  CHECK(counters_a.arp_requests_sent == 1);  // the INIT waited for the one resolution
  CHECK(counters_b.arp_replies_sent == 1);
  CHECK(counters_a.rx_drop_bad_udp_checksum + counters_b.rx_drop_bad_udp_checksum == 0);
  CHECK(counters_a.rx_drop_bad_ip_checksum + counters_b.rx_drop_bad_ip_checksum == 0);
  CHECK(a.counters().rx_datagrams > kBytes / config.mtu / 2);  // at least the SACKs; b got the data
  CHECK(b.counters().rx_datagrams > kBytes / config.mtu);
  client.association.reset();
  server.association.reset();
  stack.dispatch_events();
}

}  // namespace hoplink::dio
