// DatagramIo: burst receive and burst send of UDP payloads with their peer addresses.
//
// One interface, one file and one CMake target per backend (kernel UDP socket, in-memory pair for tests,
// DPDK later). The shape fits DPDK: received payloads are views into the backend's own buffers (mbufs),
// and a datagram to send is copied exactly once, into the backend's transmit buffer, by enqueue().
// No heap allocation per datagram on either path. Not thread-safe: one owner, one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/peer_address.hpp"
#include "common/result.hpp"

namespace hoplink::dio {

using hoplink::PeerAddress;

enum class IoError : std::uint8_t {
  would_block,  // nothing can be done now: wait for readiness_fd() (or poll again)
  closed,       // the backend is shut down
  system,       // an unexpected errno; see last_errno() on the backend
};
std::string_view to_string(IoError error);

struct ReceivedDatagram {
  PeerAddress from;
  // Valid until the next receive_burst() call on the same backend, or its destruction.
  std::span<const std::byte> payload;
};

struct IoCounters {
  std::uint64_t rx_datagrams = 0;
  std::uint64_t rx_bytes = 0;
  std::uint64_t rx_truncated = 0;  // larger than the receive buffer: dropped
  std::uint64_t tx_datagrams = 0;
  std::uint64_t tx_bytes = 0;
  std::uint64_t tx_dropped_full = 0;     // enqueue() found the batch full
  std::uint64_t tx_dropped_too_big = 0;  // enqueue() payload over max_payload()
  std::uint64_t tx_errors = 0;           // the send syscall refused a datagram (it is dropped)
};

// How the event loop polls a backend that has no readiness descriptor (DPDK): keep polling while traffic
// flows and for `busy_poll` after it stops, then poll every `idle_sleep` (or sooner when the descriptor of
// prepare_wait() polls readable). Busy polling gives the lowest latency and costs a whole core; sleeping
// costs up to `idle_sleep` of latency on the first datagram after a pause and almost no CPU.
struct PollPolicy {
  std::chrono::microseconds busy_poll{200};
  std::chrono::microseconds idle_sleep{1000};  // 0: never sleep (poll continuously, a core at 100%)
};

class DatagramIo {
 public:
  virtual ~DatagramIo() = default;

  // Fills out[0..n) and returns n; n == 0 means nothing is pending (never an error). Every call invalidates
  // the payload views handed out by the previous call.
  virtual Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) = 0;

  // Copies `payload` into the transmit batch. Returns false, and counts the drop, when the batch is full or
  // the payload is larger than max_payload(); a datagram transport tolerates that like any loss, but callers
  // should flush() when pending_tx() reaches tx_capacity().
  virtual bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) = 0;

  // Hands the batch to the network. Returns the number of datagrams sent; what could not be sent stays
  // queued, in order, and the error would_block says to wait until the backend is writable.
  virtual Result<std::size_t, IoError> flush() = 0;

  virtual std::size_t pending_tx() const = 0;
  virtual std::size_t tx_capacity() const = 0;
  virtual std::size_t max_payload() const = 0;

  // A file descriptor that polls readable when receive_burst() has work and writable when flush() can make
  // progress; -1 when the backend has no such descriptor and must be polled (DPDK, the in-memory pair).
  virtual int readiness_fd() const = 0;

  // Polled backends (readiness_fd() == -1) only. poll_policy() says how to poll. Before sleeping the caller
  // calls prepare_wait(): it arms the backend's wake-ups (DPDK: rx interrupts where the driver has them, and
  // datagrams another endpoint of the same port received for this one) and returns a descriptor that polls
  // readable when there may be work before the sleep ends, or -1 when there is none (sleep the whole
  // idle_sleep). The descriptor stays owned by the backend and is the same on every call. After waking,
  // whatever woke it, the caller calls end_wait() and then receive_burst().
  virtual PollPolicy poll_policy() const { return {}; }
  virtual int prepare_wait() { return -1; }
  virtual void end_wait() {}

  // The bound local address (with the real port after binding port 0).
  virtual PeerAddress local_address() const = 0;
  virtual const IoCounters& counters() const = 0;
  virtual std::string_view backend_name() const = 0;
  // errno of the last IoError::system, 0 if none.
  virtual int last_errno() const = 0;
};

}  // namespace hoplink::dio
