// The state one DPDK port shares between its endpoints: the port and its pool, our addresses, the ARP
// table, the frames the interface sends on its own (ARP, ICMP echo replies, datagrams released by ARP) and
// the table of endpoints by UDP port. Private to the dpdk_io_dpdk target.
#pragma once

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dpdk_arp.hpp"
#include "dpdk_eal.hpp"
#include "dpdk_io/dpdk_port.hpp"
#include "dpdk_ipv4_udp.hpp"
#include "dpdk_tx_queue.hpp"
#include "dpdk_wake.hpp"

namespace hoplink::dio {
namespace detail {

// Datagrams received for one endpoint and not yet handed to its owner: a fixed ring of mbufs with the
// payload's place in each. Owned by the endpoint, filled by whichever endpoint polls the port.
class Inbox {
 public:
  struct Entry {
    rte_mbuf* mbuf = nullptr;
    PeerAddress from;
    std::uint16_t offset = 0;
    std::uint16_t length = 0;
  };

  Inbox(std::size_t capacity, IoCounters& counters, WakeFd& wake)
      : ring_(capacity), counters_(counters), wake_(wake) {}
  ~Inbox() {
    while (count_ > 0) rte_pktmbuf_free(pop().mbuf);
  }
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  std::size_t size() const { return count_; }
  std::size_t capacity() const { return ring_.size(); }
  bool push(const Entry& entry) {
    if (count_ == ring_.size()) return false;
    ring_[(head_ + count_++) % ring_.size()] = entry;
    return true;
  }
  Entry pop() {
    const Entry entry = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --count_;
    return entry;
  }

  IoCounters& counters() { return counters_; }
  WakeFd& wake() { return wake_; }
  bool waiting = false;  // between prepare_wait() and end_wait(): poke wake() when a datagram arrives

 private:
  std::vector<Entry> ring_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  IoCounters& counters_;
  WakeFd& wake_;
};

}  // namespace detail

struct DpdkInterface::Core {
  Core(const DpdkConfig& config, detail::Eal* eal);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  Result<void, std::string> start();

  // Registers `inbox` for `udp_port` (0: a free ephemeral port). Returns the port.
  Result<std::uint16_t, std::string> attach(std::uint16_t udp_port, detail::Inbox& inbox);
  void detach(std::uint16_t udp_port);

  // Takes one burst from the port: datagrams go to their endpoints' inboxes (an endpoint that waits, other
  // than `caller`, is woken), ARP and ICMP echo are answered, the rest is dropped and counted. Runs the ARP
  // timers and sends the interface's own frames. Returns the frames taken from the port.
  std::size_t poll(const detail::Inbox* caller);
  // `counters` with the driver's statistics filled in.
  DpdkCounters snapshot() const;
  // ARP timers and the interface's own frames, without receiving.
  void service();

  enum class Prepared : std::uint8_t { ready, parked, unroutable, no_mbuf, arp_queue_full };
  // Builds the frame of a datagram (IPv4 `to`, payload within max_payload) from `source_port`, copying the
  // payload once. ready: `frame` is the caller's to send; parked: the ARP table holds it until the next hop
  // answers; otherwise nothing was built (DpdkCounters say why where they have a field).
  Prepared prepare_datagram(std::uint16_t source_port, const PeerAddress& to,
                            std::span<const std::byte> payload, rte_mbuf*& frame);

  // Rx interrupts are enabled while at least one endpoint waits.
  void begin_wait();
  void end_wait();
  // The rx queue's interrupt descriptor when rx interrupts are on, else -1.
  int interrupt_fd() const { return interrupt_fd_; }

  std::size_t max_payload() const { return config.mtu - kIpv4UdpHeaderBytes; }
  PeerAddress address(std::uint16_t udp_port) const { return PeerAddress::v4(local.ip, udp_port); }

  DpdkConfig config;
  detail::Eal* eal;
  detail::LocalIdentity local;
  DpdkInterfaceInfo info;
  DpdkCounters counters;
  std::uint16_t port_id = 0;

 private:
  struct Endpoint {
    std::uint16_t udp_port = 0;
    detail::Inbox* inbox = nullptr;
  };

  Result<void, std::string> configure(bool rx_interrupts);
  detail::Inbox* find(std::uint16_t udp_port);
  std::optional<detail::Ipv4Address> next_hop(const detail::Ipv4Address& destination) const;
  void poll_arp(detail::ArpClock::time_point now);
  void send_arp_request(const detail::Ipv4Address& target);
  void push_control(rte_mbuf* mbuf, std::int32_t payload_bytes, std::uint16_t source_port = 0);
  void send_control();
  void handle_arp(rte_mbuf* mbuf, const detail::ParsedFrame& parsed, detail::ArpClock::time_point now);
  void deliver(rte_mbuf* mbuf, const detail::ParsedFrame& parsed, const detail::Inbox* caller);
  void count_drop(detail::DropReason reason);

  detail::Ipv4Address netmask_{};
  rte_mempool* pool_ = nullptr;
  bool configured_ = false;
  bool started_ = false;
  detail::ChecksumMode checksum_mode_ = detail::ChecksumMode::software;
  std::uint16_t next_ip_id_ = 0;
  std::uint16_t next_ephemeral_ = 0;
  int interrupt_fd_ = -1;  // owned by DPDK
  bool interrupt_is_eventfd_ = false;
  int waiters_ = 0;
  detail::ArpTable arp_;
  std::vector<rte_mbuf*> rx_;
  std::vector<Endpoint> endpoints_;
  detail::TxQueue control_;
};

}  // namespace hoplink::dio
