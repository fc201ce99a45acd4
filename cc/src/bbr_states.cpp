// The state machine: Startup, Drain and the ProbeBW cycle (DOWN, CRUISE, REFILL, UP) with the long-term model
// it probes (BBR.inflight_longterm). ProbeRTT lives with min_rtt in bbr_model.cpp.
#include <algorithm>

#include "bbr_impl.hpp"

namespace hoplink::cc {

// --- Startup ---

void Bbr::Impl::enter_startup() {
  state = BbrState::startup;
  pacing_gain = kStartupPacingGain;
  cwnd_gain = kDefaultCwndGain;
}

void Bbr::Impl::reset_full_bw() {
  full_bw = 0;
  full_bw_count = 0;
  full_bw_now = false;
}

// CheckFullBWReached(): three non-app-limited rounds in a row without 25% growth mean the pipe is full.
void Bbr::Impl::check_full_bw_reached() {
  const RateSample& rs = sampler.sample();
  if (full_bw_now || !round_start || rs.is_app_limited) return;
  if (static_cast<double>(rs.delivery_rate) >= static_cast<double>(full_bw) * 1.25) {
    reset_full_bw();
    full_bw = rs.delivery_rate;
    return;
  }
  ++full_bw_count;
  full_bw_now = full_bw_count >= 3;
  if (full_bw_now) full_bw_reached = true;
}

void Bbr::Impl::check_startup_done() {
  check_startup_high_loss();
  if (state == BbrState::startup && full_bw_reached) enter_drain();
}

// CheckStartupHighLoss(), evaluated once per loss round: the loss rate over the round ended by this ACK
// (what was lost while its newest packet was in flight, over what was in flight) is above LossThresh, and
// the losses came in at least BBRStartupFullLossCnt separate ranges. Simplification: the draft also asks that
// the connection has been in fast recovery for a whole round; fast recovery is SCTP's business (the caller
// does not report it), and the two conditions above already span a full round of losses.
void Bbr::Impl::check_startup_high_loss() {
  if (!loss_round_start) return;
  const RateSample& rs = sampler.sample();
  if (state == BbrState::startup && !full_bw_reached && loss_events_in_round >= kStartupFullLossCount &&
      is_inflight_too_high(rs.lost, rs.tx_in_flight)) {
    full_bw_reached = true;
    inflight_longterm = std::max(bdp(), inflight_latest);
  }
  loss_events_in_round = 0;
}

// --- Drain ---

void Bbr::Impl::enter_drain() {
  state = BbrState::drain;
  pacing_gain = kDrainPacingGain;
  cwnd_gain = kDefaultCwndGain;
  drain_start_round = round_count;
}

void Bbr::Impl::check_drain_done(std::int64_t now) {
  if (state == BbrState::drain &&
      (inflight_now <= inflight(bw, 1.0) || round_count > drain_start_round + 3)) {
    enter_probe_bw(now);
  }
}

// --- ProbeBW ---

void Bbr::Impl::enter_probe_bw(std::int64_t now) {
  cwnd_gain = kDefaultCwndGain;
  start_probe_bw_down(now);
}

void Bbr::Impl::start_probe_bw_down(std::int64_t now) {
  reset_congestion_signals();
  probe_up_acked_per_inc = kInfinite;  // not growing inflight_longterm
  pick_probe_wait();
  cycle_stamp_us = now;
  ack_phase = AckPhase::probe_stopping;
  start_round();
  state = BbrState::probe_bw_down;
  pacing_gain = 0.9;
  cwnd_gain = kDefaultCwndGain;
}

void Bbr::Impl::start_probe_bw_cruise() {
  state = BbrState::probe_bw_cruise;
  pacing_gain = 1.0;
  cwnd_gain = kDefaultCwndGain;
}

// REFILL forgets the short-term model (losses from cross traffic) and sends at bw for one round so the pipe
// is full before UP starts to add a queue.
void Bbr::Impl::start_probe_bw_refill() {
  reset_short_term_model();
  bw_probe_up_rounds = 0;
  bw_probe_up_acked = 0;
  prev_probe_precautionary = false;
  ack_phase = AckPhase::refilling;
  start_round();
  state = BbrState::probe_bw_refill;
  pacing_gain = 1.0;
  cwnd_gain = kDefaultCwndGain;
}

void Bbr::Impl::start_probe_bw_up() {
  ack_phase = AckPhase::probe_starting;
  start_round();
  reset_full_bw();
  full_bw = sampler.sample().delivery_rate;
  state = BbrState::probe_bw_up;
  pacing_gain = 1.25;
  cwnd_gain = kProbeUpCwndGain;
  raise_inflight_longterm_slope();
}

// UpdateProbeBWCyclePhase(), on ACKs of new data once the pipe has been filled.
void Bbr::Impl::update_probe_bw_cycle_phase(std::int64_t now) {
  if (!full_bw_reached || !sampler.sample().has_data) return;
  if (adapt_long_term_model(now)) return;
  switch (state) {
    case BbrState::probe_bw_down:
      if (is_time_to_probe_bw(now)) return;
      if (is_time_to_cruise()) start_probe_bw_cruise();
      break;
    case BbrState::probe_bw_cruise:
      is_time_to_probe_bw(now);
      break;
    case BbrState::probe_bw_refill:
      if (round_start) {
        is_bw_probe_sample = true;
        start_probe_bw_up();
      }
      break;
    case BbrState::probe_bw_up:
      if (is_time_to_go_down()) {
        prev_probe_too_high = false;
        start_probe_bw_down(now);
      }
      break;
    default:
      break;
  }
}

bool Bbr::Impl::is_in_a_probe_bw_state() const {
  return state == BbrState::probe_bw_down || state == BbrState::probe_bw_cruise ||
         state == BbrState::probe_bw_refill || state == BbrState::probe_bw_up;
}

bool Bbr::Impl::is_probing_bw() const {
  return state == BbrState::startup || state == BbrState::probe_bw_refill || state == BbrState::probe_bw_up;
}

// Probe after the random 2-3 s wall-clock wait, or sooner if a Reno flow with our BDP would have probed.
bool Bbr::Impl::is_time_to_probe_bw(std::int64_t now) {
  if (now > cycle_stamp_us + bw_probe_wait_us || is_reno_coexistence_probe_time()) {
    start_probe_bw_refill();
    return true;
  }
  return false;
}

bool Bbr::Impl::is_time_to_cruise() const {
  if (inflight_now > inflight_with_headroom()) return false;  // not enough headroom
  return inflight_now <= inflight(max_bw, 1.0);               // the queue is drained
}

bool Bbr::Impl::is_time_to_go_down() {
  // Precautionary probing: the last probe went too high, so stop as soon as we are back at that level.
  if (prev_probe_too_high && inflight_now >= inflight_longterm) {
    prev_probe_precautionary = true;
    return true;
  }
  const bool cwnd_limited = cwnd_limited_in_round || cwnd_limited_last_round;
  if (cwnd_limited && cwnd >= inflight_longterm) {
    // inflight_longterm, not the path, is what limits bw: keep probing while it grows.
    reset_full_bw();
    full_bw = sampler.sample().delivery_rate;
  } else if (full_bw_now) {
    return true;
  }
  return false;
}

// T_reno: a Reno flow with our BDP probes once per BDP-in-packets rounds; bounded by 62-63 rounds (the
// random 0/1 start of rounds_since_probe_up).
bool Bbr::Impl::is_reno_coexistence_probe_time() const {
  const std::uint64_t reno_rounds = target_inflight() / smss;
  return rounds_since_probe_up >= std::min<std::uint64_t>(reno_rounds, 63);
}

void Bbr::Impl::pick_probe_wait() {
  rounds_since_probe_up = prng.between(0, 1);
  bw_probe_wait_us = 2'000'000 + static_cast<std::int64_t>(prng.uniform() * 1'000'000.0);
}

// AdaptLongTermModel(): returns true when it decided a state transition.
bool Bbr::Impl::adapt_long_term_model(std::int64_t) {
  const RateSample& rs = sampler.sample();
  if (ack_phase == AckPhase::probe_starting && round_start) ack_phase = AckPhase::probe_feedback;
  if (ack_phase == AckPhase::probe_stopping && round_start) {
    // The samples of the last probe are all in: the max_bw window moves on by one cycle.
    is_bw_probe_sample = false;
    ack_phase = AckPhase::init;
    if (is_in_a_probe_bw_state() && !rs.is_app_limited) advance_max_bw_filter();
    if (is_in_a_probe_bw_state() && prev_probe_precautionary && !prev_probe_too_high) {
      start_probe_bw_refill();  // the cautious probe was safe: probe again at once, fully
      return true;
    }
  }
  if (!is_inflight_too_high(rs.lost, rs.tx_in_flight)) {
    if (inflight_longterm == kInfinite) return false;
    if (rs.tx_in_flight > inflight_longterm) inflight_longterm = rs.tx_in_flight;
    if (state == BbrState::probe_bw_up) probe_inflight_longterm_upward();
  }
  return false;
}

void Bbr::Impl::raise_inflight_longterm_slope() {
  const std::uint64_t growth_this_round = std::uint64_t{1} << bw_probe_up_rounds;
  bw_probe_up_rounds = std::min<std::uint32_t>(bw_probe_up_rounds + 1, 30);
  probe_up_acked_per_inc = std::max(cwnd / growth_this_round, smss);
}

// Grows inflight_longterm by 1, 2, 4, ... packets per round while it is what limits us.
void Bbr::Impl::probe_inflight_longterm_upward() {
  const bool cwnd_limited = cwnd_limited_in_round || cwnd_limited_last_round;
  if (!cwnd_limited || cwnd < inflight_longterm) return;
  bw_probe_up_acked += sampler.sample().newly_acked;
  if (bw_probe_up_acked >= probe_up_acked_per_inc) {
    const std::uint64_t delta = bw_probe_up_acked / probe_up_acked_per_inc;
    bw_probe_up_acked -= delta * probe_up_acked_per_inc;
    inflight_longterm += delta * smss;
  }
  if (round_start) raise_inflight_longterm_slope();
}

// What to keep in flight to leave BBRHeadroom of inflight_longterm free for other flows.
std::uint64_t Bbr::Impl::inflight_with_headroom() const {
  if (inflight_longterm == kInfinite) return kInfinite;
  const auto headroom =
      std::max(smss, static_cast<std::uint64_t>(kHeadroom * static_cast<double>(inflight_longterm)));
  const std::uint64_t rest = inflight_longterm > headroom ? inflight_longterm - headroom : 0;
  return std::max(rest, min_pipe_cwnd);
}

std::uint64_t Bbr::Impl::target_inflight() const {
  return std::min(bdp(), cwnd);
}

}  // namespace hoplink::cc
