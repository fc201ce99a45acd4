// A DatagramIo driven by the event loop: waits for its descriptor to be readable, drains bursts into a
// handler, and flushes queued datagrams, waiting for writability when the kernel pushes back.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <span>

#include "asio.hpp"
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
  // Sends what is queued; if the kernel pushes back, finishes when the socket is writable again.
  void flush();

  dio::DatagramIo& io() { return *backend_; }
  const dio::DatagramIo& io() const { return *backend_; }
  PeerAddress local_address() const { return backend_->local_address(); }

 private:
  void wait_readable();
  void on_readable();
  void wait_writable();

  static constexpr std::size_t kBurst = 64;
  // Bursts drained per wake-up before yielding to the other sockets of the loop.
  static constexpr int kBurstsPerWakeup = 16;

  std::unique_ptr<dio::DatagramIo> backend_;
  asio::posix::stream_descriptor descriptor_;
  Handler on_datagram_;
  AfterReceive after_receive_;
  std::array<dio::ReceivedDatagram, kBurst> burst_{};
  bool waiting_writable_ = false;
  // Handlers still queued in the loop when this object dies must not touch it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
