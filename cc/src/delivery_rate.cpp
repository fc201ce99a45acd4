#include "delivery_rate.hpp"

#include <algorithm>

namespace hoplink::cc {

SentPacket DeliveryRateSampler::on_sent(Time now, std::uint32_t size, std::uint64_t in_flight) {
  const std::int64_t now_us = now.count();
  // With nothing in flight, the network can deliver everything from now on: start the interval now rather
  // than at the last (old) ACK, or an idle period would count as delivery time.
  if (in_flight == 0) first_send_time_us_ = delivered_time_us_ = now_us;
  SentPacket packet;
  packet.send_time_us = now_us;
  packet.first_send_time_us = first_send_time_us_;
  packet.delivered_time_us = delivered_time_us_;
  packet.delivered = delivered_;
  packet.lost = lost_;
  packet.is_app_limited = app_limited_ != 0;
  packet.tx_in_flight = static_cast<std::uint32_t>(std::min<std::uint64_t>(in_flight + size, UINT32_MAX));
  packet.size = size;
  packet.packet_id = next_packet_id_++;
  return packet;
}

void DeliveryRateSampler::mark_app_limited(std::uint64_t in_flight) {
  app_limited_ = std::max<std::uint64_t>(delivered_ + in_flight, 1);
}

void DeliveryRateSampler::begin_ack() {
  rs_ = RateSample{};
  prior_time_us_ = send_elapsed_us_ = ack_elapsed_us_ = 0;
  newest_packet_id_ = newest_lost_ = 0;
}

void DeliveryRateSampler::on_acked(Time now, const SentPacket& packet) {
  delivered_ += packet.size;
  delivered_time_us_ = now.count();
  rs_.newly_acked += packet.size;
  // The newest packet acked carries the most recent snapshot, hence the shortest, freshest interval.
  const bool newest =
      packet.send_time_us > rs_.newest_send_time_us ||
      (packet.send_time_us == rs_.newest_send_time_us && packet.packet_id > newest_packet_id_);
  if (!rs_.has_data || newest) {
    rs_.has_data = true;
    rs_.prior_delivered = packet.delivered;
    prior_time_us_ = packet.delivered_time_us;
    rs_.is_app_limited = packet.is_app_limited;
    rs_.tx_in_flight = packet.tx_in_flight;
    rs_.newest_send_time_us = packet.send_time_us;
    // Karn: the ACK of a retransmission may be the earlier copy's, and would give a far too short RTT.
    rs_.rtt_us = packet.is_retransmission ? -1 : delivered_time_us_ - packet.send_time_us;
    send_elapsed_us_ = packet.send_time_us - packet.first_send_time_us;
    ack_elapsed_us_ = delivered_time_us_ - packet.delivered_time_us;
    newest_packet_id_ = packet.packet_id;
    newest_lost_ = packet.lost;
    first_send_time_us_ = packet.send_time_us;
  }
}

void DeliveryRateSampler::on_lost(const SentPacket& packet) {
  lost_ += packet.size;
  rs_.newly_lost += packet.size;
}

const RateSample& DeliveryRateSampler::generate() {
  // The app-limited bubble is gone once everything sent in it has been delivered.
  if (app_limited_ != 0 && delivered_ > app_limited_) app_limited_ = 0;
  if (!rs_.has_data) return rs_;

  rs_.lost = lost_ - newest_lost_;
  if (rs_.rtt_us >= 0 && (min_rtt_us_ < 0 || rs_.rtt_us < min_rtt_us_)) min_rtt_us_ = rs_.rtt_us;

  // The longer of the send and ACK intervals: a burst of ACKs (compression) or of sends cannot make the
  // path look faster than the slower of the two processes.
  rs_.interval_us = std::max(send_elapsed_us_, ack_elapsed_us_);
  rs_.delivered = delivered_ - rs_.prior_delivered;
  // An interval shorter than the path's minimum RTT cannot be a whole delivery process: no sample.
  if (rs_.interval_us <= 0 || rs_.interval_us < min_rtt_us_) return rs_;
  rs_.delivery_rate = rs_.delivered * 1'000'000 / static_cast<std::uint64_t>(rs_.interval_us);
  return rs_;
}

}  // namespace hoplink::cc
