// The port side of the DPDK backend: configuration, the receive path up to the endpoints' inboxes, ARP,
// ICMP echo and the frames the interface sends by itself. Received frames are not copied: a datagram's mbuf
// goes to its endpoint, an ARP request or echo request is turned into its answer in place. No heap
// allocation per packet: every array is sized at start.
#include "dpdk_interface.hpp"

#include <poll.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

namespace hoplink::dio {
namespace {

using detail::ArpClock;
using detail::Ipv4Address;
using detail::MacAddress;

constexpr std::uint16_t kEphemeralFirst = 49152;
constexpr std::size_t kEphemeralCount = 65536 - kEphemeralFirst;
// Room for the interface's own frames (ARP, ICMP replies, datagrams released by ARP) beyond the ARP queue.
constexpr std::size_t kControlSlack = 64;
constexpr std::size_t kMaxEndpoints = 64;

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

bool is_eventfd(int fd) {
  std::array<char, 64> target{};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const auto length = ::readlink(link.c_str(), target.data(), target.size() - 1);
  return length > 0 &&
         std::string_view(target.data(), static_cast<std::size_t>(length)) == "anon_inode:[eventfd]";
}

std::string rte_error(const char* call, int rc) {
  return std::string(call) + ": " + rte_strerror(rc < 0 ? -rc : rc);
}

}  // namespace

DpdkInterface::Core::Core(const DpdkConfig& config, detail::Eal* eal)
    : config(config),
      eal(eal),
      arp_({config.arp_timeout, 3, config.arp_cache_ttl, config.arp_pending_limit, 256}),
      rx_(config.burst),
      control_(config.arp_pending_limit + config.burst + kControlSlack) {
  std::memcpy(local.ip.data(), config.address.address_bytes().data(), 4);
  const std::uint32_t mask = config.prefix_length == 0 ? 0 : ~std::uint32_t{0} << (32 - config.prefix_length);
  netmask_ = {static_cast<std::uint8_t>(mask >> 24), static_cast<std::uint8_t>(mask >> 16),
              static_cast<std::uint8_t>(mask >> 8), static_cast<std::uint8_t>(mask)};
  endpoints_.reserve(kMaxEndpoints);
  next_ephemeral_ = static_cast<std::uint16_t>(rte_rand() % kEphemeralCount);
}

DpdkInterface::Core::~Core() {
  arp_.clear([](void* packet) { rte_pktmbuf_free(static_cast<rte_mbuf*>(packet)); });
  if (started_) rte_eth_dev_stop(port_id);
  if (configured_) rte_eth_dev_close(port_id);
  // control_ frees its mbufs as members are destroyed, before the pool could be reused (it never is freed:
  // see Eal::acquire_pool).
  if (pool_ != nullptr) eal->release_pool(pool_);
}

Result<void, std::string> DpdkInterface::Core::configure(bool rx_interrupts) {
  rte_eth_dev_info dev{};
  if (const int rc = rte_eth_dev_info_get(port_id, &dev); rc != 0)
    return fail(rte_error("rte_eth_dev_info_get", rc));
  info.driver = dev.driver_name != nullptr ? dev.driver_name : "";
  if (config.mtu > dev.max_mtu || config.mtu < dev.min_mtu) {
    return fail("MTU " + std::to_string(config.mtu) + " outside the port's range " +
                std::to_string(dev.min_mtu) + ".." + std::to_string(dev.max_mtu));
  }
  rte_eth_conf conf{};
  // Checksum offload when the driver has it (tap does; ring, af_packet, af_xdp do not).
  const std::uint64_t tx_wanted = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  info.tx_checksum_offload = (dev.tx_offload_capa & tx_wanted) == tx_wanted;
  if (info.tx_checksum_offload) {
    conf.txmode.offloads = tx_wanted;
    checksum_mode_ = detail::ChecksumMode::offload;
  }
  const std::uint64_t rx_wanted = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  info.rx_checksum_offload = (dev.rx_offload_capa & rx_wanted) == rx_wanted;
  if (info.rx_checksum_offload) conf.rxmode.offloads = rx_wanted;
  conf.rxmode.mtu = static_cast<std::uint32_t>(config.mtu);
  conf.intr_conf.rxq = rx_interrupts ? 1 : 0;
  if (const int rc = rte_eth_dev_configure(port_id, 1, 1, &conf); rc != 0) {
    return fail(rte_error("rte_eth_dev_configure", rc));
  }
  configured_ = true;
  return {};
}

Result<void, std::string> DpdkInterface::Core::start() {
  const std::string& name = config.port;
  const bool numeric =
      !name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (numeric && name.size() <= 5 &&
      rte_eth_dev_is_valid_port(static_cast<std::uint16_t>(std::stoul(name)))) {
    port_id = static_cast<std::uint16_t>(std::stoul(name));
  } else if (rte_eth_dev_get_port_by_name(name.c_str(), &port_id) != 0) {
    // Not an existing port: probe it as a device string ("net_af_packet0,iface=veth0").
    if (const int rc = rte_dev_probe(name.c_str()); rc < 0) {
      return fail("no DPDK port '" + name + "' (probe: " + rte_strerror(-rc) + ")");
    }
    const std::string device = name.substr(0, name.find(','));
    if (rte_eth_dev_get_port_by_name(device.c_str(), &port_id) != 0) {
      return fail("DPDK device '" + name + "' probed but no port '" + device + "' appeared");
    }
  }
  // A driver without rx interrupts refuses intr_conf.rxq; the port then runs without them.
  auto configured = configure(config.rx_interrupts);
  if (!configured.ok() && config.rx_interrupts) configured = configure(false);
  if (!configured.ok()) return configured;

  std::uint16_t rx_descriptors = static_cast<std::uint16_t>(config.rx_descriptors);
  std::uint16_t tx_descriptors = static_cast<std::uint16_t>(config.tx_descriptors);
  if (const int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_descriptors, &tx_descriptors); rc != 0) {
    return fail(rte_error("rte_eth_dev_adjust_nb_rx_tx_desc", rc));
  }
  const int socket = rte_eth_dev_socket_id(port_id);
  const std::size_t room =
      std::max<std::size_t>(RTE_MBUF_DEFAULT_DATAROOM, config.mtu + detail::kEthernetHeader + 4);
  auto pool = eal->acquire_pool(config.pool_size, static_cast<std::uint16_t>(RTE_PKTMBUF_HEADROOM + room),
                                socket < 0 ? SOCKET_ID_ANY : socket);
  if (!pool.ok()) return fail(pool.error());
  pool_ = *pool;
  const unsigned queue_socket = socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket);
  if (const int rc = rte_eth_rx_queue_setup(port_id, 0, rx_descriptors, queue_socket, nullptr, pool_);
      rc != 0) {
    return fail(rte_error("rte_eth_rx_queue_setup", rc));
  }
  if (const int rc = rte_eth_tx_queue_setup(port_id, 0, tx_descriptors, queue_socket, nullptr); rc != 0) {
    return fail(rte_error("rte_eth_tx_queue_setup", rc));
  }

  rte_ether_addr mac{};
  if (config.mac) {
    std::memcpy(mac.addr_bytes, config.mac->data(), 6);
    rte_eth_dev_default_mac_addr_set(port_id, &mac);  // refused by some drivers (ring): we filter ourselves
  } else if (rte_eth_macaddr_get(port_id, &mac) != 0 || rte_is_zero_ether_addr(&mac)) {
    rte_eth_random_addr(mac.addr_bytes);
  }
  std::memcpy(local.mac.data(), mac.addr_bytes, 6);
  std::memcpy(info.mac.data(), mac.addr_bytes, 6);

  if (const int rc = rte_eth_dev_start(port_id); rc != 0) return fail(rte_error("rte_eth_dev_start", rc));
  started_ = true;
  if (config.rx_interrupts) {
    // Watched by the endpoints' own epoll sets (the loop's, through asio), not by DPDK's epoll helpers.
    interrupt_fd_ = rte_eth_dev_rx_intr_ctl_q_get_fd(port_id, 0);
    if (interrupt_fd_ >= 0) {
      interrupt_is_eventfd_ = is_eventfd(interrupt_fd_);
      rte_eth_dev_rx_intr_disable(port_id, 0);  // on only while an endpoint waits (begin_wait)
    }
  }
  info.rx_interrupts = interrupt_fd_ >= 0;
  return {};
}

