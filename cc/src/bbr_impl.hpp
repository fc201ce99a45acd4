// The BBR model behind cc::Bbr. Names follow draft-ietf-ccwg-bbr (BBR.* members, C.* outputs) so each
// function can be read beside the draft's pseudocode. Split by concern:
//   bbr.cpp          the public calls and the per-ACK order (UpdateModelAndState, UpdateControlParameters)
//   bbr_model.cpp    rounds, max_bw, min_rtt and ProbeRTT, loss signals and the short-term model, aggregation
//   bbr_states.cpp   Startup, Drain and the ProbeBW cycle with its long-term model (inflight_longterm)
//   bbr_control.cpp  pacing rate, send quantum and cwnd
#pragma once

#include <cstdint>
#include <limits>

#include "cc/bbr.hpp"
#include "delivery_rate.hpp"
#include "prng.hpp"
#include "windowed_filter.hpp"

namespace hoplink::cc {

inline constexpr std::uint64_t kInfinite = std::numeric_limits<std::uint64_t>::max();

// Constants of the draft ("Core Algorithm Design Parameters" and the state sections).
inline constexpr double kStartupPacingGain = 2.77;  // 4 ln 2
inline constexpr double kDrainPacingGain = 0.5;
inline constexpr double kDefaultCwndGain = 2.0;
inline constexpr double kProbeUpCwndGain = 2.25;
inline constexpr double kProbeRttCwndGain = 0.5;
inline constexpr double kPacingMargin = 0.01;
inline constexpr double kLossThresh = 0.02;
inline constexpr double kBeta = 0.7;
inline constexpr double kHeadroom = 0.15;
inline constexpr std::uint64_t kMaxBwFilterLen = 2;        // ProbeBW cycles
inline constexpr std::uint64_t kExtraAckedFilterLen = 10;  // rounds
inline constexpr std::uint32_t kStartupFullLossCount = 6;  // discontiguous lost ranges in a round
inline constexpr std::int64_t kMinRttFilterLenUs = 10'000'000;
inline constexpr std::int64_t kProbeRttIntervalUs = 5'000'000;
inline constexpr std::int64_t kProbeRttDurationUs = 200'000;
inline constexpr std::uint64_t kMaxSendQuantum = 64 * 1024;
// The shortest RTT the BDP is computed over. The pacer releases up to 1 ms of data at once and a user-space
// event loop reacts to an ACK no faster than it is scheduled, so below 1 ms (loopback, a LAN) the window
// must still cover 1 ms of the rate or it, not the path, becomes the limit: the role Linux gives its TSO
// budget. On an Internet path the min RTT is far above it and this changes nothing.
inline constexpr std::int64_t kMinBdpRttUs = 1000;
inline constexpr std::int64_t kInfiniteUs = std::numeric_limits<std::int64_t>::max();

enum class AckPhase : std::uint8_t { init, refilling, probe_starting, probe_feedback, probe_stopping };

struct Bbr::Impl {
  Impl(const BbrConfig& config, Time now);

  // --- bbr.cpp: entry points ---
  SentPacket on_packet_sent(Time now, std::uint32_t size, std::uint64_t in_flight, bool retransmission);
  void on_packet_lost(Time now, const SentPacket& packet);
  void on_ack_done(Time now, std::uint64_t in_flight);
  void on_retransmission_timeout(Time now, std::uint64_t in_flight);
  void update_model_and_state(std::int64_t now);
  void update_control_parameters();
  BbrStats stats() const;

  // --- bbr_model.cpp ---
  void update_round();
  void start_round();
  void update_max_bw();
  void advance_max_bw_filter() { ++cycle_count; }
  void update_latest_delivery_signals();
  void advance_latest_delivery_signals();
  void reset_congestion_signals();
  void update_congestion_signals();
  void adapt_lower_bounds_from_congestion();
  void reset_short_term_model();
  void bound_bw_for_model();
  void note_loss();
  void handle_lost_packet(const SentPacket& packet, std::int64_t now);
  bool is_inflight_too_high(std::uint64_t lost, std::uint64_t tx_in_flight) const;
  void handle_inflight_too_high(bool is_app_limited, std::uint64_t tx_in_flight, std::int64_t now);
  void update_ack_aggregation(std::int64_t now);
  void update_min_rtt(std::int64_t now);
  void check_probe_rtt(std::int64_t now);
  void enter_probe_rtt();
  void handle_probe_rtt(std::int64_t now);
  void check_probe_rtt_done(std::int64_t now);
  void exit_probe_rtt(std::int64_t now);
  void handle_restart_from_idle(std::int64_t now, std::uint64_t in_flight);

