// The DPDK backend of DatagramIo: UDP datagrams sent and received as Ethernet frames through one DPDK port,
// with the little L2/L3 a host needs (ARP, IPv4, UDP, ICMP echo) done here. This header includes no DPDK
// header; only the dpdk_io_dpdk target does.
//
// One DpdkInterface owns the port, its IPv4 address, the ARP table and the frames that are not datagrams;
// it hands out one DatagramIo per local UDP port (received datagrams are demultiplexed by destination port),
// so that several endpoints of one process (a bridge's server endpoint, a client's outgoing one) share the
// port as they would share a kernel's IP address.
//
// The EAL (DPDK's runtime) can be initialised once per process: the first call of DpdkInterface::open(),
// open_dpdk_port() or init_dpdk_eal() does it with its arguments, later calls must pass the same arguments
// (or none). Not thread-safe; call everything from one thread (the EAL's main lcore thread).
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
#include "dpdk_io/headers.hpp"

namespace hoplink::dio {

struct DpdkConfig {
  // EAL arguments without the program name, e.g. {"--no-huge", "-m", "512", "--no-pci", "--no-shconf",
  // "--vdev=net_tap0"}.
  std::vector<std::string> eal_args;
  // The port: an ethdev name ("net_tap0", "0000:03:00.0"); when no such port exists yet it is probed as a
  // device string ("net_af_packet0,iface=veth0").
  std::string port;
  // Our IPv4 address on that link. The port is the UDP port of open_dpdk_port()'s endpoint; DpdkInterface
  // ignores it (each endpoint names its own).
  PeerAddress address;
  std::uint8_t prefix_length = 24;
  // Next hop for destinations outside the prefix; without one they are refused (tx_errors).
  std::optional<std::array<std::uint8_t, 4>> gateway;
  // The MAC to use instead of the port's (net_ring ports report 00:00:00:00:00:00); when the port has none
  // either, a random locally administered one is chosen.
  std::optional<std::array<std::uint8_t, 6>> mac;
  std::size_t mtu = 1500;        // IP MTU: max_payload() is mtu - kIpv4UdpHeaderBytes
  std::size_t burst = 32;        // frames per rx/tx burst, and tx_capacity()
  std::size_t pool_size = 4095;  // mbufs in this port's pool (descriptor rings + bursts + ARP queue)
  std::size_t rx_descriptors = 512;
  std::size_t tx_descriptors = 512;
  std::chrono::milliseconds arp_timeout{1000};  // between ARP requests; 3 unanswered ones fail a resolution
  // How long an answer is trusted. An older entry is still used while it is refreshed in the background (3
  // requests); only when the refresh fails is it forgotten, so a busy link never stalls on ARP.
  std::chrono::milliseconds arp_cache_ttl{60000};
  std::size_t arp_pending_limit = 64;  // datagrams waiting for ARP, beyond which enqueue() drops them
  // Received datagrams an endpoint can hold before its owner reads them (more are dropped and counted).
  std::size_t endpoint_queue = 256;
  // Sleep on the port's rx interrupt while idle, where the driver has one (tap, most NICs under vfio-pci);
  // when it has none this is ignored (see DpdkInterfaceInfo) and idle polling uses the timer alone.
  bool rx_interrupts = false;
  PollPolicy poll;  // handed to callers by every endpoint's poll_policy()
};

// DPDK-specific counters, beside DatagramIo::counters().
struct DpdkCounters {
  std::uint64_t rx_frames = 0;  // every frame taken from the port
  std::uint64_t tx_frames = 0;  // every frame the port accepted (datagrams, ARP, ICMP)
  std::uint64_t rx_drop_bad_ethernet = 0;
  std::uint64_t rx_drop_ethertype = 0;
  std::uint64_t rx_drop_not_for_us = 0;  // another MAC or IP, ARP for another IP
  std::uint64_t rx_drop_bad_ip_header = 0;
  std::uint64_t rx_drop_bad_ip_checksum = 0;
  std::uint64_t rx_drop_bad_address =
      0;  // source MAC or IP that no host may use (multicast, broadcast, ours)
  std::uint64_t rx_drop_fragment = 0;
  std::uint64_t rx_drop_protocol = 0;
  std::uint64_t rx_drop_bad_udp_header = 0;
  std::uint64_t rx_drop_bad_udp_checksum = 0;
  std::uint64_t rx_drop_bad_icmp = 0;
  std::uint64_t rx_drop_bad_arp = 0;
  std::uint64_t rx_drop_multi_segment = 0;  // frames larger than one mbuf
  std::uint64_t rx_drop_no_endpoint = 0;    // a UDP port nobody opened
  std::uint64_t rx_drop_endpoint_full = 0;  // the endpoint's queue was full (its owner reads too slowly)
  std::uint64_t arp_requests_received = 0;  // for our address
  std::uint64_t arp_replies_sent = 0;
  std::uint64_t arp_requests_sent = 0;
  std::uint64_t arp_replies_received = 0;
  std::uint64_t arp_refreshes = 0;  // resolutions of an entry older than the TTL, still used meanwhile
  std::uint64_t arp_resolution_failures = 0;
  std::uint64_t arp_dropped_unresolved = 0;  // datagrams dropped with a failed resolution
  std::uint64_t arp_queue_overflow = 0;      // enqueue() refused: too many datagrams waiting for ARP
  std::uint64_t icmp_echo_answered = 0;
  std::uint64_t tx_no_mbuf = 0;          // the pool was empty: datagram or reply dropped
  std::uint64_t tx_control_dropped = 0;  // ARP/ICMP/released frames dropped: control queue full
  std::uint64_t rx_interrupt_wakeups = 0;  // idle waits that ended with the rx interrupt raised
  // The driver's own statistics (rte_eth_stats): frames lost before we could take them (a full rx ring, an
  // af_packet ring the kernel found full), refused as bad, or without an mbuf; frames it failed to send.
  std::uint64_t port_rx_missed = 0;
  std::uint64_t port_rx_errors = 0;
  std::uint64_t port_rx_no_mbuf = 0;
  std::uint64_t port_tx_errors = 0;
};

// What open() found out about the port.
struct DpdkInterfaceInfo {
  std::string driver;  // "net_af_packet", "net_tap", "net_ixgbe", ...
  std::array<std::uint8_t, 6> mac{};
  bool tx_checksum_offload = false;  // else computed in software
  bool rx_checksum_offload = false;  // the driver verifies (flags in the mbuf); else verified in software
  bool rx_interrupts = false;        // asked for and granted
};

class DpdkInterface {
 public:
  // Opens and starts the port. Errors (EAL arguments, no such port, configuration refused by the driver)
  // come back as a message.
  static Result<std::unique_ptr<DpdkInterface>, std::string> open(const DpdkConfig& config);
  ~DpdkInterface();
  DpdkInterface(const DpdkInterface&) = delete;
  DpdkInterface& operator=(const DpdkInterface&) = delete;

