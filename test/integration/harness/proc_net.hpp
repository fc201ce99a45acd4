// What the kernel says a process has open, read from /proc (no privileges needed for our own children).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>

namespace hoplink::itest {

// Local ports of the IPv4 UDP sockets process `pid` holds.
std::set<std::uint16_t> udp_ports_of(pid_t pid);
// Resident set size of `pid` in bytes (VmRSS), 0 if unreadable.
std::uint64_t rss_bytes(pid_t pid);
// Number of open file descriptors of `pid` (-1 if unreadable).
int open_fd_count(pid_t pid);

}  // namespace hoplink::itest