Result<std::uint16_t, std::string> DpdkInterface::Core::attach(std::uint16_t udp_port, detail::Inbox& inbox) {
  if (endpoints_.size() == kMaxEndpoints) return fail(std::string("too many endpoints on one DPDK port"));
  if (udp_port == 0) {
    for (std::size_t tries = 0; tries < kEphemeralCount && udp_port == 0; ++tries) {
      const auto candidate = static_cast<std::uint16_t>(kEphemeralFirst + next_ephemeral_);
      next_ephemeral_ = static_cast<std::uint16_t>((next_ephemeral_ + 1) % kEphemeralCount);
      if (find(candidate) == nullptr) udp_port = candidate;
    }
  } else if (find(udp_port) != nullptr) {
    return fail("UDP port " + std::to_string(udp_port) + " already open on the DPDK port");
  }
  endpoints_.push_back({udp_port, &inbox});
  return udp_port;
}

void DpdkInterface::Core::detach(std::uint16_t udp_port) {
  std::erase_if(endpoints_, [udp_port](const Endpoint& endpoint) { return endpoint.udp_port == udp_port; });
}

detail::Inbox* DpdkInterface::Core::find(std::uint16_t udp_port) {
  for (const Endpoint& endpoint : endpoints_) {
    if (endpoint.udp_port == udp_port) return endpoint.inbox;
  }
  return nullptr;
}

