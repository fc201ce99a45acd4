// The DPDK backend of DatagramIo: UDP datagrams sent and received as Ethernet frames through one DPDK port,
// with the little L2/L3 a host needs (ARP, IPv4, UDP, ICMP echo) done here. This header includes no DPDK
// header; only the dpdk_io_dpdk target does.
//
// The EAL (DPDK's runtime) can be initialised once per process: the first call of open_dpdk_port() or
// init_dpdk_eal() does it with its arguments, later calls must pass the same arguments (or none).
// Not thread-safe; call everything from one thread (the EAL's main lcore thread).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

struct DpdkConfig {
  // EAL arguments without the program name, e.g. {"--no-huge", "-m", "512", "--no-pci", "--no-shconf",
  // "--vdev=net_tap0"}.
  std::vector<std::string> eal_args;
  // The port: an ethdev name ("net_tap0", "0000:03:00.0"); when no such port exists yet it is probed as a
  // device string ("net_af_packet0,iface=veth0").
  std::string port;
  // Our IPv4 address and UDP port on that link.
  PeerAddress address;
  std::uint8_t prefix_length = 24;
  // Next hop for destinations outside the prefix; without one they are refused (tx_errors).
  std::optional<std::array<std::uint8_t, 4>> gateway;
  // The MAC to use instead of the port's (net_ring ports report 00:00:00:00:00:00); when the port has none
  // either, a random locally administered one is chosen.
  std::optional<std::array<std::uint8_t, 6>> mac;
  std::size_t mtu = 1500;        // IP MTU: max_payload() is mtu - 28
  std::size_t burst = 32;        // frames per rx/tx burst, and tx_capacity()
  std::size_t pool_size = 4095;  // mbufs in this port's pool (descriptor rings + bursts + ARP queue)
  std::size_t rx_descriptors = 512;
  std::size_t tx_descriptors = 512;
  std::chrono::milliseconds arp_timeout{1000};  // between ARP requests; 3 unanswered ones fail a resolution
  std::chrono::milliseconds arp_cache_ttl{60000};
  std::size_t arp_pending_limit = 64;  // datagrams waiting for ARP, beyond which enqueue() drops them
};

// DPDK-specific counters, beside DatagramIo::counters().
struct DpdkCounters {
  std::uint64_t rx_frames = 0;  // every frame taken from the port
  std::uint64_t tx_frames = 0;  // every frame the port accepted (datagrams, ARP, ICMP)
  std::uint64_t rx_drop_bad_ethernet = 0;
  std::uint64_t rx_drop_ethertype = 0;
  std::uint64_t rx_drop_not_for_us = 0;  // another MAC / IP / UDP port, ARP for another IP
  std::uint64_t rx_drop_bad_ip_header = 0;
  std::uint64_t rx_drop_bad_ip_checksum = 0;
  std::uint64_t rx_drop_fragment = 0;
  std::uint64_t rx_drop_protocol = 0;
  std::uint64_t rx_drop_bad_udp_header = 0;
  std::uint64_t rx_drop_bad_udp_checksum = 0;
  std::uint64_t rx_drop_bad_icmp = 0;
  std::uint64_t rx_drop_bad_arp = 0;
  std::uint64_t rx_drop_multi_segment = 0;  // frames larger than one mbuf
  std::uint64_t arp_requests_received = 0;  // for our address
  std::uint64_t arp_replies_sent = 0;
  std::uint64_t arp_requests_sent = 0;
  std::uint64_t arp_replies_received = 0;
  std::uint64_t arp_resolution_failures = 0;
  std::uint64_t arp_dropped_unresolved = 0;  // datagrams dropped with a failed resolution
  std::uint64_t arp_queue_overflow = 0;      // enqueue() refused: too many datagrams waiting for ARP
  std::uint64_t icmp_echo_answered = 0;
  std::uint64_t tx_no_mbuf = 0;          // the pool was empty: datagram or reply dropped
  std::uint64_t tx_control_dropped = 0;  // ARP/ICMP/released frames dropped: control queue full
};

// Opens and starts the port. Errors (EAL arguments, no such port, configuration refused by the driver) come
// back as a message. The backend's name is "dpdk"; readiness_fd() is -1 (it must be polled).
//
// Differences from the kernel backend a caller may notice: a datagram to a destination that has no ARP
// answer yet is accepted by enqueue() but leaves only when the answer arrives (it does not count in
// pending_tx()); ARP answers are processed by receive_burst(), which also sends the backend's own frames
// (ARP, ICMP echo replies, datagrams released by ARP), so keep calling it. enqueue() refuses (false,
// tx_errors) IPv6 and unroutable destinations at once rather than at flush().
Result<std::unique_ptr<DatagramIo>, std::string> open_dpdk_port(const DpdkConfig& config);

// The DPDK counters of a backend opened by open_dpdk_port(); nullopt for any other DatagramIo.
std::optional<DpdkCounters> dpdk_counters(const DatagramIo& io);

// Initialises the EAL once per process (see above). Idempotent with equal arguments.
Result<void, std::string> init_dpdk_eal(const std::vector<std::string>& eal_args);

// Test and loopback support: an Ethernet link made of two DPDK rings inside this process (no NIC, no root).
// Names must start with "net_ring_" (the ring driver's prefix). End `a` is an ethdev named `name_a` (open it
// with open_dpdk_port). End `b` is either a second ethdev named `name_b`, or, when name_b is empty, raw: the
// test writes frames into a's receive ring with inject() and reads what a transmitted with capture(). Destroy
// the link after the ports that use it are closed; frames still in the rings are freed then.
class DpdkRingLink {
 public:
  static Result<std::unique_ptr<DpdkRingLink>, std::string> create(const std::vector<std::string>& eal_args,
                                                                   const std::string& name_a,
                                                                   const std::string& name_b);
  ~DpdkRingLink();
  DpdkRingLink(const DpdkRingLink&) = delete;
  DpdkRingLink& operator=(const DpdkRingLink&) = delete;

  // Raw end only: queues one frame for port a; false when the ring or the link's pool is full.
  bool inject(std::span<const std::byte> frame);
  // Raw end only: the frames port a transmitted since the last call, oldest first.
  std::vector<std::vector<std::byte>> capture();

  struct Impl;

 private:
  explicit DpdkRingLink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::dio
