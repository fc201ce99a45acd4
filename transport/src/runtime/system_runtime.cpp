#include "runtime/system_runtime.hpp"

namespace hoplink::transport {

SystemRuntime::SystemRuntime(asio::io_context& io) : Runtime(io), wake_(io) {}

SystemRuntime::~SystemRuntime() {
  wake_.cancel();
}

void SystemRuntime::deadlines_changed() {
  const auto next = next_deadline();
  if (next == armed_at_) return;
  armed_at_ = next;
  if (!next) {
    wake_.cancel();
    return;
  }
  wake_.expires_at(*next);
  wake_.async_wait(lifetime().guard([this](const error_code& ec) {
    if (ec == asio::error::operation_aborted) return;
    armed_at_.reset();
    fire_due_timers(now());
  }));
}

void SystemRuntime::run_until(const std::function<bool()>& done, TimePoint deadline) {
  while (!done() && now() < deadline) io().run_one_until(deadline);
  // run_one_until() may have found the loop out of work; run() needs it ready again.
  if (io().stopped()) io().restart();
}

}  // namespace hoplink::transport
