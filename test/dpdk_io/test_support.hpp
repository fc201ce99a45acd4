// Helpers and backend fixtures shared by the dpdk_io tests.
#pragma once

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
#include "dpdk_io/memory_pair.hpp"
#include "dpdk_io/udp_socket.hpp"
#include "udp_socket_syscalls.hpp"

namespace hoplink::dio::test {

using namespace std::chrono_literals;

// A received datagram copied out of the backend's buffers.
struct Copied {
  PeerAddress from;
  std::vector<std::byte> payload;
};

inline std::vector<std::byte> to_bytes(std::string_view text) {
  std::vector<std::byte> bytes(text.size());
  std::memcpy(bytes.data(), text.data(), text.size());
  return bytes;
}

// `size` bytes (at least 4) starting with `sequence` (little endian), then a pattern derived from it, so that
// a wrong, shifted or torn payload is caught by payload_matches().
inline std::vector<std::byte> numbered(std::uint32_t sequence, std::size_t size) {
  std::vector<std::byte> bytes(std::max<std::size_t>(size, 4));
  std::memcpy(bytes.data(), &sequence, 4);
  for (std::size_t i = 4; i < bytes.size(); ++i)
    bytes[i] = static_cast<std::byte>((sequence * 31 + i) & 0xff);
  return bytes;
}

inline std::uint32_t sequence_of(std::span<const std::byte> payload) {
  std::uint32_t sequence = std::numeric_limits<std::uint32_t>::max();
  if (payload.size() >= 4) std::memcpy(&sequence, payload.data(), 4);
  return sequence;
}

inline bool payload_matches(std::span<const std::byte> payload, std::size_t size) {
  const auto expected = numbered(sequence_of(payload), size);
  return payload.size() == expected.size() && std::memcmp(payload.data(), expected.data(), size) == 0;
}

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

// Passes sendmmsg through to the kernel while `budget` lasts, then answers EAGAIN.
struct SendBudget {
  std::size_t budget = std::numeric_limits<std::size_t>::max();

  detail::UdpSyscalls syscalls(const std::shared_ptr<SendBudget>& self) const {
    detail::UdpSyscalls calls;
    calls.sendmmsg = [self](int fd, mmsghdr* messages, unsigned count, int flags) {
      if (self->budget == 0) {
        errno = EAGAIN;
        return -1;
      }
      const auto allowed = static_cast<unsigned>(std::min<std::size_t>(count, self->budget));
      const int sent = ::sendmmsg(fd, messages, allowed, flags);
      if (sent > 0) self->budget -= static_cast<std::size_t>(sent);
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

template <bool V6>
struct UdpBackend {
  static constexpr std::size_t kBudget = 21;  // 8 + 8 + 5 with burst 8: the third flush is partial

  UdpBackend() {
    auto opened_a = detail::open_udp_socket(loopback_config(V6), budget->syscalls(budget));
    auto opened_b = detail::open_udp_socket(loopback_config(V6), {});
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

}  // namespace hoplink::dio::test
