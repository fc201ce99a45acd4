#include "runtime/manual_runtime.hpp"

#include <algorithm>

namespace hoplink::transport {

ManualRuntime::ManualRuntime(asio::io_context& io, TimePoint start) : Runtime(io), now_(start) {}

std::size_t ManualRuntime::poll() {
  std::size_t total = 0;
  // Bounded: a handler that always finds more work is a bug the test should see, not hang on.
  for (int round = 0; round < 100000; ++round) {
    if (io().stopped()) io().restart();
    std::size_t ran = io().poll();
    ran += fire_due_timers(now_);
    total += ran;
    if (ran == 0) break;
  }
  return total;
}

void ManualRuntime::advance_to(TimePoint until) {
  poll();
  while (true) {
    const auto next = next_deadline();
    if (!next || *next > until) break;
    now_ = std::max(now_, *next);
    poll();
  }
  now_ = std::max(now_, until);
  poll();
}

bool ManualRuntime::run_for(const std::function<bool()>& done, Duration limit, Duration step) {
  const TimePoint deadline = now_ + limit;
  while (!done()) {
    if (now_ >= deadline) return false;
    if (poll() == 0) {
      // Nothing ready: real I/O in flight (a TCP segment on loopback) gets a brief real wait.
      io().run_one_for(std::chrono::microseconds(200));
      if (io().stopped()) io().restart();
    }
    if (done()) break;
    advance_to(std::min(deadline, now_ + step));
  }
  return true;
}

void ManualRuntime::run_until(const std::function<bool()>& done, TimePoint deadline) {
  run_for(done, deadline > now_ ? deadline - now_ : Duration::zero());
}

}  // namespace hoplink::transport
