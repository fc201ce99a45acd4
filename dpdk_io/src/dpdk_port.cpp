// The DPDK DatagramIo backend: one port, one rx and one tx queue, UDP over IPv4 over Ethernet, with ARP and
// ICMP echo answered here. Received payloads are views into the mbufs (freed at the next receive_burst());
// enqueue() writes headers and copies the payload once into a fresh mbuf. No heap allocation per packet:
// every array is sized at open.
#include "dpdk_io/dpdk_port.hpp"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

#include "dpdk_arp.hpp"
#include "dpdk_eal.hpp"
#include "dpdk_ipv4_udp.hpp"

namespace hoplink::dio {
namespace {

using detail::ArpClock;
using detail::Ipv4Address;
using detail::MacAddress;

constexpr std::size_t kMaxBurst = 512;
constexpr std::size_t kMinMtu = 68;
constexpr std::size_t kMaxMtu = 9000;
// Room for the backend's own frames (ARP, ICMP replies, datagrams released by ARP) beyond the ARP queue.
constexpr std::size_t kControlSlack = 64;

std::span<std::byte> frame_of(rte_mbuf* mbuf) {
  return {rte_pktmbuf_mtod(mbuf, std::byte*), mbuf->data_len};
}

// Makes a single-segment mbuf `length` bytes long (growing into its tailroom); false when it cannot.
bool set_length(rte_mbuf* mbuf, std::size_t length) {
  if (length > static_cast<std::size_t>(mbuf->data_len) + rte_pktmbuf_tailroom(mbuf)) return false;
  mbuf->data_len = static_cast<std::uint16_t>(length);
  mbuf->pkt_len = static_cast<std::uint32_t>(length);
  return true;
}

// A fixed-capacity transmit queue; what tx_burst does not take stays at the front, in order.
class TxQueue {
 public:
  explicit TxQueue(std::size_t capacity) : mbufs_(capacity), payload_bytes_(capacity) {}
  ~TxQueue() { rte_pktmbuf_free_bulk(mbufs_.data(), static_cast<unsigned>(count_)); }

  std::size_t size() const { return count_; }
  bool full() const { return count_ == mbufs_.size(); }
  // payload_bytes < 0: not a datagram (ARP, ICMP).
  bool push(rte_mbuf* mbuf, std::int32_t payload_bytes) {
    if (full()) return false;
    mbufs_[count_] = mbuf;
    payload_bytes_[count_++] = payload_bytes;
    return true;
  }
  // Returns the datagrams sent; adds to the counters.
  std::size_t send(std::uint16_t port, IoCounters& io, DpdkCounters& dpdk) {
    if (count_ == 0) return 0;
    const std::uint16_t sent = rte_eth_tx_burst(port, 0, mbufs_.data(), static_cast<std::uint16_t>(count_));
    std::size_t datagrams = 0;
    for (std::size_t i = 0; i < sent; ++i) {
      if (payload_bytes_[i] < 0) continue;
      ++datagrams;
      io.tx_bytes += static_cast<std::uint64_t>(payload_bytes_[i]);
    }
    io.tx_datagrams += datagrams;
    dpdk.tx_frames += sent;
    std::move(mbufs_.begin() + sent, mbufs_.begin() + static_cast<std::ptrdiff_t>(count_), mbufs_.begin());
    std::move(payload_bytes_.begin() + sent, payload_bytes_.begin() + static_cast<std::ptrdiff_t>(count_),
              payload_bytes_.begin());
    count_ -= sent;
    return datagrams;
  }

 private:
  std::vector<rte_mbuf*> mbufs_;
  std::vector<std::int32_t> payload_bytes_;
  std::size_t count_ = 0;
};

class DpdkPort final : public DatagramIo {
 public:
  DpdkPort(const DpdkConfig& config, detail::Eal* eal)
      : config_(config),
        eal_(eal),
        arp_({config.arp_timeout, 3, config.arp_cache_ttl, config.arp_pending_limit, 256}),
        rx_(config.burst),
        held_(config.burst),
        tx_(config.burst),
        control_(config.arp_pending_limit + config.burst + kControlSlack) {
    std::memcpy(local_.ip.data(), config.address.address_bytes().data(), 4);
    local_.port = config.address.port();
    const std::uint32_t mask =
        config.prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - config.prefix_length);
    netmask_ = {static_cast<std::uint8_t>(mask >> 24), static_cast<std::uint8_t>(mask >> 16),
                static_cast<std::uint8_t>(mask >> 8), static_cast<std::uint8_t>(mask)};
  }

