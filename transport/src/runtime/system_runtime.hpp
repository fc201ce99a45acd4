// The Runtime hoplink runs on: steady_clock, and one asio timer at the earliest deadline.
#pragma once

#include <optional>

#include "runtime/runtime.hpp"

namespace hoplink::transport {

class SystemRuntime final : public Runtime {
 public:
  explicit SystemRuntime(asio::io_context& io);
  ~SystemRuntime() override;

  TimePoint now() const override { return Clock::now(); }
  void run_until(const std::function<bool()>& done, TimePoint deadline) override;

 private:
  void deadlines_changed() override;

  asio::steady_timer wake_;
  std::optional<TimePoint> armed_at_;
};

}  // namespace hoplink::transport
