#include "sctp/buffer_tuning.hpp"

#include <algorithm>

namespace hoplink::sctp {

Buffers tuned_buffers(const BufferLimits& limits, const Buffers& current, const PathSample& sample) {
  if (limits.max_window == 0) return current;
  if (sample.idle) return Buffers{limits.initial_send, limits.initial_receive};
  const std::uint64_t cap = std::max<std::uint64_t>(limits.max_window, 1);
  auto grow = [cap](std::size_t now, std::size_t initial, std::uint64_t wanted) {
    const std::uint64_t target = std::min(std::max<std::uint64_t>(wanted, initial), cap);
    return static_cast<std::size_t>(std::max<std::uint64_t>(now, target));  // grows only; idling shrinks
  };
  const std::uint64_t rtt_us = static_cast<std::uint64_t>(std::max<std::int64_t>(sample.rtt.count(), 0));
  const std::uint64_t carried = sample.receive_bytes_per_s * rtt_us / 1'000'000;
  const bool send_limited = 4 * sample.flight_bytes >= 3 * std::uint64_t{current.send};
  const bool receive_limited = 4 * carried >= current.receive;
  return Buffers{
      grow(current.send, limits.initial_send,
           std::max<std::uint64_t>(2 * sample.send_bdp_bytes, send_limited ? 2 * current.send : 0)),
      grow(current.receive, limits.initial_receive,
           std::max<std::uint64_t>(2 * carried, receive_limited ? 2 * current.receive : 0))};
}

}  // namespace hoplink::sctp

// ---- applied to usrsctp sockets
// ----------------------------------------------------------------------------

#include <usrsctp.h>

#include "internal.hpp"

namespace hoplink::sctp {
namespace {

constexpr std::chrono::seconds kIdleAfter{2};
// The receive side has an RTT sample only once it has sent data or a heartbeat: until then assume a long path
// (the window is a limit, not memory: only what the peer really sends is held).
constexpr std::chrono::milliseconds kUnmeasuredRtt{100};

void set_buffer(struct socket* so, int option, std::size_t bytes) {
  const int value = static_cast<int>(std::min<std::size_t>(bytes, 1u << 30));
  usrsctp_setsockopt(so, SOL_SOCKET, option, &value, sizeof value);
}

}  // namespace

void Association::Impl::start_tuning(Clock::time_point t) {
  buffer_limits = BufferLimits{config.send_buffer, config.receive_buffer, config.max_window};
  last_tuned = t;
  last_moved = t;
}

void Association::Impl::note_traffic() {
  if (tuning_listed || stack == nullptr || buffer_limits.max_window == 0) return;
  tuning_listed = true;
  stack->tuning.push_back(slot);
}

bool Association::Impl::tune_buffers(Clock::time_point t) {
  if (so == nullptr) return false;
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(t - last_tuned);
  if (elapsed < kTuneInterval) return true;
  const bool moved = bytes_sent != sent_at_tune || bytes_received != received_at_tune;
  if (moved) last_moved = t;
  const auto path = live_stats();
  if (!path) return false;
  PathSample sample;
  sample.rtt = path->srtt_ms > 0 ? std::chrono::microseconds(std::uint64_t{path->srtt_ms} * 1000)
                                 : std::chrono::microseconds(kUnmeasuredRtt);
  sample.flight_bytes = path->flight_bytes;
  sample.send_bdp_bytes = path->bandwidth_bytes_per_s > 0 && path->min_rtt_us > 0
                              ? path->bandwidth_bytes_per_s * path->min_rtt_us / 1'000'000
                              : path->cwnd_bytes;
  sample.receive_bytes_per_s = (bytes_received - received_at_tune) * 1'000'000 /
                               static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed.count(), 1));
  sample.idle = !moved && t - last_moved >= kIdleAfter && buffered_amount() == 0;
  const Buffers now{config.send_buffer, config.receive_buffer};
  const Buffers next = tuned_buffers(buffer_limits, now, sample);
  if (next.send != now.send) set_buffer(so, SO_SNDBUF, next.send);
  if (next.receive != now.receive) set_buffer(so, SO_RCVBUF, next.receive);
  config.send_buffer = next.send;
  config.receive_buffer = next.receive;
  sent_at_tune = bytes_sent;
  received_at_tune = bytes_received;
  last_tuned = t;
  return moved || next.send > buffer_limits.initial_send || next.receive > buffer_limits.initial_receive;
}

void Stack::Impl::tune_buffers() {
  if (now - last_tuning_round < kTuneInterval) return;
  last_tuning_round = now;
  for (std::size_t i = 0; i < tuning.size();) {
    const std::uint32_t id = tuning[i];
    Association::Impl* a = id < slots.size() && slots[id].in_use ? slots[id].association : nullptr;
    if (a != nullptr && a->tuning_listed && a->tune_buffers(now)) {
      ++i;
      continue;
    }
    if (a != nullptr) a->tuning_listed = false;
    tuning[i] = tuning.back();
    tuning.pop_back();
  }
}

}  // namespace hoplink::sctp
