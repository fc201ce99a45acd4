// The path model: packet-timed rounds, BBR.max_bw, BBR.min_rtt with ProbeRTT, loss signals and the short-term
// model, and the ACK-aggregation estimate (BBR.extra_acked).
#include <algorithm>

#include "bbr_impl.hpp"

namespace hoplink::cc {

// --- Rounds ("BBR.round_count: Tracking Packet-Timed Round Trips") ---

void Bbr::Impl::update_round() {
  const RateSample& rs = sampler.sample();
  if (rs.has_data && rs.prior_delivered >= next_round_delivered) {
    start_round();
    ++round_count;
    ++rounds_since_probe_up;
    round_start = true;
    cwnd_limited_last_round = cwnd_limited_in_round;
    cwnd_limited_in_round = false;
  } else {
    round_start = false;
  }
}

void Bbr::Impl::start_round() {
  next_round_delivered = sampler.delivered();
}

// --- BBR.max_bw ---

void Bbr::Impl::update_max_bw() {
  update_round();
  const RateSample& rs = sampler.sample();
  // An app-limited sample only says the path is at least that fast, so it counts only if it raises max_bw.
  if (rs.delivery_rate > 0 && (rs.delivery_rate >= max_bw || !rs.is_app_limited)) {
    max_bw = max_bw_filter.update(rs.delivery_rate, cycle_count);
  }
}

// --- Loss signals and the short-term model ("When not Probing for Bandwidth") ---

void Bbr::Impl::update_latest_delivery_signals() {
  const RateSample& rs = sampler.sample();
  loss_round_start = false;
  bw_latest = std::max(bw_latest, rs.delivery_rate);
  inflight_latest = std::max(inflight_latest, rs.delivered);
  if (rs.has_data && rs.prior_delivered >= loss_round_delivered) {
    loss_round_delivered = sampler.delivered();
    loss_round_start = true;
  }
}

void Bbr::Impl::advance_latest_delivery_signals() {
  if (!loss_round_start) return;
  const RateSample& rs = sampler.sample();
  bw_latest = rs.delivery_rate;
  inflight_latest = rs.delivered;
}

void Bbr::Impl::reset_congestion_signals() {
  is_loss_in_round = false;
  bw_latest = 0;
  inflight_latest = 0;
}

void Bbr::Impl::update_congestion_signals() {
  update_max_bw();
  if (!loss_round_start) return;  // respond once per round trip
  adapt_lower_bounds_from_congestion();
  is_loss_in_round = false;
}

// Outside the probing states a round with loss pulls bw and inflight toward what the path delivered in that
// round, by at most 1 - Beta per round.
void Bbr::Impl::adapt_lower_bounds_from_congestion() {
  if (is_probing_bw() || !is_loss_in_round) return;
  if (bw_shortterm == kInfinite) bw_shortterm = max_bw;  // InitLowerBounds()
  if (inflight_shortterm == kInfinite) inflight_shortterm = cwnd;
  bw_shortterm = std::max(bw_latest, static_cast<std::uint64_t>(kBeta * static_cast<double>(bw_shortterm)));
  inflight_shortterm =
      std::max(inflight_latest, static_cast<std::uint64_t>(kBeta * static_cast<double>(inflight_shortterm)));
}

void Bbr::Impl::reset_short_term_model() {
  bw_shortterm = kInfinite;
  inflight_shortterm = kInfinite;
}

void Bbr::Impl::bound_bw_for_model() {
  bw = std::min(max_bw, bw_shortterm);
}

// NoteLoss(). SaveStateUponLoss() keeps only its SaveCwnd(): without a spurious-loss signal from the caller
// there is nothing to undo into.
void Bbr::Impl::note_loss() {
  if (!is_loss_in_round) {
    loss_round_delivered = sampler.delivered();
    save_cwnd();
  }
  is_loss_in_round = true;
}

// HandleLostPacket(): only packets sent while probing (REFILL/UP) can show that the probe went too far.
void Bbr::Impl::handle_lost_packet(const SentPacket& packet, std::int64_t now) {
  note_loss();
  if (!is_bw_probe_sample) return;
  const std::uint64_t lost = sampler.lost() - packet.lost;  // lost while this packet was in flight
  if (!is_inflight_too_high(lost, packet.tx_in_flight)) return;
  // InflightAtLoss(): the in-flight level at which the loss rate crossed the threshold, solved within the
  // packet: (lost_prev + prefix) / (inflight_prev + prefix) = LossThresh.
  const double inflight_prev = static_cast<double>(packet.tx_in_flight) - packet.size;
  const double lost_prev = static_cast<double>(lost) - packet.size;
  const double lost_prefix = (kLossThresh * inflight_prev - lost_prev) / (1.0 - kLossThresh);
  const double at_loss = std::max(inflight_prev + lost_prefix, 0.0);
  handle_inflight_too_high(packet.is_app_limited, static_cast<std::uint64_t>(at_loss), now);
}

// IsInflightTooHigh(). SCTP always has selective acks, so a single loss is not enough.
bool Bbr::Impl::is_inflight_too_high(std::uint64_t lost, std::uint64_t tx_in_flight) const {
  return static_cast<double>(lost) > static_cast<double>(tx_in_flight) * kLossThresh;
}

void Bbr::Impl::handle_inflight_too_high(bool is_app_limited, std::uint64_t tx_in_flight, std::int64_t now) {
  prev_probe_too_high = true;
  is_bw_probe_sample = false;  // react once per probe
  if (!is_app_limited) {
    inflight_longterm =
        std::max(tx_in_flight, static_cast<std::uint64_t>(static_cast<double>(target_inflight()) * kBeta));
  }
  if (state == BbrState::probe_bw_up) start_probe_bw_down(now);
}

// --- BBR.extra_acked ---

void Bbr::Impl::update_ack_aggregation(std::int64_t now) {
  const RateSample& rs = sampler.sample();
  const std::int64_t interval_us = now - extra_acked_interval_start_us;
  std::uint64_t expected = static_cast<std::uint64_t>(static_cast<double>(bw) * interval_us / 1e6);
  // ACKs arriving slower than bw end an aggregation episode: start measuring a new one.
  if (extra_acked_delivered <= expected) {
    extra_acked_delivered = 0;
    extra_acked_interval_start_us = now;
    expected = 0;
  }
  extra_acked_delivered += rs.newly_acked;
  const std::uint64_t extra = std::min(extra_acked_delivered - expected, cwnd);
  // In Startup only the last round counts: bw is still far below the path's and overstates aggregation.
  extra_acked_filter.set_window(full_bw_reached ? kExtraAckedFilterLen : 1);
  extra_acked = extra_acked_filter.update(extra, round_count);
}

// --- BBR.min_rtt and ProbeRTT ---

void Bbr::Impl::update_min_rtt(std::int64_t now) {
  const RateSample& rs = sampler.sample();
  probe_rtt_expired = now > probe_rtt_min_stamp_us + kProbeRttIntervalUs;
  if (rs.rtt_us >= 0 && (rs.rtt_us < probe_rtt_min_delay_us || probe_rtt_expired)) {
    probe_rtt_min_delay_us = rs.rtt_us;
    probe_rtt_min_stamp_us = now;
  }
  const bool min_rtt_expired = now > min_rtt_stamp_us + kMinRttFilterLenUs;
  if (probe_rtt_min_delay_us < min_rtt_us || min_rtt_expired) {
    min_rtt_us = probe_rtt_min_delay_us;
    min_rtt_stamp_us = probe_rtt_min_stamp_us;
  }
}

void Bbr::Impl::check_probe_rtt(std::int64_t now) {
  if (state != BbrState::probe_rtt && probe_rtt_expired && !idle_restart) {
    enter_probe_rtt();
    save_cwnd();
    probe_rtt_done_stamp_us = 0;
    ack_phase = AckPhase::probe_stopping;
    start_round();
  }
  if (state == BbrState::probe_rtt) handle_probe_rtt(now);
  if (sampler.sample().delivered > 0) idle_restart = false;
}

void Bbr::Impl::enter_probe_rtt() {
  state = BbrState::probe_rtt;
  pacing_gain = 1.0;
  cwnd_gain = kProbeRttCwndGain;
}

void Bbr::Impl::handle_probe_rtt(std::int64_t now) {
  // The low delivery rates of ProbeRTT say nothing about the path: mark them app-limited.
  sampler.mark_app_limited(inflight_now);
  if (probe_rtt_done_stamp_us == 0 && inflight_now <= probe_rtt_cwnd()) {
    // Hold for ProbeRTTDuration and at least one round, so the drained queue shows in the RTT samples.
    probe_rtt_done_stamp_us = now + kProbeRttDurationUs;
    probe_rtt_round_done = false;
    start_round();
  } else if (probe_rtt_done_stamp_us != 0) {
    if (round_start) probe_rtt_round_done = true;
    if (probe_rtt_round_done) check_probe_rtt_done(now);
  }
}

void Bbr::Impl::check_probe_rtt_done(std::int64_t now) {
  if (probe_rtt_done_stamp_us != 0 && now > probe_rtt_done_stamp_us) {
    probe_rtt_min_stamp_us = now;  // schedules the next ProbeRTT
    restore_cwnd();
    exit_probe_rtt(now);
  }
}

void Bbr::Impl::exit_probe_rtt(std::int64_t now) {
  reset_short_term_model();
  if (full_bw_reached) {
    // In flight is below the BDP already: skip DOWN, but restart the probing clock there.
    start_probe_bw_down(now);
    start_probe_bw_cruise();
  } else {
    enter_startup();
  }
}

void Bbr::Impl::handle_restart_from_idle(std::int64_t now, std::uint64_t in_flight) {
  if (in_flight != 0 || !sampler.app_limited()) return;
  idle_restart = true;
  extra_acked_interval_start_us = now;
  if (is_in_a_probe_bw_state()) {
    set_pacing_rate_with_gain(1.0);
  } else if (state == BbrState::probe_rtt) {
    check_probe_rtt_done(now);
  }
}

}  // namespace hoplink::cc
