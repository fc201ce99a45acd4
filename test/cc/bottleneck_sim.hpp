// A deterministic, event-driven simulation of one flow through one bottleneck, for congestion-control tests.
// Sender -> bottleneck link (rate, drop-tail queue in bytes, random loss) -> one-way delay -> receiver, which
// acks every packet or every second one (with a delayed-ack timer) -> one-way delay -> sender. The link is
// FIFO, so every in-flight packet older than an acked one was dropped: the sender declares it lost on that
// ACK (SCTP's gap reports, without a reordering window). A lost packet's data is simply sent again as new
// data: the sender always has data, so goodput is what the receiver got.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "cc/bbr.hpp"

namespace hoplink::cc::test {

// The congestion controller under test, in the calling order of cc::Bbr.
class Controller {
 public:
  virtual ~Controller() = default;
  virtual SentPacket on_sent(Time now, std::uint32_t size, std::uint64_t in_flight) = 0;
  virtual void on_acked(Time now, const SentPacket& packet) = 0;
  virtual void on_lost(Time now, const SentPacket& packet) = 0;
  virtual void on_ack_done(Time now, std::uint64_t in_flight) = 0;
  virtual void on_timeout(Time now, std::uint64_t in_flight) = 0;
  virtual std::uint64_t cwnd() const = 0;
  virtual std::uint64_t pacing_rate() const = 0;  // 0: unpaced
  virtual std::uint64_t send_quantum() const = 0;
};

struct LinkConfig {
  std::uint64_t rate_bytes_per_s = 25'000'000;  // 200 Mbit/s
  std::chrono::microseconds one_way_delay{25'000};
  std::uint64_t queue_bytes = 1'250'000;  // one BDP at the defaults
  double loss = 0.0;                      // random loss before the queue
  std::uint64_t seed = 1;
  int ack_every = 2;  // 1 or 2 packets per ACK
  std::chrono::microseconds delayed_ack{5'000};
  std::uint32_t packet_bytes = 1200;
  std::chrono::microseconds duration{30'000'000};
};

struct SimResult {
  std::uint64_t delivered_bytes = 0;
  std::uint64_t sent_packets = 0;
  std::uint64_t dropped_packets = 0;
  std::uint64_t timeouts = 0;
  double goodput_bytes_per_s = 0;
  double mean_queue_delay_us = 0;  // over the packets that crossed the link
};

// Runs the flow for link.duration; `after_ack` (if set) is called after every on_ack_done.
SimResult simulate(Controller& controller, const LinkConfig& link,
                   const std::function<void(Time)>& after_ack = nullptr);

// Reno (RFC 5681 slow start, congestion avoidance, one halving per window of losses), unpaced: the sim's
// reference that a loss-based controller collapses where BBR does not.
class RenoController : public Controller {
 public:
  explicit RenoController(std::uint32_t mss) : mss_(mss), cwnd_(10ULL * mss) {}
  SentPacket on_sent(Time now, std::uint32_t size, std::uint64_t in_flight) override;
  void on_acked(Time now, const SentPacket& packet) override;
  void on_lost(Time now, const SentPacket& packet) override;
  void on_ack_done(Time, std::uint64_t) override {}
  void on_timeout(Time now, std::uint64_t in_flight) override;
  std::uint64_t cwnd() const override { return cwnd_; }
  std::uint64_t pacing_rate() const override { return 0; }
  std::uint64_t send_quantum() const override { return cwnd_; }

 private:
  std::uint32_t mss_;
  std::uint64_t cwnd_;
  std::uint64_t ssthresh_ = UINT64_MAX;
  std::uint64_t acked_in_avoidance_ = 0;
  std::int64_t last_cut_us_ = -1;  // packets sent before the last cut do not cut again
};

// cc::Bbr behind the Controller interface.
class BbrController : public Controller {
 public:
  BbrController(const BbrConfig& config, Time now) : bbr_(config, now) {}
  SentPacket on_sent(Time now, std::uint32_t size, std::uint64_t in_flight) override {
    return bbr_.on_packet_sent(now, size, in_flight);
  }
  void on_acked(Time now, const SentPacket& packet) override { bbr_.on_packet_acked(now, packet); }
  void on_lost(Time now, const SentPacket& packet) override { bbr_.on_packet_lost(now, packet); }
  void on_ack_done(Time now, std::uint64_t in_flight) override { bbr_.on_ack_done(now, in_flight); }
  void on_timeout(Time now, std::uint64_t in_flight) override {
    bbr_.on_retransmission_timeout(now, in_flight);
  }
  std::uint64_t cwnd() const override { return bbr_.cwnd(); }
  std::uint64_t pacing_rate() const override { return bbr_.pacing_rate(); }
  std::uint64_t send_quantum() const override { return bbr_.send_quantum(); }
  const Bbr& bbr() const { return bbr_; }

 private:
  Bbr bbr_;
};

}  // namespace hoplink::cc::test
