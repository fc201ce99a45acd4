#include "datagram_port.hpp"

namespace hoplink::transport {

DatagramPort::DatagramPort(asio::io_context& io, std::unique_ptr<dio::DatagramIo> backend,
                           Handler on_datagram, AfterReceive after_receive)
    : backend_(std::move(backend)),
      descriptor_(io, backend_->readiness_fd()),
      on_datagram_(std::move(on_datagram)),
      after_receive_(std::move(after_receive)) {}

DatagramPort::~DatagramPort() {
  *alive_ = false;
  error_code ignored;
  descriptor_.cancel(ignored);
  // The backend owns the descriptor and closes it.
  descriptor_.release();
}

void DatagramPort::start() {
  wait_readable();
}

void DatagramPort::wait_readable() {
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                         [this, alive = alive_](const error_code& ec) {
                           if (!*alive || ec == asio::error::operation_aborted) return;
                           on_readable();
                         });
}

void DatagramPort::on_readable() {
  bool drained = false;
  for (int round = 0; round < kBurstsPerWakeup && !drained; ++round) {
    auto received = backend_->receive_burst(burst_);
    if (!received.ok() || received.value() == 0) {
      drained = true;
      break;
    }
    for (std::size_t i = 0; i < received.value(); ++i) on_datagram_(burst_[i]);
    drained = received.value() < burst_.size();
  }
  after_receive_();
  if (drained) {
    wait_readable();
    return;
  }
  // The round limit was hit with more pending. Datagrams a backend holds back (split from a GRO message)
  // do not show on the descriptor, so come back through the loop instead of waiting on it; the other
  // sockets get their turn first.
  asio::post(descriptor_.get_executor(), [this, alive = alive_] {
    if (*alive) on_readable();
  });
}

void DatagramPort::send(const PeerAddress& to, std::span<const std::byte> payload) {
  if (backend_->pending_tx() >= backend_->tx_capacity()) flush();
  backend_->enqueue(to, payload);
}

void DatagramPort::flush() {
  while (backend_->pending_tx() > 0) {
    auto sent = backend_->flush();
    if (!sent.ok()) {
      if (sent.error() == dio::IoError::would_block) wait_writable();
      return;
    }
    if (sent.value() == 0) return;
  }
}

void DatagramPort::wait_writable() {
  if (waiting_writable_) return;
  waiting_writable_ = true;
  descriptor_.async_wait(asio::posix::descriptor_base::wait_write,
                         [this, alive = alive_](const error_code& ec) {
                           if (!*alive || ec == asio::error::operation_aborted) return;
                           waiting_writable_ = false;
                           flush();
                         });
}

}  // namespace hoplink::transport
