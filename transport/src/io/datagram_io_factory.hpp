// The one place where a transport's UDP endpoint gets its datagram I/O (--io): a kernel UDP socket; a UDP
// port of the process's DPDK interface, which is opened with the first such endpoint and shared by all of
// them (a bridge's server endpoint, a client's outgoing one, every transport's); or an endpoint of an
// in-process memory network, whose deliveries the factory schedules on the runtime's timers.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"
#include "io/datagram_options.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"

namespace hoplink::dio {
class DpdkInterface;
}

namespace hoplink::transport {

class DatagramIoFactory {
 public:
  DatagramIoFactory(Runtime& runtime, const DatagramOptions& options, Logger& log);
  ~DatagramIoFactory();
  DatagramIoFactory(const DatagramIoFactory&) = delete;
  DatagramIoFactory& operator=(const DatagramIoFactory&) = delete;

  IoBackend backend() const { return options_.backend; }

  // An endpoint bound to `bind` (port 0: any free port). With dpdk only the port counts: the IP is
  // --dpdk-address's (a different specific IP is logged and ignored), and IPv6 is refused.
  Result<std::unique_ptr<dio::DatagramIo>, std::string> open(const PeerAddress& bind);
  // A kernel UDP socket for a client endpoint under TOR_PT_PROXY, without GRO (see Socks5UdpIo). A proxy
  // is a kernel-socket affair: with dpdk it is refused.
  Result<std::unique_ptr<dio::DatagramIo>, std::string> open_for_proxy(const PeerAddress& bind);

  // STATUS fields of what no endpoint counts: the DPDK port's frames, drops by reason and ARP (DPDK_*).
  // Empty for udp, and until the DPDK interface is open.
  std::vector<std::pair<std::string, std::string>> status_fields() const;

 private:
  Result<std::unique_ptr<dio::DatagramIo>, std::string> open_dpdk(const PeerAddress& bind);
  Result<std::unique_ptr<dio::DatagramIo>, std::string> open_memory(const PeerAddress& bind);

  const DatagramOptions& options_;
  Logger& log_;
  std::unique_ptr<dio::DpdkInterface> dpdk_;
  Timer memory_delivery_;  // backend memory: the network's next delivery
  bool memory_hooked_ = false;
};

}  // namespace hoplink::transport