  ~DpdkPort() override {
    release_held();
    arp_.clear([](void* packet) { rte_pktmbuf_free(static_cast<rte_mbuf*>(packet)); });
    if (started_) rte_eth_dev_stop(port_);
    if (configured_) rte_eth_dev_close(port_);
    // The queues free their mbufs as members are destroyed, before the pool could be reused (it never is
    // freed: see Eal::acquire_pool).
    if (pool_ != nullptr) eal_->release_pool(pool_);
  }

  Result<void, std::string> start();

  Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) override;
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override;
  Result<std::size_t, IoError> flush() override;
  std::size_t pending_tx() const override { return tx_.size(); }
  std::size_t tx_capacity() const override { return config_.burst; }
  std::size_t max_payload() const override { return config_.mtu - detail::kIpv4Header - detail::kUdpHeader; }
  int readiness_fd() const override { return -1; }
  PeerAddress local_address() const override { return config_.address; }
  const IoCounters& counters() const override { return io_; }
  std::string_view backend_name() const override { return "dpdk"; }
  int last_errno() const override { return 0; }

  const DpdkCounters& dpdk() const { return dpdk_; }

 private:
  void release_held() {
    rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_count_));
    held_count_ = 0;
  }
  std::optional<Ipv4Address> next_hop(const Ipv4Address& destination) const;
  void poll_arp(ArpClock::time_point now);
  void send_arp_request(const Ipv4Address& target);
  void push_control(rte_mbuf* mbuf, std::int32_t payload_bytes);
  void handle_arp(rte_mbuf* mbuf, const detail::ParsedFrame& parsed, ArpClock::time_point now);
  void count_drop(detail::DropReason reason);

  DpdkConfig config_;
  detail::Eal* eal_;
  detail::LocalIdentity local_;
  Ipv4Address netmask_{};
  std::uint16_t port_ = 0;
  rte_mempool* pool_ = nullptr;
  bool configured_ = false;
  bool started_ = false;
  detail::ChecksumMode checksum_mode_ = detail::ChecksumMode::software;
  std::uint16_t next_ip_id_ = 0;

  detail::ArpTable arp_;
  std::vector<rte_mbuf*> rx_;
  std::vector<rte_mbuf*> held_;  // mbufs behind the payload views of the last receive_burst()
  std::size_t held_count_ = 0;
  TxQueue tx_;
  TxQueue control_;
  IoCounters io_;
  DpdkCounters dpdk_;
};

