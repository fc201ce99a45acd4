#include "io/datagram_options.hpp"

#include "dpdk_io/headers.hpp"

namespace hoplink::transport {

std::string_view to_string(IoBackend backend) {
  switch (backend) {
    case IoBackend::udp:
      return "udp";
    case IoBackend::dpdk:
      return "dpdk";
    case IoBackend::memory:
      return "memory";
  }
  return "?";
}

std::optional<IoBackend> parse_io_backend(std::string_view text) {
  if (text == "udp") return IoBackend::udp;
  if (text == "dpdk") return IoBackend::dpdk;
  return std::nullopt;
}

std::optional<std::size_t> DatagramOptions::max_udp_payload() const {
  // DPDK sends whole Ethernet frames and never fragments: IPv4 and UDP headers come out of the port's MTU.
  if (backend == IoBackend::dpdk) return dpdk.mtu - dio::kIpv4UdpHeaderBytes;
  return std::nullopt;
}

}  // namespace hoplink::transport
