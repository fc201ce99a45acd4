// Private to dpdk_io and its tests: the UDP backend with its two hot syscalls and its offload socket options
// replaceable, so that tests can produce the kernel's rare answers (EAGAIN, ENOBUFS, partial sends,
// ECONNREFUSED, a refused GSO message, a kernel without GSO or GRO) on demand. Production code calls
// open_udp_socket() from udp_socket.hpp, which uses the real syscalls.
#pragma once

#include <sys/socket.h>

#include <functional>
#include <memory>
#include <string>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"
#include "dpdk_io/udp_socket.hpp"

namespace hoplink::dio::detail {

struct UdpSyscalls {
  // Same contract as recvmmsg(2) without the timeout / sendmmsg(2): return the count or -1 with errno set.
  // An empty function means the real syscall. Called once per burst, never per datagram.
  std::function<int(int fd, mmsghdr* messages, unsigned count, int flags)> recvmmsg;
  std::function<int(int fd, mmsghdr* messages, unsigned count, int flags)> sendmmsg;
  // Same contract as setsockopt(2) / getsockopt(2); used only for the offload options (SOL_UDP UDP_GRO, and
  // the UDP_SEGMENT probe), at open.
  std::function<int(int fd, int level, int name, const void* value, socklen_t length)> setsockopt;
  std::function<int(int fd, int level, int name, void* value, socklen_t* length)> getsockopt;
};

Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config,
                                                                 UdpSyscalls syscalls);

}  // namespace hoplink::dio::detail
