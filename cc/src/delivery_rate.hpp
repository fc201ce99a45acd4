// Delivery-rate sampling (draft-ietf-ccwg-bbr, "Detailed Delivery Rate Sampling Algorithm"): the
// per-connection C.* counters, the per-packet P.* snapshot (SentPacket) and the per-ACK rate sample RS. One
// ACK is begin_ack(), on_acked()/on_lost() per packet, then generate().
#pragma once

#include <cstdint>

#include "cc/bbr.hpp"

namespace hoplink::cc {

// RS: what one ACK says about the path.
struct RateSample {
  std::uint64_t delivery_rate = 0;  // bytes per second; 0 when this ACK gives no reliable sample
  std::uint64_t delivered = 0;      // bytes delivered over the sampling interval
  std::uint64_t prior_delivered = 0;
  std::int64_t interval_us = 0;
  std::int64_t rtt_us = -1;        // from the newest packet acked; -1: none
  std::uint64_t newly_acked = 0;   // bytes acked by this ACK
  std::uint64_t newly_lost = 0;    // bytes declared lost with this ACK
  std::uint64_t tx_in_flight = 0;  // P.tx_in_flight of the newest packet acked
  std::uint64_t lost = 0;          // bytes declared lost while that packet was in flight
  std::int64_t newest_send_time_us = 0;
  bool is_app_limited = false;
  bool has_data = false;  // some packet was acked
};

class DeliveryRateSampler {
 public:
  // OnPacketSent: `in_flight` is C.inflight before the packet.
  SentPacket on_sent(Time now, std::uint32_t size, std::uint64_t in_flight);
  // MarkConnectionAppLimited: samples until what is in flight now is delivered are app-limited.
  void mark_app_limited(std::uint64_t in_flight);

  void begin_ack();                                   // InitRateSample
  void on_acked(Time now, const SentPacket& packet);  // UpdateRateSample
  void on_lost(const SentPacket& packet);
  const RateSample& generate();  // GenerateRateSample

  const RateSample& sample() const { return rs_; }
  std::uint64_t delivered() const { return delivered_; }
  std::uint64_t lost() const { return lost_; }
  bool app_limited() const { return app_limited_ != 0; }
  // The smallest RTT seen over the connection's life (C.min_rtt), -1 before the first.
  std::int64_t min_rtt_us() const { return min_rtt_us_; }

 private:
  // C.* state.
  std::uint64_t delivered_ = 0;
  std::uint64_t lost_ = 0;
  std::int64_t delivered_time_us_ = 0;
  std::int64_t first_send_time_us_ = 0;
  std::uint64_t app_limited_ = 0;  // C.delivered at which the app-limited bubble ends; 0: not app-limited
  std::uint64_t next_packet_id_ = 1;
  std::int64_t min_rtt_us_ = -1;

  // RS under construction (plus the newest packet's ids, for IsNewestPacket).
  RateSample rs_;
  std::int64_t prior_time_us_ = 0;
  std::int64_t send_elapsed_us_ = 0;
  std::int64_t ack_elapsed_us_ = 0;
  std::uint64_t newest_packet_id_ = 0;
  std::uint64_t newest_lost_ = 0;
};

}  // namespace hoplink::cc
