#include "bottleneck_sim.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>

#include "cc/pacer.hpp"
#include "prng.hpp"

namespace hoplink::cc::test {

namespace {

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kTimeoutUs = 1'000'000;  // no ACK for this long with data in flight: RTO

struct Outstanding {
  std::uint64_t id;
  SentPacket packet;
};

struct InTransit {  // a packet on its way to the receiver
  std::int64_t arrive_us;
  std::uint64_t id;
};

struct Ack {
  std::int64_t arrive_us;
  std::uint64_t ids[2];
  int count;
};

class Simulation {
 public:
  Simulation(Controller& controller, const LinkConfig& link, const std::function<void(Time)>& after_ack)
      : controller_(controller), link_(link), after_ack_(after_ack), random_(link.seed) {}

  SimResult run() {
    const std::int64_t end = link_.duration.count();
    send_wake_us_ = 0;
    last_ack_us_ = 0;
    while (true) {
      const std::int64_t t =
          std::min({next_ack(), next_arrival(), delack_timer_us_, send_wake_us_, timeout_at()});
      if (t >= end) break;
      if (t == next_ack()) {
        on_ack(t);
      } else if (t == next_arrival()) {
        on_arrival(t);
      } else if (t == delack_timer_us_) {
        flush_delayed_ack(t);
      } else if (t == timeout_at()) {
        on_timeout(t);
      } else {
        try_send(t);
      }
    }
    result_.goodput_bytes_per_s =
        static_cast<double>(result_.delivered_bytes) * 1e6 / static_cast<double>(end);
    result_.mean_queue_delay_us = crossed_ == 0 ? 0 : queue_delay_sum_us_ / static_cast<double>(crossed_);
    return result_;
  }

 private:
  std::int64_t next_ack() const { return acks_.empty() ? kNever : acks_.front().arrive_us; }
  std::int64_t next_arrival() const { return transit_.empty() ? kNever : transit_.front().arrive_us; }
  std::int64_t timeout_at() const { return in_flight_ == 0 ? kNever : last_ack_us_ + kTimeoutUs; }

  void try_send(std::int64_t now_us) {
    const Time now{now_us};
    const std::uint32_t size = link_.packet_bytes;
    send_wake_us_ = kNever;  // until an ACK opens cwnd, unless the pacer says otherwise below
    pacer_.set_rate(controller_.pacing_rate(), controller_.send_quantum(), size);
    while (in_flight_ + size <= controller_.cwnd()) {
      if (pacer_.allowance(now) < size) {
        send_wake_us_ = pacer_.next_release(now, size).count();
        return;
      }
      const SentPacket packet = controller_.on_sent(now, size, in_flight_);
      pacer_.on_sent(now, size);
      if (in_flight_ == 0) last_ack_us_ = now_us;  // the RTO clock starts with the first packet in flight
      in_flight_ += size;
      outstanding_.push_back(Outstanding{next_id_, packet});
      enter_link(now_us, next_id_++, size);
      ++result_.sent_packets;
    }
  }

  void enter_link(std::int64_t now_us, std::uint64_t id, std::uint32_t size) {
    const double now = static_cast<double>(now_us);
    if (link_.loss > 0 && random_.uniform() < link_.loss) {
      ++result_.dropped_packets;
      return;
    }
    const double us_per_byte = 1e6 / static_cast<double>(link_.rate_bytes_per_s);
    const double backlog_bytes = std::max(0.0, link_free_us_ - now) / us_per_byte;
    if (backlog_bytes + size > static_cast<double>(link_.queue_bytes)) {
      ++result_.dropped_packets;
      return;
    }
    const double start = std::max(now, link_free_us_);
    link_free_us_ = start + size * us_per_byte;
    queue_delay_sum_us_ += start - now;
    ++crossed_;
    const auto arrive = static_cast<std::int64_t>(std::ceil(link_free_us_)) + link_.one_way_delay.count();
    transit_.push_back(InTransit{arrive, id});
  }

