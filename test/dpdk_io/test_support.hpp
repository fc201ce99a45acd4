// Helpers and backend fixtures shared by the dpdk_io tests.
#pragma once

#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dpdk_io/datagram_io.hpp"
#include "dpdk_io/memory_network.hpp"
#include "dpdk_io/memory_pair.hpp"
#include "dpdk_io/udp_socket.hpp"
#include "test_payloads.hpp"
#include "udp_socket_syscalls.hpp"

namespace hoplink::dio::test {

using namespace std::chrono_literals;

inline bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// One receive_burst() into `out`, waiting up to `wait` on readiness_fd() when nothing is there yet (loopback
// delivery is normally done when sendmmsg returns, but softirq processing may lag). Backends without a fd are
// synchronous: no wait.
inline std::size_t receive_views(DatagramIo& io, std::span<ReceivedDatagram> out,
                                 std::chrono::milliseconds wait = 2000ms) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    auto received = io.receive_burst(out);
    if (!received.ok()) return 0;
    if (*received > 0 || io.readiness_fd() < 0) return *received;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) return 0;
    pollfd descriptor{io.readiness_fd(), POLLIN, 0};
    ::poll(&descriptor, 1, static_cast<int>(left.count()) + 1);
  }
}

// Receives until `count` datagrams are collected or `wait` passes without any arriving; bursts of
// `burst_size` entries. Returns what arrived (possibly more than `count` if more was pending).
inline std::vector<Copied> receive_copies(DatagramIo& io, std::size_t count, std::size_t burst_size = 16,
                                          std::chrono::milliseconds wait = 2000ms) {
  std::vector<Copied> copies;
  std::vector<ReceivedDatagram> out(burst_size);
  while (copies.size() < count) {
    const auto n = receive_views(io, out, wait);
    if (n == 0) break;
    for (std::size_t i = 0; i < n; ++i) {
      copies.push_back({out[i].from, {out[i].payload.begin(), out[i].payload.end()}});
    }
  }
  return copies;
}

// Conformance fixtures: two connected endpoints `a` and `b`, plus the knobs a generic test needs.
//   limit_tx():  from now on the path from a accepts a bounded number of datagrams before flush() pushes back
//                (memory: b's queue fills; UDP: a sendmmsg shim runs out of budget) ...
//   relieve():   ... until this is called and b reads (memory: reading is what frees the queue).
//   unroutable(): an address a cannot send to at all; the backend must drop it and count tx_errors.

struct MemoryBackend {
  static constexpr std::size_t kQueue = 200;  // not a multiple of the 64-datagram batch: flushes go partial

  MemoryBackend() {
    MemoryPairConfig config;
    config.capacity = kQueue;
    config.max_payload = 1200;
    auto pair = make_memory_pair(config);
    a = std::move(pair.first);
    b = std::move(pair.second);
  }
  bool available() const { return true; }
  void limit_tx() {}
  void relieve() {}
  PeerAddress unroutable() const { return PeerAddress::v4({10, 9, 9, 9}, 9); }

  std::unique_ptr<DatagramIo> a;
  std::unique_ptr<DatagramIo> b;
};

// Two endpoints of a memory network. The network never pushes back (a full queue drops), so the would_block
// test skips it.
struct MemoryNetworkBackend {
  static constexpr bool kNeverBlocks = true;

  MemoryNetworkBackend() {
    auto opened_a = network.open(PeerAddress::v4({10, 0, 0, 1}, 1000));
    auto opened_b = network.open(PeerAddress::v4({10, 0, 0, 2}, 0));
    if (opened_a.ok()) a = std::move(opened_a).value();
    if (opened_b.ok()) b = std::move(opened_b).value();
  }
  bool available() const { return a && b; }
  void limit_tx() {}
  void relieve() {}
  // The other family: refused like a kernel socket refuses it.
  PeerAddress unroutable() const { return *PeerAddress::parse("[::1]:9"); }

  MemoryNetwork network;
  std::unique_ptr<DatagramIo> a;
  std::unique_ptr<DatagramIo> b;
};

