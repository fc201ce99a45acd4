// The control parameters BBR derives from its model: pacing rate, send quantum and cwnd
// (draft: "Updating Control Parameters").
#include <algorithm>

#include "bbr_impl.hpp"

namespace hoplink::cc {

namespace {

std::uint64_t scale(std::uint64_t value, double gain) {
  return static_cast<std::uint64_t>(static_cast<double>(value) * gain);
}

}  // namespace

// InitPacingRate(): no RTT is known at creation, so the initial window is spread over 1 ms.
void Bbr::Impl::init_pacing_rate() {
  const std::uint64_t nominal_bandwidth = initial_cwnd * 1000;
  pacing_rate = scale(nominal_bandwidth, kStartupPacingGain);
}

// Until the pipe is known to be full the rate only rises, so app-limited samples cannot slow Startup down.
void Bbr::Impl::set_pacing_rate_with_gain(double gain) {
  const std::uint64_t rate = scale(bw, gain * (1.0 - kPacingMargin));
  if (full_bw_reached || rate > pacing_rate) pacing_rate = rate;
}

// 1 ms worth of the pacing rate, between 2 packets and 64 KiB.
void Bbr::Impl::set_send_quantum() {
  send_quantum = std::min<std::uint64_t>(pacing_rate / 1000, kMaxSendQuantum);
  send_quantum = std::max<std::uint64_t>(send_quantum, 2 * smss);
}

// BDPMultiple(); before the first RTT sample the initial window stands in for the BDP.
std::uint64_t Bbr::Impl::bdp_multiple(std::uint64_t bandwidth, double gain) const {
  if (min_rtt_us == kInfiniteUs) return initial_cwnd;
  const std::int64_t rtt_us = std::max(min_rtt_us, kMinBdpRttUs);
  const double bdp_bytes = static_cast<double>(bandwidth) * static_cast<double>(rtt_us) / 1e6;
  return static_cast<std::uint64_t>(gain * bdp_bytes);
}

// QuantizationBudget(): room for a send quantum (the pacer's bucket is the only "offload" here, as for QUIC),
// the pipelining minimum, and in UP two more packets so the probe can exceed the old level.
std::uint64_t Bbr::Impl::quantization_budget(std::uint64_t inflight_cap) const {
  inflight_cap = std::max(inflight_cap, send_quantum);
  inflight_cap = std::max(inflight_cap, min_pipe_cwnd);
  if (state == BbrState::probe_bw_up) inflight_cap += 2 * smss;
  return inflight_cap;
}

std::uint64_t Bbr::Impl::inflight(std::uint64_t bandwidth, double gain) const {
  return quantization_budget(bdp_multiple(bandwidth, gain));
}

void Bbr::Impl::update_max_inflight() {
  const std::uint64_t inflight_cap = bdp_multiple(bw, cwnd_gain) + extra_acked;
  max_inflight = quantization_budget(inflight_cap);
}

std::uint64_t Bbr::Impl::probe_rtt_cwnd() const {
  return std::max(bdp_multiple(bw, kProbeRttCwndGain), min_pipe_cwnd);
}

// SetCwnd(): cut at once to max_inflight, but grow only by what each ACK delivers.
void Bbr::Impl::set_cwnd() {
  update_max_inflight();
  const std::uint64_t newly_acked = sampler.sample().newly_acked;
  if (full_bw_reached) {
    cwnd = std::min(cwnd + newly_acked, max_inflight);
  } else if (cwnd < max_inflight || sampler.delivered() < initial_cwnd) {
    cwnd += newly_acked;
  }
  cwnd = std::max(cwnd, min_pipe_cwnd);
  bound_cwnd_for_probe_rtt();
  bound_cwnd_for_model();
}

void Bbr::Impl::bound_cwnd_for_probe_rtt() {
  if (state == BbrState::probe_rtt) cwnd = std::min(cwnd, probe_rtt_cwnd());
}

// BoundCwndForModel(): the "Volume Cap" column of the draft's table.
void Bbr::Impl::bound_cwnd_for_model() {
  std::uint64_t cap = kInfinite;
  if (is_in_a_probe_bw_state() && state != BbrState::probe_bw_cruise) {
    cap = inflight_longterm;
  } else if (state == BbrState::probe_rtt || state == BbrState::probe_bw_cruise) {
    cap = inflight_with_headroom();
  }
  cap = std::min(cap, inflight_shortterm);
  cap = std::max(cap, min_pipe_cwnd);
  cwnd = std::min(cwnd, cap);
}

// The last cwnd not cut by loss recovery or ProbeRTT.
void Bbr::Impl::save_cwnd() {
  if (!in_loss_recovery() && state != BbrState::probe_rtt) {
    prior_cwnd = cwnd;
  } else {
    prior_cwnd = std::max(prior_cwnd, cwnd);
  }
}

void Bbr::Impl::restore_cwnd() {
  cwnd = std::max(cwnd, prior_cwnd);
}

}  // namespace hoplink::cc