  void on_arrival(std::int64_t now_us) {
    const std::uint64_t id = transit_.front().id;
    transit_.pop_front();
    if (link_.ack_every <= 1) {
      acks_.push_back(Ack{now_us + link_.one_way_delay.count(), {id, 0}, 1});
      return;
    }
    if (delack_timer_us_ != kNever) {
      acks_.push_back(Ack{now_us + link_.one_way_delay.count(), {pending_id_, id}, 2});
      delack_timer_us_ = kNever;
      return;
    }
    pending_id_ = id;
    delack_timer_us_ = now_us + link_.delayed_ack.count();
  }

  void flush_delayed_ack(std::int64_t now_us) {
    acks_.push_back(Ack{now_us + link_.one_way_delay.count(), {pending_id_, 0}, 1});
    delack_timer_us_ = kNever;
  }

  void on_ack(std::int64_t now_us) {
    const Ack ack = acks_.front();
    acks_.pop_front();
    const Time now{now_us};
    last_ack_us_ = now_us;
    for (int i = 0; i < ack.count; ++i) {
      const std::uint64_t id = ack.ids[i];
      // FIFO link: whatever was sent before an acked packet and is still unacked was dropped.
      while (!outstanding_.empty() && outstanding_.front().id < id) {
        in_flight_ -= outstanding_.front().packet.size;
        controller_.on_lost(now, outstanding_.front().packet);
        outstanding_.pop_front();
      }
      if (outstanding_.empty() || outstanding_.front().id != id) continue;  // already declared lost (RTO)
      in_flight_ -= outstanding_.front().packet.size;
      result_.delivered_bytes += outstanding_.front().packet.size;
      controller_.on_acked(now, outstanding_.front().packet);
      outstanding_.pop_front();
    }
    controller_.on_ack_done(now, in_flight_);
    if (after_ack_) after_ack_(now);
    try_send(now_us);
  }

  void on_timeout(std::int64_t now_us) {
    const Time now{now_us};
    ++result_.timeouts;
    for (const Outstanding& o : outstanding_) controller_.on_lost(now, o.packet);
    outstanding_.clear();
    in_flight_ = 0;
    controller_.on_timeout(now, in_flight_);
    last_ack_us_ = now_us;
    try_send(now_us);
  }

  Controller& controller_;
  const LinkConfig& link_;
  const std::function<void(Time)>& after_ack_;
  Prng random_;
  Pacer pacer_;
  SimResult result_;

  std::deque<Outstanding> outstanding_;
  std::deque<InTransit> transit_;
  std::deque<Ack> acks_;
  std::uint64_t in_flight_ = 0;
  std::uint64_t next_id_ = 1;
  std::int64_t send_wake_us_ = 0;
  std::int64_t last_ack_us_ = 0;
  std::int64_t delack_timer_us_ = kNever;
  std::uint64_t pending_id_ = 0;
  double link_free_us_ = 0;
  double queue_delay_sum_us_ = 0;
  std::uint64_t crossed_ = 0;
};

}  // namespace

SimResult simulate(Controller& controller, const LinkConfig& link,
                   const std::function<void(Time)>& after_ack) {
  return Simulation(controller, link, after_ack).run();
}

SentPacket RenoController::on_sent(Time now, std::uint32_t size, std::uint64_t in_flight) {
  SentPacket packet;
  packet.send_time_us = now.count();
  packet.size = size;
  packet.tx_in_flight = static_cast<std::uint32_t>(in_flight + size);
  return packet;
}

void RenoController::on_acked(Time, const SentPacket& packet) {
  if (cwnd_ < ssthresh_) {
    cwnd_ += packet.size;
    return;
  }
  // One packet per window of ACKs.
  acked_in_avoidance_ += packet.size;
  if (acked_in_avoidance_ >= cwnd_) {
    acked_in_avoidance_ -= cwnd_;
    cwnd_ += mss_;
  }
}

void RenoController::on_lost(Time now, const SentPacket& packet) {
  if (packet.send_time_us <= last_cut_us_) return;  // same loss episode
  cwnd_ = std::max<std::uint64_t>(cwnd_ / 2, 2ULL * mss_);
  ssthresh_ = cwnd_;
  last_cut_us_ = now.count();
}

void RenoController::on_timeout(Time now, std::uint64_t) {
  ssthresh_ = std::max<std::uint64_t>(cwnd_ / 2, 2ULL * mss_);
  cwnd_ = mss_;
  last_cut_us_ = now.count();
}

}  // namespace hoplink::cc::test