// The datagrams one sendmmsg message carries: 1, or with a UDP_SEGMENT cmsg its length in gso_size pieces.
inline std::size_t datagrams_in(const msghdr& header) {
  std::size_t length = 0;
  for (std::size_t i = 0; i < header.msg_iovlen; ++i) length += header.msg_iov[i].iov_len;
  for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
       control = CMSG_NXTHDR(const_cast<msghdr*>(&header), control)) {
    if (control->cmsg_level != SOL_UDP || control->cmsg_type != UDP_SEGMENT) continue;
    std::uint16_t segment = 0;
    std::memcpy(&segment, CMSG_DATA(control), sizeof segment);
    if (segment > 0 && length > 0) return (length + segment - 1) / segment;
  }
  return 1;
}

// Passes sendmmsg through to the kernel while `budget` datagrams last, then answers EAGAIN. A message is
// taken whole or not at all, as the kernel does with a GSO message.
struct SendBudget {
  std::size_t budget = std::numeric_limits<std::size_t>::max();

  detail::UdpSyscalls syscalls(const std::shared_ptr<SendBudget>& self) const {
    detail::UdpSyscalls calls;
    calls.sendmmsg = [self](int fd, mmsghdr* messages, unsigned count, int flags) {
      unsigned allowed = 0;
      std::size_t datagrams = 0;
      while (allowed < count && datagrams + datagrams_in(messages[allowed].msg_hdr) <= self->budget) {
        datagrams += datagrams_in(messages[allowed].msg_hdr);
        ++allowed;
      }
      if (allowed == 0) {
        errno = EAGAIN;
        return -1;
      }
      const int sent = ::sendmmsg(fd, messages, allowed, flags);
      for (int i = 0; i < sent; ++i) self->budget -= datagrams_in(messages[i].msg_hdr);
      return sent;
    };
    return calls;
  }
};

inline UdpSocketConfig loopback_config(bool v6, std::size_t burst = 8, std::size_t max_payload = 1200) {
  UdpSocketConfig config;
  config.bind = v6 ? *PeerAddress::parse("[::1]:0") : *PeerAddress::parse("127.0.0.1:0");
  config.burst = burst;
  config.max_payload = max_payload;
  return config;
}

// Which kernel offloads the UDP fixtures ask for: both (the default), none, or GSO towards receivers
// without GRO (the kernel then splits coalesced messages before they reach the receiving socket).
enum class Offload { gso_gro, none, gso_only };

inline UdpSocketConfig offload_config(bool v6, Offload offload) {
  UdpSocketConfig config = loopback_config(v6);
  config.gso = offload != Offload::none;
  config.gro = offload == Offload::gso_gro;
  return config;
}

template <bool V6, Offload kOffload = Offload::gso_gro>
struct UdpBackend {
  static constexpr std::size_t kBudget = 21;  // datagrams: 8 + 8 + 5 with burst 8, the third flush is partial

  UdpBackend() {
    auto opened_a = detail::open_udp_socket(offload_config(V6, kOffload), budget->syscalls(budget));
    auto opened_b = detail::open_udp_socket(offload_config(V6, kOffload), {});
    if (!opened_a.ok() || !opened_b.ok()) {
      error = opened_a.ok() ? opened_b.error() : opened_a.error();
      return;
    }
    a = std::move(opened_a).value();
    b = std::move(opened_b).value();
  }
  bool available() const { return a && b; }
  void limit_tx() { budget->budget = kBudget; }
  void relieve() { budget->budget = std::numeric_limits<std::size_t>::max(); }
  // The other family: the kernel refuses it on this socket (EAFNOSUPPORT on v4, ENETUNREACH on v6-only).
  PeerAddress unroutable() const {
    return V6 ? *PeerAddress::parse("127.0.0.1:9") : *PeerAddress::parse("[::1]:9");
  }

  std::shared_ptr<SendBudget> budget = std::make_shared<SendBudget>();
  std::unique_ptr<DatagramIo> a;
  std::unique_ptr<DatagramIo> b;
  std::string error;
};

using UdpV4Backend = UdpBackend<false>;
using UdpV6Backend = UdpBackend<true>;
using UdpV4PlainBackend = UdpBackend<false, Offload::none>;
using UdpV6PlainBackend = UdpBackend<true, Offload::none>;
using UdpV4GsoOnlyBackend = UdpBackend<false, Offload::gso_only>;

}  // namespace hoplink::dio::test
