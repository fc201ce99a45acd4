#include "delivery_rate.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <vector>

namespace hoplink::cc {
namespace {

constexpr std::uint32_t kPacket = 1200;

struct Pending {
  Time ack_at;
  SentPacket packet;
};

// Sends one packet every `gap` for `duration`; each is acked one `rtt` after it left (an idle path whose
// bottleneck is the sender's own pacing). Returns the rate of every sample taken after `warmup`.
std::vector<RateSample> paced_flow(Time gap, Time rtt, Time duration, Time warmup) {
  DeliveryRateSampler sampler;
  std::deque<Pending> pending;
  std::uint64_t in_flight = 0;
  std::vector<RateSample> samples;
  auto ack_until = [&](Time now) {
    while (!pending.empty() && pending.front().ack_at <= now) {
      const Pending p = pending.front();
      pending.pop_front();
      sampler.begin_ack();
      sampler.on_acked(p.ack_at, p.packet);
      in_flight -= p.packet.size;
      const RateSample& rs = sampler.generate();
      if (p.ack_at >= warmup) samples.push_back(rs);
    }
  };
  for (Time t{0}; t < duration; t += gap) {
    ack_until(t);
    pending.push_back(Pending{t + rtt, sampler.on_sent(t, kPacket, in_flight)});
    in_flight += kPacket;
  }
  ack_until(duration + rtt);
  return samples;
}

TEST_CASE("the delivery rate of a paced flow is its pacing rate") {
  // 1200 bytes every 48 us is 25 MB/s; 10 ms RTT.
  const auto samples = paced_flow(Time(48), Time(10'000), Time(300'000), Time(30'000));
  REQUIRE(samples.size() > 1000);
  for (const RateSample& rs : samples) {
    REQUIRE(rs.has_data);
    CHECK_FALSE(rs.is_app_limited);
    CHECK(rs.rtt_us == 10'000);
    CHECK(rs.delivery_rate == Approx(25'000'000).epsilon(0.01));
  }
}

TEST_CASE("a slower paced flow measures its own slower rate") {
  // 1200 bytes every 400 us is 3 MB/s.
  const auto samples = paced_flow(Time(400), Time(20'000), Time(400'000), Time(60'000));
  REQUIRE(samples.size() > 100);
  for (const RateSample& rs : samples) CHECK(rs.delivery_rate == Approx(3'000'000).epsilon(0.01));
}

TEST_CASE("samples of packets sent while application-limited are flagged until the bubble is delivered") {
  DeliveryRateSampler sampler;
  std::vector<SentPacket> sent;
  std::uint64_t in_flight = 0;
  for (int i = 0; i < 10; ++i) {
    sent.push_back(sampler.on_sent(Time(i * 100), kPacket, in_flight));
    in_flight += kPacket;
  }
  // Nothing more to send while cwnd had room: what follows is app-limited.
  sampler.mark_app_limited(in_flight);
  CHECK(sampler.app_limited());
  for (int i = 10; i < 12; ++i) {
    sent.push_back(sampler.on_sent(Time(5'000 + i * 100), kPacket, in_flight));
    in_flight += kPacket;
  }
  for (int i = 0; i < 12; ++i) {
    sampler.begin_ack();
    sampler.on_acked(Time(20'000 + i * 100), sent[i]);
    const RateSample& rs = sampler.generate();
    INFO("packet " << i);
    CHECK(rs.is_app_limited == (i >= 10));
  }
  // Everything in flight at the mark has been delivered: the connection is no longer app-limited.
  CHECK_FALSE(sampler.app_limited());
  CHECK_FALSE(sampler.on_sent(Time(30'000), kPacket, 0).is_app_limited);
}

TEST_CASE("the newest packet of an ACK gives the sample") {
  DeliveryRateSampler sampler;
  const SentPacket first = sampler.on_sent(Time(0), kPacket, 0);
  const SentPacket second = sampler.on_sent(Time(0), kPacket, kPacket);  // same microsecond
  sampler.begin_ack();
  sampler.on_acked(Time(10'000), second);
  sampler.on_acked(Time(10'000), first);  // reported out of order
  const RateSample& rs = sampler.generate();
  CHECK(rs.newly_acked == 2 * kPacket);
  CHECK(rs.tx_in_flight == second.tx_in_flight);
  CHECK(rs.delivered == 2 * kPacket);
  CHECK(rs.delivery_rate == 2 * kPacket * 100);  // 2400 bytes in 10 ms
}

}  // namespace
}  // namespace hoplink::cc
