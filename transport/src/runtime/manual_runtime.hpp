// A Runtime whose time moves only when told: the in-process tests drive a whole hoplink (SCTP stack, DTLS,
// links, peer tables) on it, a minute of timeouts in milliseconds. Real I/O (tor's TCP sockets on loopback,
// the memory network's descriptors) still completes through the io_context; poll() runs whatever is ready.
#pragma once

#include <functional>

#include "runtime/runtime.hpp"

namespace hoplink::transport {

class ManualRuntime final : public Runtime {
 public:
  // Starts at an arbitrary, fixed point in time (never the epoch: code may subtract from now()).
  explicit ManualRuntime(asio::io_context& io, TimePoint start = TimePoint(std::chrono::hours(1000)));

  TimePoint now() const override { return now_; }

  // Runs what is ready without moving time (posted tasks, completed I/O, timers due now) until nothing is.
  // Returns how many handlers and timers ran.
  std::size_t poll();
  // Moves time to `until`, stopping at every timer deadline on the way and running what is ready there.
  void advance_to(TimePoint until);
  void advance(Duration by) { advance_to(now_ + by); }
  // Advances in steps of at most `step` until done() holds or `limit` has passed; returns done(). Between
  // steps it gives real I/O a moment (loopback TCP) when nothing was ready.
  bool run_for(const std::function<bool()>& done, Duration limit,
               Duration step = std::chrono::milliseconds(10));
  void run_until(const std::function<bool()>& done, TimePoint deadline) override;

 private:
  TimePoint now_;
};

}  // namespace hoplink::transport
