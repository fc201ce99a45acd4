#include "io/datagram_port.hpp"

namespace hoplink::transport {

DatagramPort::DatagramPort(Runtime& runtime, std::unique_ptr<dio::DatagramIo> backend, Handler on_datagram)
    : runtime_(runtime),
      backend_(std::move(backend)),
      polled_(backend_->readiness_fd() < 0),
      descriptor_(runtime.io()),
      on_datagram_(std::move(on_datagram)),
      readable_again_(runtime, [this] { on_readable(); }),
      next_poll_(runtime, [this] { poll(); }),
      idle_timer_(runtime),
      wake_after_send_(runtime, [this] { wake(sleep_generation_); }) {
  if (!polled_) descriptor_.assign(backend_->readiness_fd());
}

DatagramPort::~DatagramPort() {
  runtime_.cancel_flush(*this);
  error_code ignored;
  descriptor_.cancel(ignored);
  if (sleeping_) backend_->end_wait();
  // The backend owns the descriptor and closes it.
  if (descriptor_.is_open()) descriptor_.release();
}

void DatagramPort::start() {
  if (polled_) {
    next_poll_.schedule();
  } else {
    wait_readable();
  }
}

std::size_t DatagramPort::drain(bool& drained) {
  drained = false;
  std::size_t handled = 0;
  for (int round = 0; round < kBurstsPerWakeup && !drained; ++round) {
    auto received = backend_->receive_burst(burst_);
    if (!received.ok() || received.value() == 0) {
      drained = true;
      break;
    }
    for (std::size_t i = 0; i < received.value(); ++i) on_datagram_(burst_[i]);
    handled += received.value();
    drained = received.value() < burst_.size();
  }
  return handled;
}

void DatagramPort::wait_readable() {
  descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                         lifetime_.guard([this](const error_code& ec) {
                           if (ec == asio::error::operation_aborted) return;
                           on_readable();
                         }));
}

void DatagramPort::on_readable() {
  bool drained = false;
  drain(drained);
  runtime_.end_round();
  if (drained) {
    wait_readable();
    return;
  }
  // The round limit was hit with more pending. Datagrams a backend holds back (split from a GRO message)
  // do not show on the descriptor, so come back through the loop instead of waiting on it; the other
  // sockets get their turn first.
  readable_again_.schedule();
}

void DatagramPort::send(const PeerAddress& to, std::span<const std::byte> payload) {
  if (backend_->pending_tx() >= backend_->tx_capacity()) flush();
  backend_->enqueue(to, payload);
  runtime_.request_flush(*this);
}

void DatagramPort::flush() {
  bool sent_any = false;
  while (backend_->pending_tx() > 0) {
    auto sent = backend_->flush();
    if (!sent.ok()) {
      if (sent.error() != dio::IoError::would_block) break;
      if (!polled_) wait_writable();
      sent_any = true;  // a polled backend retries at its next poll: make that soon
      break;
    }
    if (sent.value() == 0) break;
    sent_any = true;
  }
  if (!polled_ || !sent_any) return;
  // Answers to what was just sent come soon: poll busily again, from the loop (flush() may be called from
  // inside the protocol stack).
  last_traffic_ = runtime_.now();
  if (sleeping_) wake_after_send_.schedule();
}

void DatagramPort::wait_writable() {
  if (waiting_writable_) return;
  waiting_writable_ = true;
  descriptor_.async_wait(asio::posix::descriptor_base::wait_write,
                         lifetime_.guard([this](const error_code& ec) {
                           if (ec == asio::error::operation_aborted) return;
                           waiting_writable_ = false;
                           flush();
                         }));
}

void DatagramPort::poll() {
  bool drained = false;
  const std::size_t handled = drain(drained);
  if (handled > 0) runtime_.end_round();
  flush();
  const auto now = runtime_.now();
  if (handled > 0 || !drained || backend_->pending_tx() > 0) last_traffic_ = now;
  const dio::PollPolicy policy = backend_->poll_policy();
  if (policy.idle_sleep.count() == 0 || now - last_traffic_ < policy.busy_poll) {
    next_poll_.schedule();
    return;
  }
  sleep(policy.idle_sleep);
}

void DatagramPort::sleep(std::chrono::microseconds period) {
  sleeping_ = true;
  const std::uint64_t generation = ++sleep_generation_;
  const int fd = backend_->prepare_wait();
  if (fd >= 0 && !wake_wait_pending_) {
    if (!descriptor_.is_open()) descriptor_.assign(fd);
    wake_wait_pending_ = true;
    descriptor_.async_wait(asio::posix::descriptor_base::wait_read,
                           lifetime_.guard([this](const error_code& ec) {
                             wake_wait_pending_ = false;
                             // Whatever sleep this wait began in, the port has work now if it sleeps.
                             if (!ec) wake(sleep_generation_);
                           }));
  }
  idle_timer_.arm_after(period, [this, generation] { wake(generation); });
}

void DatagramPort::wake(std::uint64_t generation) {
  if (!sleeping_ || generation != sleep_generation_) return;
  sleeping_ = false;
  idle_timer_.cancel();
  backend_->end_wait();
  poll();
}

}  // namespace hoplink::transport