std::optional<Ipv4Address> DpdkInterface::Core::next_hop(const Ipv4Address& destination) const {
  bool on_link = true;
  for (std::size_t i = 0; i < 4; ++i)
    on_link = on_link && ((destination[i] ^ local.ip[i]) & netmask_[i]) == 0;
  if (on_link) return destination;
  if (config.gateway) return *config.gateway;
  return std::nullopt;
}

void DpdkInterface::Core::push_control(rte_mbuf* mbuf, std::int32_t payload_bytes,
                                       std::uint16_t source_port) {
  if (control_.push(mbuf, payload_bytes, source_port)) return;
  ++counters.tx_control_dropped;
  rte_pktmbuf_free(mbuf);
}

void DpdkInterface::Core::send_control() {
  const auto sent = control_.send(port_id, [this](std::int32_t payload_bytes, std::uint16_t source_port) {
    // A datagram released by ARP: credited to its endpoint, if it is still open.
    if (detail::Inbox* inbox = find(source_port)) {
      ++inbox->counters().tx_datagrams;
      inbox->counters().tx_bytes += static_cast<std::uint64_t>(payload_bytes);
    }
  });
  counters.tx_frames += sent.frames;
}

void DpdkInterface::Core::send_arp_request(const Ipv4Address& target) {
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  if (mbuf == nullptr || rte_pktmbuf_append(mbuf, detail::kMinimumFrame) == nullptr) {
    ++counters.tx_no_mbuf;
    rte_pktmbuf_free(mbuf);
    return;
  }
  detail::ArpPacket request;
  request.operation = detail::ArpOperation::request;
  request.sender_mac = local.mac;
  request.sender_ip = local.ip;
  request.target_ip = target;
  request.serialize_frame(frame_of(mbuf), detail::kBroadcastMac);
  ++counters.arp_requests_sent;
  push_control(mbuf, -1);
}

void DpdkInterface::Core::poll_arp(ArpClock::time_point now) {
  counters.arp_resolution_failures += arp_.poll(
      now, [this](const Ipv4Address& ip) { send_arp_request(ip); },
      [this](void* packet) {
        ++counters.arp_dropped_unresolved;
        rte_pktmbuf_free(static_cast<rte_mbuf*>(packet));
      });
}

