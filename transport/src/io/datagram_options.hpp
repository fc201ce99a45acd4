// The datagram I/O backend (--io) and its settings: what DatagramIoFactory opens endpoints with.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "dpdk_io/dpdk_port.hpp"

namespace hoplink::dio {
class MemoryNetwork;
}

namespace hoplink::transport {

// udp: kernel sockets. dpdk: UDP ports of the process's DPDK interface. memory: endpoints of an in-process
// MemoryNetwork (tests: one process serving and connecting to itself); not offered on the command line.
enum class IoBackend { udp, dpdk, memory };

std::string_view to_string(IoBackend backend);
// The backends --io accepts: udp, dpdk.
std::optional<IoBackend> parse_io_backend(std::string_view text);

struct DatagramOptions {
  IoBackend backend = IoBackend::udp;
  std::size_t udp_socket_buffer = 4 * 1024 * 1024;  // SO_SNDBUF / SO_RCVBUF
  dio::DpdkConfig dpdk;                             // backend dpdk: the port, our address, the idle policy
  dio::MemoryNetwork* memory = nullptr;             // backend memory: the network, which outlives the factory

  // The largest UDP payload (our SCTP or DTLS packet, --mtu) the backend carries; nullopt: no limit of its
  // own (a kernel socket fragments).
  std::optional<std::size_t> max_udp_payload() const;
};

}  // namespace hoplink::transport
