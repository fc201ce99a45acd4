// The kernel UDP socket backend of DatagramIo: non-blocking, recvmmsg/sendmmsg, IPv4 or IPv6.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

struct UdpSocketConfig {
  PeerAddress bind;                                // port 0 picks one; see local_address()
  std::size_t socket_buffer_bytes = 4 * 1024 * 1024;  // SO_SNDBUF and SO_RCVBUF (SO_*BUFFORCE as root)
  std::size_t burst = 64;                          // datagrams per recvmmsg / sendmmsg, and tx batch size
  std::size_t max_payload = 2048;                  // bytes; larger received datagrams are counted and dropped
  bool reuse_address = false;                      // SO_REUSEADDR
};

// Errors name the failing call and errno text, e.g. "bind 127.0.0.1:5000: Address already in use".
Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config);

}  // namespace hoplink::dio
