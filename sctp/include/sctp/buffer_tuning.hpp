// How a link's send buffer and receive window follow its path: they start at the configured sizes, grow
// toward twice the bandwidth-delay product the path shows, up to a cap, and go back to the start when the
// link idles. Pure functions of what was measured; the Association applies them (sctp/src).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace hoplink::sctp {

struct BufferLimits {
  std::size_t initial_send = 0;
  std::size_t initial_receive = 0;
  std::size_t max_window = 0;  // 0: the buffers keep their initial sizes
};

struct PathSample {
  std::uint64_t send_bdp_bytes = 0;       // the sender's estimate: bandwidth x min RTT, or its window
  std::uint64_t flight_bytes = 0;         // sent and not yet acknowledged, now
  std::uint64_t receive_bytes_per_s = 0;  // what arrived since the last sample
  std::chrono::microseconds rtt{0};       // smoothed RTT (0: not measured yet)
  bool idle = false;                      // nothing moved either way for a while, nothing queued
};

struct Buffers {
  std::size_t send = 0;
  std::size_t receive = 0;
  friend bool operator==(const Buffers&, const Buffers&) = default;
};

// Each grows toward twice what the path needs, and doubles while it is what limits the link: the send buffer
// when most of it is in flight (the sender's window is larger), the receive window when a quarter of it or
// more arrived within one RTT (a lossy path spends RTTs in recovery, so a window-limited link carries less
// than a window per RTT). A rate limited by a buffer cannot show the path's BDP by itself: without the
// doubling, growth would stall below it.
Buffers tuned_buffers(const BufferLimits& limits, const Buffers& current, const PathSample& sample);

}  // namespace hoplink::sctp
