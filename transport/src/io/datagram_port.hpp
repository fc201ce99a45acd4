// A DatagramIo driven by the event loop: drains bursts into a handler and flushes queued datagrams.
//
// A backend with a readiness descriptor (kernel socket) is waited on: readable -> drain, writable -> flush.
// A backend without one (DPDK) is polled, following its PollPolicy: while datagrams flow, and for busy_poll
// after, every poll is posted to the loop, so that tor's TCP sockets and timers get their turn between two
// polls (asio runs the reactor between queued handlers); then the port sleeps up to idle_sleep, or until the
// backend's wake descriptor (rx interrupt, datagrams another endpoint received for this one) is readable, or
// until this port sends something (replies come soon after a send: busy-polling again catches them fast).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "dpdk_io/datagram_io.hpp"
#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"
#include "runtime/runtime.hpp"

namespace hoplink::transport {

// After each drained round of bursts the port ends the runtime's round (the SCTP stack's events are
// dispatched, queued datagrams leave). send() asks the runtime to flush this port at the end of the round.
class DatagramPort final : public Flushable {
 public:
  // Called for every received datagram; the payload view is valid only during the call.
  using Handler = std::function<void(const dio::ReceivedDatagram& datagram)>;

  DatagramPort(Runtime& runtime, std::unique_ptr<dio::DatagramIo> backend, Handler on_datagram);
  ~DatagramPort();
  DatagramPort(const DatagramPort&) = delete;
  DatagramPort& operator=(const DatagramPort&) = delete;

  void start();
  // Queues a datagram; sends the batch at once when it is full. Loss on overload is a datagram's lot.
  void send(const PeerAddress& to, std::span<const std::byte> payload);
  // Sends what is queued; if the backend pushes back, finishes when it is writable again (descriptor) or at
  // the next poll (polled backend).
  void flush() override;

  dio::DatagramIo& io() { return *backend_; }
  const dio::DatagramIo& io() const { return *backend_; }
  PeerAddress local_address() const { return backend_->local_address(); }

 private:
  // Receives up to kBurstsPerWakeup bursts. Returns the datagrams handled; `drained` says the backend had
  // no more.
  std::size_t drain(bool& drained);

  // Backends with a readiness descriptor.
  void wait_readable();
  void on_readable();
  void wait_writable();

  // Polled backends.
  void poll();
  void sleep(std::chrono::microseconds period);
  void wake(std::uint64_t generation);

  static constexpr std::size_t kBurst = 64;
  // Bursts drained per wake-up before yielding to the other sockets of the loop.
  static constexpr int kBurstsPerWakeup = 16;

  Runtime& runtime_;
  std::unique_ptr<dio::DatagramIo> backend_;
  const bool polled_;
  // The readiness descriptor, or for a polled backend its wake descriptor (assigned at the first sleep).
  asio::posix::stream_descriptor descriptor_;
  Handler on_datagram_;
  std::array<dio::ReceivedDatagram, kBurst> burst_{};
  // More was pending after a round of bursts: come back through the loop.
  Task readable_again_;
  bool waiting_writable_ = false;
  // Polled backends: the next poll, queued in the loop; the sleep's timer; a wake-up after a send. The
  // generation tells stale wake-ups apart.
  Task next_poll_;
  Timer idle_timer_;
  Task wake_after_send_;
  bool sleeping_ = false;
  bool wake_wait_pending_ = false;
  std::uint64_t sleep_generation_ = 0;
  TimePoint last_traffic_{};
  Lifetime lifetime_;  // the descriptor's waits
};

}  // namespace hoplink::transport