void DpdkInterface::Core::handle_arp(rte_mbuf* mbuf, const detail::ParsedFrame& parsed,
                                     ArpClock::time_point now) {
  const auto packet = detail::ArpPacket::parse(frame_of(mbuf).subspan(parsed.payload_offset));
  const bool probe = packet && packet->sender_ip == Ipv4Address{};  // RFC 5227: nothing to learn
  detail::DropReason drop = detail::DropReason::none;
  if (!packet || detail::is_group_mac(packet->sender_mac) ||
      (!probe && detail::is_martian_source(packet->sender_ip, {}))) {
    drop = detail::DropReason::bad_arp;
  } else if (packet->sender_ip == local.ip) {
    drop = detail::DropReason::bad_address;  // someone else claims our address
  } else if (packet->target_ip != local.ip) {
    // RFC 826: a neighbour we know may have a new MAC, whoever it asks about.
    if (!probe && arp_.contains(packet->sender_ip))
      arp_.learn(packet->sender_ip, packet->sender_mac, now, [](void*, const MacAddress&) {});
    drop = detail::DropReason::not_for_us;
  }
  if (drop != detail::DropReason::none) {
    count_drop(drop);
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (!probe) {
    arp_.learn(packet->sender_ip, packet->sender_mac, now, [this](void* parked, const MacAddress& mac) {
      rte_mbuf* datagram = static_cast<rte_mbuf*>(parked);
      const auto frame = frame_of(datagram);
      detail::set_destination_mac(frame, mac);
      push_control(datagram, static_cast<std::int32_t>(datagram->pkt_len - detail::kUdpFrameHeaders),
                   detail::load16(frame, detail::kEthernetHeader + detail::kIpv4Header));
    });
  }
  if (packet->operation == detail::ArpOperation::reply) {
    ++counters.arp_replies_received;
    rte_pktmbuf_free(mbuf);
    return;
  }
  ++counters.arp_requests_received;
  // Answer in the request's own mbuf.
  if (!set_length(mbuf, detail::kMinimumFrame)) {
    rte_pktmbuf_free(mbuf);
    return;
  }
  mbuf->ol_flags = 0;
  detail::ArpPacket reply;
  reply.operation = detail::ArpOperation::reply;
  reply.sender_mac = local.mac;
  reply.sender_ip = local.ip;
  reply.target_mac = packet->sender_mac;
  reply.target_ip = packet->sender_ip;
  reply.serialize_frame(frame_of(mbuf), packet->sender_mac);
  ++counters.arp_replies_sent;
  push_control(mbuf, -1);
}

void DpdkInterface::Core::count_drop(detail::DropReason reason) {
  using detail::DropReason;
  switch (reason) {
    case DropReason::none:
      break;
    case DropReason::bad_ethernet:
      ++counters.rx_drop_bad_ethernet;
      break;
    case DropReason::ethertype:
      ++counters.rx_drop_ethertype;
      break;
    case DropReason::not_for_us:
      ++counters.rx_drop_not_for_us;
      break;
    case DropReason::bad_ip_header:
      ++counters.rx_drop_bad_ip_header;
      break;
    case DropReason::bad_ip_checksum:
      ++counters.rx_drop_bad_ip_checksum;
      break;
    case DropReason::bad_address:
      ++counters.rx_drop_bad_address;
      break;
    case DropReason::fragment:
      ++counters.rx_drop_fragment;
      break;
    case DropReason::protocol:
      ++counters.rx_drop_protocol;
      break;
    case DropReason::bad_udp_header:
      ++counters.rx_drop_bad_udp_header;
      break;
    case DropReason::bad_udp_checksum:
      ++counters.rx_drop_bad_udp_checksum;
      break;
    case DropReason::bad_icmp:
      ++counters.rx_drop_bad_icmp;
      break;
    case DropReason::bad_arp:
      ++counters.rx_drop_bad_arp;
      break;
  }
}

void DpdkInterface::Core::deliver(rte_mbuf* mbuf, const detail::ParsedFrame& parsed,
                                  const detail::Inbox* caller) {
  detail::Inbox* inbox = find(parsed.destination_port);
  if (inbox == nullptr) {
    ++counters.rx_drop_no_endpoint;
    rte_pktmbuf_free(mbuf);
    return;
  }
  const detail::Inbox::Entry entry{mbuf, PeerAddress::v4(parsed.source_ip, parsed.source_port),
                                   static_cast<std::uint16_t>(parsed.payload_offset),
                                   static_cast<std::uint16_t>(parsed.payload_length)};
  if (!inbox->push(entry)) {
    ++counters.rx_drop_endpoint_full;
    rte_pktmbuf_free(mbuf);
    return;
  }
  if (inbox != caller && inbox->waiting) inbox->wake().notify();
}

std::size_t DpdkInterface::Core::poll(const detail::Inbox* caller) {
  const auto now = ArpClock::now();
  poll_arp(now);
  const std::uint16_t received =
      rte_eth_rx_burst(port_id, 0, rx_.data(), static_cast<std::uint16_t>(rx_.size()));
  for (std::uint16_t i = 0; i < received; ++i) {
    rte_mbuf* mbuf = rx_[i];
    ++counters.rx_frames;
    if (mbuf->nb_segs != 1) {
      ++counters.rx_drop_multi_segment;
      rte_pktmbuf_free(mbuf);
      continue;
    }
    // Checksums the driver found good are not verified again; bad or unknown ones are verified here, so a
    // driver's verdict never admits a frame that software would drop.
    detail::VerifiedChecksums verified;
    if (info.rx_checksum_offload) {
      verified.ip = (mbuf->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD;
      verified.udp = (mbuf->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
    }
    const detail::ParsedFrame parsed = detail::parse_frame(frame_of(mbuf), local, verified);
    switch (parsed.kind) {
      case detail::FrameKind::udp:
        deliver(mbuf, parsed, caller);
        break;
      case detail::FrameKind::arp:
        handle_arp(mbuf, parsed, now);
        break;
      case detail::FrameKind::icmp_echo:
        set_length(mbuf, parsed.frame_length);  // drops Ethernet padding; never grows
        mbuf->ol_flags = 0;
        detail::make_echo_reply(frame_of(mbuf), local.mac);
        ++counters.icmp_echo_answered;
        push_control(mbuf, -1);
        break;
      case detail::FrameKind::drop:
        count_drop(parsed.reason);
        rte_pktmbuf_free(mbuf);
        break;
    }
  }
  send_control();
  return received;
}

DpdkCounters DpdkInterface::Core::snapshot() const {
  DpdkCounters out = counters;
  rte_eth_stats stats{};
  if (started_ && rte_eth_stats_get(port_id, &stats) == 0) {
    out.port_rx_missed = stats.imissed;
    out.port_rx_errors = stats.ierrors;
    out.port_rx_no_mbuf = stats.rx_nombuf;
    out.port_tx_errors = stats.oerrors;
  }
  return out;
}

void DpdkInterface::Core::service() {
  poll_arp(ArpClock::now());
  send_control();
}

DpdkInterface::Core::Prepared DpdkInterface::Core::prepare_datagram(std::uint16_t source_port,
                                                                    const PeerAddress& to,
                                                                    std::span<const std::byte> payload,
                                                                    rte_mbuf*& frame) {
  frame = nullptr;
  Ipv4Address destination{};
  std::memcpy(destination.data(), to.address_bytes().data(), 4);
  const auto hop = next_hop(destination);
  if (!hop) return Prepared::unroutable;
  rte_mbuf* mbuf = rte_pktmbuf_alloc(pool_);
  const std::size_t length = detail::kUdpFrameHeaders + payload.size();
  if (mbuf == nullptr || rte_pktmbuf_append(mbuf, static_cast<std::uint16_t>(length)) == nullptr) {
    ++counters.tx_no_mbuf;
    rte_pktmbuf_free(mbuf);
    return Prepared::no_mbuf;
  }
  const auto bytes = frame_of(mbuf);
  if (!payload.empty()) std::memcpy(bytes.data() + detail::kUdpFrameHeaders, payload.data(), payload.size());
  const auto now = ArpClock::now();
  bool refresh = false;
  const auto mac = arp_.lookup(*hop, now, refresh);
  if (refresh) {
    ++counters.arp_refreshes;
    send_arp_request(*hop);
  }
  detail::UdpFrameFields fields;
  fields.source_mac = local.mac;
  fields.destination_mac = mac.value_or(MacAddress{});
  fields.source_ip = local.ip;
  fields.destination_ip = destination;
  fields.source_port = source_port;
  fields.destination_port = to.port();
  fields.identification = next_ip_id_++;
  detail::write_udp_headers(bytes, fields, checksum_mode_);
  if (checksum_mode_ == detail::ChecksumMode::offload) {
    mbuf->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;
    mbuf->l2_len = detail::kEthernetHeader;
    mbuf->l3_len = detail::kIpv4Header;
  }
  if (mac) {
    frame = mbuf;
    return Prepared::ready;
  }
  switch (arp_.park(*hop, mbuf, now)) {
    case detail::ArpTable::Parked::send_request:
      send_arp_request(*hop);
      send_control();
      return Prepared::parked;
    case detail::ArpTable::Parked::waiting:
      return Prepared::parked;
    case detail::ArpTable::Parked::full:
      break;
  }
  ++counters.arp_queue_overflow;
  rte_pktmbuf_free(mbuf);
  return Prepared::arp_queue_full;
}

void DpdkInterface::Core::begin_wait() {
  if (interrupt_fd_ >= 0 && waiters_++ == 0) rte_eth_dev_rx_intr_enable(port_id, 0);
}

void DpdkInterface::Core::end_wait() {
  if (interrupt_fd_ < 0 || waiters_ == 0) return;
  if (--waiters_ == 0) rte_eth_dev_rx_intr_disable(port_id, 0);
  pollfd ready{interrupt_fd_, POLLIN, 0};
  if (::poll(&ready, 1, 0) != 1) return;
  ++counters.rx_interrupt_wakeups;
  // A NIC's interrupt (vfio-pci MSI-X) is an eventfd counter that stays readable until read; tap's is the
  // tap descriptor itself, readable while frames wait, which the next rx burst drains: never read that one.
  if (interrupt_is_eventfd_) {
    std::uint64_t count = 0;
    [[maybe_unused]] const auto read = ::read(interrupt_fd_, &count, sizeof count);
  }
}

}  // namespace hoplink::dio