  // --- bbr_states.cpp ---
  void enter_startup();
  void reset_full_bw();
  void check_full_bw_reached();
  void check_startup_done();
  void check_startup_high_loss();
  void enter_drain();
  void check_drain_done(std::int64_t now);
  void enter_probe_bw(std::int64_t now);
  void start_probe_bw_down(std::int64_t now);
  void start_probe_bw_cruise();
  void start_probe_bw_refill();
  void start_probe_bw_up();
  void update_probe_bw_cycle_phase(std::int64_t now);
  bool is_in_a_probe_bw_state() const;
  bool is_probing_bw() const;
  bool is_time_to_probe_bw(std::int64_t now);
  bool is_time_to_cruise() const;
  bool is_time_to_go_down();
  bool is_reno_coexistence_probe_time() const;
  void pick_probe_wait();
  bool adapt_long_term_model(std::int64_t now);
  void raise_inflight_longterm_slope();
  void probe_inflight_longterm_upward();
  std::uint64_t inflight_with_headroom() const;
  std::uint64_t target_inflight() const;

  // --- bbr_control.cpp ---
  void init_pacing_rate();
  void set_pacing_rate_with_gain(double gain);
  void set_send_quantum();
  std::uint64_t bdp_multiple(std::uint64_t bandwidth, double gain) const;
  std::uint64_t bdp() const { return bdp_multiple(bw, 1.0); }
  std::uint64_t quantization_budget(std::uint64_t inflight_cap) const;
  std::uint64_t inflight(std::uint64_t bandwidth, double gain) const;
  void update_max_inflight();
  std::uint64_t probe_rtt_cwnd() const;
  void set_cwnd();
  void bound_cwnd_for_probe_rtt();
  void bound_cwnd_for_model();
  void save_cwnd();
  void restore_cwnd();
  bool in_loss_recovery() const { return in_rto_recovery; }

  // Configuration, in bytes.
  std::uint64_t smss;
  std::uint64_t initial_cwnd;
  std::uint64_t min_pipe_cwnd;

  DeliveryRateSampler sampler;
  Prng prng;

  // Outputs (C.*).
  std::uint64_t cwnd;
  std::uint64_t pacing_rate = 0;
  std::uint64_t send_quantum = 0;
  std::uint64_t inflight_now = 0;  // C.inflight as of the last ACK
  bool cwnd_limited_in_round = false;
  bool cwnd_limited_last_round = false;

  // State machine.
  BbrState state = BbrState::startup;
  double pacing_gain = kStartupPacingGain;
  double cwnd_gain = kDefaultCwndGain;
  std::uint64_t round_count = 0;
  std::uint64_t next_round_delivered = 0;
  bool round_start = false;
  bool idle_restart = false;
  std::uint64_t drain_start_round = 0;

  // Data-rate model.
  WindowedMaxFilter<std::uint64_t> max_bw_filter{kMaxBwFilterLen};
  std::uint64_t cycle_count = 0;
  std::uint64_t max_bw = 0;
  std::uint64_t bw_shortterm = kInfinite;
  std::uint64_t bw = 0;
  std::uint64_t bw_latest = 0;

  // Data-volume model.
  std::int64_t min_rtt_us = kInfiniteUs;
  std::int64_t min_rtt_stamp_us;
  std::int64_t probe_rtt_min_delay_us = kInfiniteUs;
  std::int64_t probe_rtt_min_stamp_us;
  bool probe_rtt_expired = false;
  std::int64_t probe_rtt_done_stamp_us = 0;
  bool probe_rtt_round_done = false;
  std::uint64_t prior_cwnd = 0;
  WindowedMaxFilter<std::uint64_t> extra_acked_filter{1};
  std::uint64_t extra_acked = 0;
  std::int64_t extra_acked_interval_start_us;
  std::uint64_t extra_acked_delivered = 0;
  std::uint64_t max_inflight = 0;
  std::uint64_t inflight_longterm = kInfinite;
  std::uint64_t inflight_shortterm = kInfinite;
  std::uint64_t inflight_latest = 0;

  // Loss signals.
  bool is_loss_in_round = false;
  std::uint64_t loss_round_delivered = 0;
  bool loss_round_start = false;
  std::uint32_t loss_events_in_round = 0;
  std::uint64_t last_lost_packet_id = 0;

  // Startup.
  bool full_bw_reached = false;
  bool full_bw_now = false;
  std::uint64_t full_bw = 0;
  std::uint32_t full_bw_count = 0;

  // ProbeBW.
  AckPhase ack_phase = AckPhase::init;
  bool is_bw_probe_sample = false;
  std::uint64_t bw_probe_up_acked = 0;
  std::uint64_t probe_up_acked_per_inc = kInfinite;
  std::uint32_t bw_probe_up_rounds = 0;
  std::uint64_t rounds_since_probe_up = 0;
  std::int64_t bw_probe_wait_us = 0;
  std::int64_t cycle_stamp_us = 0;
  bool prev_probe_too_high = false;
  bool prev_probe_precautionary = false;

  // RTO recovery: cwnd is cut at the timeout and restored once a packet sent after it is acked.
  bool in_rto_recovery = false;
  std::int64_t rto_time_us = 0;
};

}  // namespace hoplink::cc