  // A DatagramIo for UDP port `udp_port` of the interface's address (0: a free port from 49152..65535).
  // Fails when the port is taken. An endpoint keeps the port open: the port closes when this object and
  // every endpoint are gone, in any order. The backend's name is "dpdk"; readiness_fd() is -1 (it is
  // polled; see DatagramIo::poll_policy).
  //
  // Differences from the kernel backend a caller may notice: a datagram to a destination that has no ARP
  // answer yet is accepted by enqueue() but leaves only when the answer arrives (it does not count in
  // pending_tx()); ARP and ICMP are answered by receive_burst() and flush() of any endpoint, which also send
  // the interface's own frames, so keep calling them. enqueue() refuses (false, tx_errors) IPv6 and
  // unroutable destinations at once rather than at flush().
  Result<std::unique_ptr<DatagramIo>, std::string> open_endpoint(std::uint16_t udp_port);

  // Our counters and the driver's statistics, as of now.
  DpdkCounters counters() const;
  DpdkInterfaceInfo info() const;

  struct Core;

 private:
  explicit DpdkInterface(std::shared_ptr<Core> core);
  std::shared_ptr<Core> core_;
};

// An interface with one endpoint on config.address's UDP port: the whole backend for a single user.
Result<std::unique_ptr<DatagramIo>, std::string> open_dpdk_port(const DpdkConfig& config);

// The counters of the interface behind an endpoint of DpdkInterface or open_dpdk_port(); nullopt for any
// other DatagramIo.
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
