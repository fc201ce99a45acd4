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

#include "runtime/asio.hpp"
#include "dpdk_io/datagram_io.hpp"

namespace hoplink::transport {

class DatagramPort {
 public:
  // Called for every received datagram; the payload view is valid only during the call.
  using Handler = std::function<void(const dio::ReceivedDatagram& datagram)>;
  // Called after each drained round of bursts (the caller settles its protocol state there).
  using AfterReceive = std::function<void()>;

  DatagramPort(asio::io_context& io, std::unique_ptr<dio::DatagramIo> backend, Handler on_datagram,
               AfterReceive after_receive);
  ~DatagramPort();
  DatagramPort(const DatagramPort&) = delete;
  DatagramPort& operator=(const DatagramPort&) = delete;

  void start();
  // Queues a datagram; sends the batch at once when it is full. Loss on overload is a datagram's lot.
  void send(const PeerAddress& to, std::span<const std::byte> payload);
  // Sends what is queued; if the backend pushes back, finishes when it is writable again (descriptor) or at
  // the next poll (polled backend).
  void flush();

  dio::DatagramIo& io() { return *backend_; }
  const dio::DatagramIo& io() const { return *backend_; }
  PeerAddress local_address() const { return backend_->local_address(); }

 private:
  using Clock = std::chrono::steady_clock;

  // Receives up to kBurstsPerWakeup bursts. Returns the datagrams handled; `drained` says the backend had
  // no more.
  std::size_t drain(bool& drained);

  // Backends with a readiness descriptor.
  void wait_readable();
  void on_readable();
  void wait_writable();

  // Polled backends.
  void poll();
  void post_poll();
  void sleep(std::chrono::microseconds period);
  void wake(std::uint64_t generation);

  static constexpr std::size_t kBurst = 64;
  // Bursts drained per wake-up before yielding to the other sockets of the loop.
  static constexpr int kBurstsPerWakeup = 16;

  std::unique_ptr<dio::DatagramIo> backend_;
  const bool polled_;
  // The readiness descriptor, or for a polled backend its wake descriptor (assigned at the first sleep).
  asio::posix::stream_descriptor descriptor_;
  asio::steady_timer idle_timer_;
  Handler on_datagram_;
  AfterReceive after_receive_;
  std::array<dio::ReceivedDatagram, kBurst> burst_{};
  bool waiting_writable_ = false;
  // Polled backends: a poll is queued in the loop / the port sleeps (generation tells stale wake-ups apart).
  bool poll_posted_ = false;
  bool sleeping_ = false;
  bool wake_wait_pending_ = false;
  std::uint64_t sleep_generation_ = 0;
  Clock::time_point last_traffic_{};
  // Handlers still queued in the loop when this object dies must not touch it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
