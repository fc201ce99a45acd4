#include "sctp/buffer_tuning.hpp"

#include <catch2/catch.hpp>

namespace hoplink::sctp {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr BufferLimits kLimits{256 * 1024, 256 * 1024, 16 * 1024 * 1024};

}  // namespace

TEST_CASE("buffer tuning: the send buffer grows to twice the path's BDP and no further", "[sctp][buffers]") {
  Buffers b{kLimits.initial_send, kLimits.initial_receive};
  PathSample s;
  s.send_bdp_bytes = 1'250'000;  // 200 Mbit/s x 50 ms
  b = tuned_buffers(kLimits, b, s);
  CHECK(b.send == 2'500'000);
  s.send_bdp_bytes = 100'000;  // a smaller estimate later does not shrink a busy link
  CHECK(tuned_buffers(kLimits, b, s).send == 2'500'000);
  s.send_bdp_bytes = 100'000'000;
  CHECK(tuned_buffers(kLimits, b, s).send == kLimits.max_window);
}

TEST_CASE("buffer tuning: a window-limited receiver doubles its window per step up to the cap",
          "[sctp][buffers]") {
  Buffers b{kLimits.initial_send, kLimits.initial_receive};
  PathSample s;
  s.rtt = milliseconds(50);
  std::size_t previous = b.receive;
  for (int step = 0; step < 12; ++step) {
    // The sender fills the whole window once per RTT.
    s.receive_bytes_per_s = static_cast<std::uint64_t>(b.receive) * 20;
    b = tuned_buffers(kLimits, b, s);
    CHECK(b.receive >= previous);
    CHECK(b.receive <= kLimits.max_window);
    if (previous < kLimits.max_window / 2) CHECK(b.receive == 2 * previous);
    previous = b.receive;
  }
  CHECK(b.receive == kLimits.max_window);
}

TEST_CASE("buffer tuning: an idle link returns to its start and fixed buffers never move",
          "[sctp][buffers]") {
  Buffers grown{4 * 1024 * 1024, 8 * 1024 * 1024};
  PathSample idle;
  idle.idle = true;
  CHECK(tuned_buffers(kLimits, grown, idle) == Buffers{kLimits.initial_send, kLimits.initial_receive});
  BufferLimits fixed = kLimits;
  fixed.max_window = 0;
  PathSample busy;
  busy.send_bdp_bytes = 10'000'000;
  busy.receive_bytes_per_s = 100'000'000;
  busy.rtt = microseconds(50'000);
  const Buffers start{fixed.initial_send, fixed.initial_receive};
  CHECK(tuned_buffers(fixed, start, busy) == start);
}

}  // namespace hoplink::sctp