Result<void, std::string> DpdkPort::start() {
  const std::string& name = config_.port;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port_) != 0) {
    // Not an existing port: probe it as a device string ("net_af_packet0,iface=veth0").
    if (const int rc = rte_dev_probe(name.c_str()); rc < 0) {
      return fail("no DPDK port '" + name + "' (probe: " + rte_strerror(-rc) + ")");
    }
    const std::string device = name.substr(0, name.find(','));
    if (rte_eth_dev_get_port_by_name(device.c_str(), &port_) != 0) {
      return fail("DPDK device '" + name + "' probed but no port '" + device + "' appeared");
    }
  }
  rte_eth_dev_info info{};
  if (const int rc = rte_eth_dev_info_get(port_, &info); rc != 0) {
    return fail("rte_eth_dev_info_get: " + std::string(rte_strerror(-rc)));
  }
  // Tx checksum offload when the driver has both (tap does; ring, af_packet, af_xdp do not).
  const std::uint64_t wanted = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  rte_eth_conf conf{};
  if ((info.tx_offload_capa & wanted) == wanted) {
    conf.txmode.offloads = wanted;
    checksum_mode_ = detail::ChecksumMode::offload;
  }
  conf.rxmode.mtu = static_cast<std::uint32_t>(config_.mtu);
  if (config_.mtu > info.max_mtu || config_.mtu < info.min_mtu) {
    return fail("MTU " + std::to_string(config_.mtu) + " outside the port's range " +
                std::to_string(info.min_mtu) + ".." + std::to_string(info.max_mtu));
  }
  if (const int rc = rte_eth_dev_configure(port_, 1, 1, &conf); rc != 0) {
    return fail("rte_eth_dev_configure: " + std::string(rte_strerror(-rc)));
  }
  configured_ = true;
  std::uint16_t rx_descriptors = static_cast<std::uint16_t>(config_.rx_descriptors);
  std::uint16_t tx_descriptors = static_cast<std::uint16_t>(config_.tx_descriptors);
  if (const int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_, &rx_descriptors, &tx_descriptors); rc != 0) {
    return fail("rte_eth_dev_adjust_nb_rx_tx_desc: " + std::string(rte_strerror(-rc)));
  }
  const int socket = rte_eth_dev_socket_id(port_);
  const std::size_t room =
      std::max<std::size_t>(RTE_MBUF_DEFAULT_DATAROOM, config_.mtu + detail::kEthernetHeader + 4);
  auto pool = eal_->acquire_pool(config_.pool_size, static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + room),
                                 socket < 0 ? SOCKET_ID_ANY : socket);
  if (!pool.ok()) return fail(pool.error());
  pool_ = *pool;
  const unsigned queue_socket = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  if (const int rc = rte_eth_rx_queue_setup(port_, 0, rx_descriptors, queue_socket, nullptr, pool_);
      rc != 0) {
    return fail("rte_eth_rx_queue_setup: " + std::string(rte_strerror(-rc)));
  }
  if (const int rc = rte_eth_tx_queue_setup(port_, 0, tx_descriptors, queue_socket, nullptr); rc != 0) {
    return fail("rte_eth_tx_queue_setup: " + std::string(rte_strerror(-rc)));
  }

  rte_ether_addr mac{};
  if (config_.mac) {
    std::memcpy(mac.addr_bytes, config_.mac->data(), 6);
    rte_eth_dev_default_mac_addr_set(port_, &mac);  // refused by some drivers (ring): we filter ourselves
  } else if (rte_eth_macaddr_get(port_, &mac) != 0 || rte_is_zero_ether_addr(&mac)) {
    rte_eth_random_addr(mac.addr_bytes);
  }
  std::memcpy(local_.mac.data(), mac.addr_bytes, 6);

  if (const int rc = rte_eth_dev_start(port_); rc != 0) {
    return fail("rte_eth_dev_start: " + std::string(rte_strerror(-rc)));
  }
  started_ = true;
  return {};
}

std::optional<Ipv4Address> DpdkPort::next_hop(const Ipv4Address& destination) const {
  bool on_link = true;
  for (std::size_t i = 0; i < 4; ++i)
    on_link = on_link && ((destination[i] ^ local_.ip[i]) & netmask_[i]) == 0;
  if (on_link) return destination;
  if (config_.gateway) return *config_.gateway;
  return std::nullopt;
}

void DpdkPort::push_control(rte_mbuf* mbuf, std::int32_t payload_bytes) {
  if (control_.push(mbuf, payload_bytes)) return;
  ++dpdk_.tx_control_dropped;
  rte_pktmbuf_free(mbuf);
}

void DpdkPort::send_arp_request(const Ipv4Address& target) {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr || rte_pktmbuf_append(mbuf, detail::kMinimumFrame) == nullptr) {
    ++dpdk_.tx_no_mbuf;
    rte_pktmbuf_free(mbuf);
    return;
  }
  detail::ArpPacket request;
  request.operation = detail::ArpOperation::request;
  request.sender_mac = local_.mac;
  request.sender_ip = local_.ip;
  request.target_ip = target;
  request.serialize_frame(frame_of(mbuf), detail::kBroadcastMac);
  ++dpdk_.arp_requests_sent;
  push_control(mbuf, -1);
}

void DpdkPort::poll_arp(ArpClock::time_point now) {
  dpdk_.arp_resolution_failures += arp_.poll(
      now, [this](const Ipv4Address& ip) { send_arp_request(ip); },
      [this](void* packet) {
        ++dpdk_.arp_dropped_unresolved;
        rte_pktmbuf_free(static_cast<rte_mbuf*>(packet));
      });
}

