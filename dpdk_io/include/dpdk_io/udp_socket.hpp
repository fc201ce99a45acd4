// The kernel UDP socket backend of DatagramIo: non-blocking, recvmmsg/sendmmsg, IPv4 or IPv6, with UDP GSO on
// send and GRO on receive where the kernel has them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

struct UdpSocketConfig {
  PeerAddress bind;                                   // port 0 picks one; see local_address()
  std::size_t socket_buffer_bytes = 4 * 1024 * 1024;  // SO_SNDBUF and SO_RCVBUF (SO_*BUFFORCE as root)
  std::size_t burst = 64;  // datagrams per receive_burst() call at most, per sendmmsg, and tx batch size
  std::size_t max_payload = 2048;  // bytes; larger received datagrams are counted and dropped
  bool reuse_address = false;      // SO_REUSEADDR

  // UDP GSO (UDP_SEGMENT, Linux >= 4.18): flush() sends each run of queued datagrams to the same peer with
  // the same size (the last may be shorter; at most 64 datagrams and 65,000 bytes) as one message that the
  // kernel cuts into datagrams. The peer sees the same datagrams either way. Turned off, silently, when the
  // kernel lacks it or refuses it (EIO, or 8 refusals in a row); a refused message is re-sent one datagram at
  // a time, so GSO never loses a datagram. See udp_offload().
  bool gso = true;
  // UDP GRO (UDP_GRO, Linux >= 5.0): the kernel may hand over several datagrams of one peer in one buffer,
  // which receive_burst() splits again; callers still get one entry per datagram. Costs receive buffers of
  // 64 KiB each, for min(burst, 16) messages per recvmmsg (1 MiB at most, touched only as traffic needs it).
  // Datagrams of a split buffer that did not fit `out` are held for the next receive_burst() call, and
  // readiness_fd() does not show them: call receive_burst() until it returns fewer than out.size() (or 0)
  // before waiting on readiness_fd(). Turned off, silently, when the kernel refuses the option.
  bool gro = true;
};

// Errors name the failing call and errno text, e.g. "bind 127.0.0.1:5000: Address already in use".
Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config);

// What the kernel granted a socket from open_udp_socket(), and how the offloads are doing.
struct UdpOffload {
  bool gso = false;  // flush() coalesces runs now (asked for, supported, and not turned off after refusals)
  bool gro = false;  // UDP_GRO is on
  std::uint64_t gso_messages = 0;   // coalesced messages (2 or more datagrams) the kernel accepted
  std::uint64_t gso_datagrams = 0;  // datagrams those messages carried
  std::uint64_t gso_refused = 0;    // coalesced messages the kernel refused, re-sent one datagram at a time
  std::uint64_t gro_messages = 0;   // received buffers that held 2 or more datagrams
};
// nullopt when `io` is not a kernel UDP socket.
std::optional<UdpOffload> udp_offload(const DatagramIo& io);

}  // namespace hoplink::dio
