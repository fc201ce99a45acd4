// The bytes of IP and UDP header in front of a UDP payload: an IP MTU minus these is the largest datagram
// payload (what every DatagramIo's max_payload() and hoplink's --mtu count).
#pragma once

#include <cstddef>

namespace hoplink::dio {

inline constexpr std::size_t kIpv4UdpHeaderBytes = 20 + 8;  // IPv4 without options, UDP
inline constexpr std::size_t kIpv6UdpHeaderBytes = 40 + 8;  // IPv6 without extension headers, UDP

}  // namespace hoplink::dio
