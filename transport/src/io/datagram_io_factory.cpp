#include "io/datagram_io_factory.hpp"

#include <cstdio>

#include "dpdk_io/dpdk_port.hpp"
#include "dpdk_io/memory_network.hpp"
#include "dpdk_io/udp_socket.hpp"

namespace hoplink::transport {

namespace {

std::string mac_text(const std::array<std::uint8_t, 6>& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
                mac[5]);
  return text;
}

}  // namespace

DatagramIoFactory::DatagramIoFactory(Runtime& runtime, const DatagramOptions& options, Logger& log)
    : options_(options), log_(log), memory_delivery_(runtime) {}

DatagramIoFactory::~DatagramIoFactory() {
  if (memory_hooked_) options_.memory->set_schedule_hook({});
}

Result<std::unique_ptr<dio::DatagramIo>, std::string> DatagramIoFactory::open(const PeerAddress& bind) {
  switch (options_.backend) {
    case IoBackend::dpdk:
      return open_dpdk(bind);
    case IoBackend::memory:
      return open_memory(bind);
    case IoBackend::udp:
      break;
  }
  dio::UdpSocketConfig config;
  config.bind = bind;
  config.socket_buffer_bytes = options_.udp_socket_buffer;
  return dio::open_udp_socket(config);
}

Result<std::unique_ptr<dio::DatagramIo>, std::string> DatagramIoFactory::open_for_proxy(
    const PeerAddress& bind) {
  if (options_.backend != IoBackend::udp) {
    return fail("TOR_PT_PROXY needs --io udp, not --io " + std::string(to_string(options_.backend)));
  }
  dio::UdpSocketConfig config;
  config.bind = bind;
  config.socket_buffer_bytes = options_.udp_socket_buffer;
  config.gro = false;
  return dio::open_udp_socket(config);
}

Result<std::unique_ptr<dio::DatagramIo>, std::string> DatagramIoFactory::open_dpdk(const PeerAddress& bind) {
  const dio::DpdkConfig& config = options_.dpdk;
  if (bind.family() != PeerAddress::Family::v4) {
    return fail("the DPDK backend is IPv4 only (asked for " + bind.to_string() + ")");
  }
  if (!dpdk_) {
    auto opened = dio::DpdkInterface::open(config);
    if (!opened.ok()) return fail("DPDK port " + config.port + ": " + opened.error());
    dpdk_ = std::move(opened).value();
    const auto info = dpdk_->info();
    log_.notice("DPDK port " + config.port + " (" + info.driver + ", MAC " + mac_text(info.mac) + ") is " +
                config.address.host_string() + "/" + std::to_string(config.prefix_length) +
                "; checksums: tx " + (info.tx_checksum_offload ? "offloaded" : "software") + ", rx " +
                (info.rx_checksum_offload ? "offloaded" : "software") +
                "; idle: " + (info.rx_interrupts ? "rx interrupts" : "timer") + ", " +
                std::to_string(config.poll.idle_sleep.count()) + " us");
    if (config.rx_interrupts && !info.rx_interrupts) {
      log_.notice("DPDK port " + config.port + " has no rx interrupts: idle polling uses the timer alone");
    }
  }
  if (!bind.is_unspecified() && bind.with_port(0) != config.address.with_port(0)) {
    log_.warning("bind address " + bind.host_string() + " ignored: the DPDK port's address is " +
                 config.address.host_string());
  }
  return dpdk_->open_endpoint(bind.port());
}

Result<std::unique_ptr<dio::DatagramIo>, std::string> DatagramIoFactory::open_memory(
    const PeerAddress& bind) {
  dio::MemoryNetwork* network = options_.memory;
  if (network == nullptr) return fail(std::string("the memory backend has no network"));
  if (!memory_hooked_) {
    memory_hooked_ = true;
    // Delayed datagrams are delivered when their time comes, on the runtime's clock (simulated in tests).
    auto deliver = [this, network] {
      network->deliver_due();
      if (const auto next = network->next_delivery()) memory_delivery_.arm_at(*next);
    };
    network->set_schedule_hook([this, deliver](TimePoint due) {
      if (!memory_delivery_.armed() || due < memory_delivery_.deadline())
        memory_delivery_.arm_at(due, deliver);
    });
  }
  return network->open(bind);
}

std::vector<std::pair<std::string, std::string>> DatagramIoFactory::status_fields() const {
  std::vector<std::pair<std::string, std::string>> fields;
  if (!dpdk_) return fields;
  const dio::DpdkCounters c = dpdk_->counters();
  auto add = [&fields](const char* key, std::uint64_t value) {
    fields.emplace_back(key, std::to_string(value));
  };
  add("DPDK_RX_FRAMES", c.rx_frames);
  add("DPDK_TX_FRAMES", c.tx_frames);
  add("DPDK_DROP_BAD_ETHERNET", c.rx_drop_bad_ethernet);
  add("DPDK_DROP_ETHERTYPE", c.rx_drop_ethertype);
  add("DPDK_DROP_NOT_FOR_US", c.rx_drop_not_for_us);
  add("DPDK_DROP_BAD_IP_HEADER", c.rx_drop_bad_ip_header);
  add("DPDK_DROP_BAD_IP_CHECKSUM", c.rx_drop_bad_ip_checksum);
  add("DPDK_DROP_BAD_ADDRESS", c.rx_drop_bad_address);
  add("DPDK_DROP_FRAGMENT", c.rx_drop_fragment);
  add("DPDK_DROP_PROTOCOL", c.rx_drop_protocol);
  add("DPDK_DROP_BAD_UDP_HEADER", c.rx_drop_bad_udp_header);
  add("DPDK_DROP_BAD_UDP_CHECKSUM", c.rx_drop_bad_udp_checksum);
  add("DPDK_DROP_BAD_ICMP", c.rx_drop_bad_icmp);
  add("DPDK_DROP_BAD_ARP", c.rx_drop_bad_arp);
  add("DPDK_DROP_MULTI_SEGMENT", c.rx_drop_multi_segment);
  add("DPDK_DROP_NO_ENDPOINT", c.rx_drop_no_endpoint);
  add("DPDK_DROP_ENDPOINT_FULL", c.rx_drop_endpoint_full);
  add("DPDK_ARP_REQUESTS_IN", c.arp_requests_received);
  add("DPDK_ARP_REPLIES_OUT", c.arp_replies_sent);
  add("DPDK_ARP_REQUESTS_OUT", c.arp_requests_sent);
  add("DPDK_ARP_REPLIES_IN", c.arp_replies_received);
  add("DPDK_ARP_REFRESHES", c.arp_refreshes);
  add("DPDK_ARP_FAILURES", c.arp_resolution_failures);
  add("DPDK_ARP_DROPPED_UNRESOLVED", c.arp_dropped_unresolved);
  add("DPDK_ARP_QUEUE_OVERFLOW", c.arp_queue_overflow);
  add("DPDK_ICMP_ECHO_ANSWERED", c.icmp_echo_answered);
  add("DPDK_TX_NO_MBUF", c.tx_no_mbuf);
  add("DPDK_TX_CONTROL_DROPPED", c.tx_control_dropped);
  add("DPDK_RX_INTERRUPT_WAKEUPS", c.rx_interrupt_wakeups);
  add("DPDK_PORT_RX_MISSED", c.port_rx_missed);
  add("DPDK_PORT_RX_ERRORS", c.port_rx_errors);
  add("DPDK_PORT_RX_NO_MBUF", c.port_rx_no_mbuf);
  add("DPDK_PORT_TX_ERRORS", c.port_tx_errors);
  return fields;
}

}  // namespace hoplink::transport
