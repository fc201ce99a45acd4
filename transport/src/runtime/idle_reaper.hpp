// The clock of a transport's idle-peer sweep, in reaper periods ("epochs"): a peer stamps epoch() whenever
// it is used, and every period the sweep forgets the peers that idle() says have been unused long enough.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "runtime/asio.hpp"

namespace hoplink::transport {

class IdleReaper {
 public:
  static constexpr std::chrono::seconds kPeriod{10};
  static constexpr std::uint64_t kIdleEpochs = 3;  // a peer unused for 20-30 s is idle

  IdleReaper(asio::io_context& io, std::function<void()> sweep, std::chrono::milliseconds period = kPeriod)
      : timer_(io), sweep_(std::move(sweep)), period_(period) {}
  ~IdleReaper() {
    *alive_ = false;
    timer_.cancel();
  }
  IdleReaper(const IdleReaper&) = delete;
  IdleReaper& operator=(const IdleReaper&) = delete;

  // Runs the sweep every period from now on; later calls do nothing.
  void start() {
    if (armed_) return;
    armed_ = true;
    timer_.expires_after(period_);
    timer_.async_wait([this, alive = alive_](const error_code& ec) {
      if (!*alive || ec == asio::error::operation_aborted) return;
      armed_ = false;
      ++epoch_;
      sweep_();
      start();
    });
  }

  std::uint64_t epoch() const { return epoch_; }
  bool idle(std::uint64_t last_used_epoch) const { return epoch_ - last_used_epoch >= kIdleEpochs; }

 private:
  asio::steady_timer timer_;
  std::function<void()> sweep_;
  std::chrono::milliseconds period_;
  std::uint64_t epoch_ = 0;
  bool armed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
