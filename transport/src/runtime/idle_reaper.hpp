// The clock of a transport's idle-peer sweep, in reaper periods ("epochs"): a peer stamps epoch() whenever
// it is used, and every period the sweep forgets the peers that idle() says have been unused long enough.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "runtime/runtime.hpp"

namespace hoplink::transport {

class IdleReaper {
 public:
  static constexpr std::chrono::seconds kPeriod{10};
  static constexpr std::uint64_t kIdleEpochs = 3;  // a peer unused for 20-30 s is idle

  IdleReaper(Runtime& runtime, std::function<void()> sweep, std::chrono::milliseconds period = kPeriod)
      : timer_(runtime), sweep_(std::move(sweep)), period_(period) {}

  // Runs the sweep every period from now on; later calls do nothing.
  void start() {
    if (timer_.armed()) return;
    timer_.arm_after(period_, [this] {
      ++epoch_;
      sweep_();
      start();
    });
  }

  std::uint64_t epoch() const { return epoch_; }
  bool idle(std::uint64_t last_used_epoch) const { return epoch_ - last_used_epoch >= kIdleEpochs; }

 private:
  Timer timer_;
  std::function<void()> sweep_;
  std::chrono::milliseconds period_;
  std::uint64_t epoch_ = 0;
};

}  // namespace hoplink::transport
