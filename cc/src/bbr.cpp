#include "cc/bbr.hpp"

#include <algorithm>

#include "bbr_impl.hpp"

namespace hoplink::cc {

std::string_view to_string(BbrState state) {
  switch (state) {
    case BbrState::startup:
      return "startup";
    case BbrState::drain:
      return "drain";
    case BbrState::probe_bw_down:
      return "probe_bw_down";
    case BbrState::probe_bw_cruise:
      return "probe_bw_cruise";
    case BbrState::probe_bw_refill:
      return "probe_bw_refill";
    case BbrState::probe_bw_up:
      return "probe_bw_up";
    case BbrState::probe_rtt:
      return "probe_rtt";
  }
  return "unknown";
}

namespace {

// The probing times only need to differ between flows that start together; the start time in microseconds
// does that, and a test that fixes the start time gets the same run every time.
std::uint64_t seed_from(Time now) {
  return 0x6262722d76330000ULL ^ static_cast<std::uint64_t>(now.count());
}

}  // namespace

// OnInit().
Bbr::Impl::Impl(const BbrConfig& config, Time now)
    : smss(std::max<std::uint32_t>(config.mss, 1)),
      initial_cwnd(static_cast<std::uint64_t>(config.initial_cwnd_packets) * smss),
      min_pipe_cwnd(static_cast<std::uint64_t>(config.min_cwnd_packets) * smss),
      prng(seed_from(now)),
      cwnd(initial_cwnd),
      min_rtt_stamp_us(now.count()),
      probe_rtt_min_stamp_us(now.count()),
      extra_acked_interval_start_us(now.count()) {
  max_bw_filter.reset(0, 0);
  extra_acked_filter.reset(0, 0);
  reset_congestion_signals();
  reset_short_term_model();
  reset_full_bw();
  init_pacing_rate();
  set_send_quantum();
  enter_startup();
}

SentPacket Bbr::Impl::on_packet_sent(Time now, std::uint32_t size, std::uint64_t in_flight,
                                     bool retransmission) {
  handle_restart_from_idle(now.count(), in_flight);
  // C.is_cwnd_limited: this packet fills cwnd (no other full packet would fit after it).
  if (in_flight + size + smss > cwnd) cwnd_limited_in_round = true;
  SentPacket packet = sampler.on_sent(now, size, in_flight);
  packet.is_retransmission = retransmission;
  return packet;
}

void Bbr::Impl::on_packet_lost(Time now, const SentPacket& packet) {
  sampler.on_lost(packet);
  // The draft counts discontiguous lost sequence ranges; packet ids are the send order, so a loss that does
  // not follow the previous lost packet starts a new range.
  if (packet.packet_id != last_lost_packet_id + 1) ++loss_events_in_round;
  last_lost_packet_id = packet.packet_id;
  handle_lost_packet(packet, now.count());
}

// UpdateOnACK().
void Bbr::Impl::on_ack_done(Time now, std::uint64_t in_flight) {
  inflight_now = in_flight;
  const RateSample& rs = sampler.generate();
  if (rs.newly_acked == 0 && rs.newly_lost == 0) {
    sampler.begin_ack();
    return;
  }
  // RTO recovery ends once data sent after the timeout is delivered.
  if (in_rto_recovery && rs.has_data && rs.newest_send_time_us >= rto_time_us) {
    in_rto_recovery = false;
    restore_cwnd();
  }
  update_model_and_state(now.count());
  update_control_parameters();
  sampler.begin_ack();
}

void Bbr::Impl::update_model_and_state(std::int64_t now) {
  update_latest_delivery_signals();
  update_congestion_signals();
  update_ack_aggregation(now);
  check_full_bw_reached();
  check_startup_done();
  check_drain_done(now);
  update_probe_bw_cycle_phase(now);
  update_min_rtt(now);
  check_probe_rtt(now);
  advance_latest_delivery_signals();
  bound_bw_for_model();
}

void Bbr::Impl::update_control_parameters() {
  set_pacing_rate_with_gain(pacing_gain);
  set_send_quantum();
  set_cwnd();
}

// OnEnterRTO(): every packet in flight is presumed lost; allow one packet out (the retransmission) and grow
// from there as ACKs return. SaveStateUponLoss() is reduced to SaveCwnd(): there is no spurious-loss undo.
void Bbr::Impl::on_retransmission_timeout(Time now, std::uint64_t in_flight) {
  save_cwnd();
  note_loss();
  in_rto_recovery = true;
  rto_time_us = now.count();
  cwnd = in_flight + smss;
}

BbrStats Bbr::Impl::stats() const {
  BbrStats out;
  out.state = state;
  out.max_bw_bytes_per_s = max_bw;
  out.bw_bytes_per_s = bw;
  out.min_rtt = std::chrono::microseconds(min_rtt_us == kInfiniteUs ? 0 : min_rtt_us);
  out.cwnd_bytes = cwnd;
  out.pacing_rate_bytes_per_s = pacing_rate;
  out.inflight_hi = inflight_longterm;
  out.delivered_bytes = sampler.delivered();
  out.lost_bytes = sampler.lost();
  out.round_count = round_count;
  return out;
}

Bbr::Bbr(const BbrConfig& config, Time now) : impl_(std::make_unique<Impl>(config, now)) {}
Bbr::~Bbr() = default;
Bbr::Bbr(Bbr&&) noexcept = default;
Bbr& Bbr::operator=(Bbr&&) noexcept = default;

SentPacket Bbr::on_packet_sent(Time now, std::uint32_t size, std::uint64_t in_flight, bool retransmission) {
  return impl_->on_packet_sent(now, size, in_flight, retransmission);
}
void Bbr::on_app_limited(std::uint64_t in_flight) {
  impl_->sampler.mark_app_limited(in_flight);
}
void Bbr::on_packet_acked(Time now, const SentPacket& packet) {
  impl_->sampler.on_acked(now, packet);
}
void Bbr::on_packet_lost(Time now, const SentPacket& packet) {
  impl_->on_packet_lost(now, packet);
}
void Bbr::on_ack_done(Time now, std::uint64_t in_flight) {
  impl_->on_ack_done(now, in_flight);
}
void Bbr::on_retransmission_timeout(Time now, std::uint64_t in_flight) {
  impl_->on_retransmission_timeout(now, in_flight);
}
std::uint64_t Bbr::cwnd() const {
  return impl_->cwnd;
}
std::uint64_t Bbr::pacing_rate() const {
  return impl_->pacing_rate;
}
std::uint64_t Bbr::send_quantum() const {
  return impl_->send_quantum;
}
BbrStats Bbr::stats() const {
  return impl_->stats();
}

}  // namespace hoplink::cc