void DpdkPort::handle_arp(rte_mbuf* mbuf, const detail::ParsedFrame& parsed, ArpClock::time_point now) {
  const auto packet = detail::ArpPacket::parse(frame_of(mbuf).subspan(parsed.payload_offset));
  if (!packet) {
    count_drop(detail::DropReason::bad_arp);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (packet->target_ip != local_.ip) {
    count_drop(detail::DropReason::not_for_us);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (packet->sender_ip != Ipv4Address{}) {  // 0.0.0.0: an address probe (RFC 5227), nothing to learn
    arp_.learn(packet->sender_ip, packet->sender_mac, now, [this](void* parked, const MacAddress& mac) {
      rte_mbuf* datagram = static_cast<rte_mbuf*>(parked);
      detail::set_destination_mac(frame_of(datagram), mac);
      push_control(datagram, static_cast<std::int32_t>(datagram->pkt_len - detail::kUdpFrameHeaders));
    });
  }
  if (packet->operation == detail::ArpOperation::reply) {
    ++dpdk_.arp_replies_received;
    rte_pktmbuf_free(mbuf);
    return;
  }
  ++dpdk_.arp_requests_received;
  // Answer in the request's own mbuf.
  if (!set_length(mbuf, detail::kMinimumFrame)) {
    rte_pktmbuf_free(mbuf);
    return;
  }
  mbuf->ol_flags = 0;
  detail::ArpPacket reply;
  reply.operation = detail::ArpOperation::reply;
  reply.sender_mac = local_.mac;
  reply.sender_ip = local_.ip;
  reply.target_mac = packet->sender_mac;
  reply.target_ip = packet->sender_ip;
  reply.serialize_frame(frame_of(mbuf), packet->sender_mac);
  ++dpdk_.arp_replies_sent;
  push_control(mbuf, -1);
}

void DpdkPort::count_drop(detail::DropReason reason) {
  using detail::DropReason;
  switch (reason) {
    case DropReason::none:
      break;
    case DropReason::bad_ethernet:
      ++dpdk_.rx_drop_bad_ethernet;
      break;
    case DropReason::ethertype:
      ++dpdk_.rx_drop_ethertype;
      break;
    case DropReason::not_for_us:
      ++dpdk_.rx_drop_not_for_us;
      break;
    case DropReason::bad_ip_header:
      ++dpdk_.rx_drop_bad_ip_header;
      break;
    case DropReason::bad_ip_checksum:
      ++dpdk_.rx_drop_bad_ip_checksum;
      break;
    case DropReason::fragment:
      ++dpdk_.rx_drop_fragment;
      break;
    case DropReason::protocol:
      ++dpdk_.rx_drop_protocol;
      break;
    case DropReason::bad_udp_header:
      ++dpdk_.rx_drop_bad_udp_header;
      break;
    case DropReason::bad_udp_checksum:
      ++dpdk_.rx_drop_bad_udp_checksum;
      break;
    case DropReason::bad_icmp:
      ++dpdk_.rx_drop_bad_icmp;
      break;
    case DropReason::bad_arp:
      ++dpdk_.rx_drop_bad_arp;
      break;
  }
}

Result<std::size_t, IoError> DpdkPort::receive_burst(std::span<ReceivedDatagram> out) {
  release_held();
  const auto now = ArpClock::now();
  poll_arp(now);
  const auto wanted = static_cast<std::uint16_t>(std::min(out.size(), rx_.size()));
  const std::uint16_t received = wanted == 0 ? 0 : rte_eth_rx_burst(port_, 0, rx_.data(), wanted);
  std::size_t count = 0;
  for (std::uint16_t i = 0; i < received; ++i) {
    rte_mbuf* mbuf = rx_[i];
    ++dpdk_.rx_frames;
    if (mbuf->nb_segs != 1) {
      ++dpdk_.rx_drop_multi_segment;
      rte_pktmbuf_free(mbuf);
      continue;
    }
    const auto frame = frame_of(mbuf);
    const detail::ParsedFrame parsed = detail::parse_frame(frame, local_);
    switch (parsed.kind) {
      case detail::FrameKind::udp:
        out[count++] = {PeerAddress::v4(parsed.source_ip, parsed.source_port),
                        frame.subspan(parsed.payload_offset, parsed.payload_length)};
        held_[held_count_++] = mbuf;
        ++io_.rx_datagrams;
        io_.rx_bytes += parsed.payload_length;
        break;
      case detail::FrameKind::arp:
        handle_arp(mbuf, parsed, now);
        break;
      case detail::FrameKind::icmp_echo:
        set_length(mbuf, parsed.frame_length);  // drops Ethernet padding; never grows
        mbuf->ol_flags = 0;
        detail::make_echo_reply(frame_of(mbuf), local_.mac);
        ++dpdk_.icmp_echo_answered;
        push_control(mbuf, -1);
        break;
      case detail::FrameKind::drop:
        count_drop(parsed.reason);
        rte_pktmbuf_free(mbuf);
        break;
    }
  }
  control_.send(port_, io_, dpdk_);
  return count;
}

bool DpdkPort::enqueue(const PeerAddress& to, std::span<const std::byte> payload) {
  if (to.family() != PeerAddress::Family::v4) {
    ++io_.tx_errors;
    return false;
  }
  if (payload.size() > max_payload()) {
    ++io_.tx_dropped_too_big;
    return false;
  }
  if (tx_.full()) {
    ++io_.tx_dropped_full;
    return false;
  }
  Ipv4Address destination{};
  std::memcpy(destination.data(), to.address_bytes().data(), 4);
  const auto hop = next_hop(destination);
  if (!hop) {
    ++io_.tx_errors;
    return false;
  }
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  const std::size_t length = detail::kUdpFrameHeaders + payload.size();
  if (mbuf == nullptr || rte_pktmbuf_append(mbuf, static_cast<std::uint16_t>(length)) == nullptr) {
    ++dpdk_.tx_no_mbuf;
    ++io_.tx_dropped_full;
    rte_pktmbuf_free(mbuf);
    return false;
  }
  const auto frame = frame_of(mbuf);
  if (!payload.empty()) std::memcpy(frame.data() + detail::kUdpFrameHeaders, payload.data(), payload.size());
  const auto now = ArpClock::now();
  const auto mac = arp_.lookup(*hop, now);
  detail::UdpFrameFields fields;
  fields.source_mac = local_.mac;
  fields.destination_mac = mac.value_or(MacAddress{});
  fields.source_ip = local_.ip;
  fields.destination_ip = destination;
  fields.source_port = local_.port;
  fields.destination_port = to.port();
  fields.identification = next_ip_id_++;
  detail::write_udp_headers(frame, fields, checksum_mode_);
  if (checksum_mode_ == detail::ChecksumMode::offload) {
    mbuf->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    mbuf->l2_len = detail::kEthernetHeader;
    mbuf->l3_len = detail::kIpv4Header;
  }
  if (mac) {
    tx_.push(mbuf, static_cast<std::int32_t>(payload.size()));
    return true;
  }
  switch (arp_.park(*hop, mbuf, now)) {
    case detail::ArpTable::Parked::send_request:
      send_arp_request(*hop);
      control_.send(port_, io_, dpdk_);
      return true;
    case detail::ArpTable::Parked::waiting:
      return true;
    case detail::ArpTable::Parked::full:
      break;
  }
  ++dpdk_.arp_queue_overflow;
  rte_pktmbuf_free(mbuf);
  return false;
}

Result<std::size_t, IoError> DpdkPort::flush() {
  poll_arp(ArpClock::now());
  control_.send(port_, io_, dpdk_);
  const std::size_t sent = tx_.send(port_, io_, dpdk_);
  if (tx_.size() > 0) return fail(IoError::would_block);
  return sent;
}

}  // namespace

Result<std::unique_ptr<DatagramIo>, std::string> open_dpdk_port(const DpdkConfig& config) {
  if (config.address.family() != PeerAddress::Family::v4 || config.address.port() == 0) {
    return fail(std::string("DPDK port address must be IPv4 with a non-zero UDP port"));
  }
  if (config.prefix_length > 32) return fail(std::string("prefix length over 32"));
  if (config.mtu < kMinMtu || config.mtu > kMaxMtu) {
    return fail("MTU " + std::to_string(config.mtu) + " outside " + std::to_string(kMinMtu) + ".." +
                std::to_string(kMaxMtu));
  }
  if (config.burst == 0 || config.burst > kMaxBurst) return fail(std::string("burst must be 1..512"));
  const std::size_t needed = config.rx_descriptors + config.tx_descriptors + 2 * config.burst +
                             config.arp_pending_limit + kControlSlack;
  if (config.pool_size < needed) {
    return fail("pool_size " + std::to_string(config.pool_size) + " below the " + std::to_string(needed) +
                " mbufs the descriptor rings, bursts and ARP queue can hold");
  }
  auto eal = detail::Eal::get(config.eal_args);
  if (!eal.ok()) return fail(eal.error());
  auto port = std::make_unique<DpdkPort>(config, *eal);
  if (auto started = port->start(); !started.ok()) return fail(started.error());
  return std::unique_ptr<DatagramIo>(std::move(port));
}

std::optional<DpdkCounters> dpdk_counters(const DatagramIo& io) {
  if (const auto* port = dynamic_cast<const DpdkPort*>(&io)) return port->dpdk();
  return std::nullopt;
}

}  // namespace hoplink::dio
