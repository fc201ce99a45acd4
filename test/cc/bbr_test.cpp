#include "cc/bbr.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <set>
#include <string>

namespace hoplink::cc {
namespace {

constexpr std::uint32_t kMss = 1200;

TEST_CASE("every BBR state has its own name") {
  std::set<std::string> names;
  for (auto state : {BbrState::startup, BbrState::drain, BbrState::probe_bw_down, BbrState::probe_bw_cruise,
                     BbrState::probe_bw_refill, BbrState::probe_bw_up, BbrState::probe_rtt}) {
    names.emplace(to_string(state));
  }
  CHECK(names.size() == 7);
  CHECK(to_string(BbrState::probe_bw_up) == "probe_bw_up");
}

TEST_CASE("a new BBR starts in Startup with the initial window, paced over 1 ms") {
  const Bbr bbr(BbrConfig{}, Time(0));
  const BbrStats stats = bbr.stats();
  CHECK(stats.state == BbrState::startup);
  CHECK(bbr.cwnd() == 10 * kMss);
  // 2.77 * initial cwnd / 1 ms.
  CHECK(bbr.pacing_rate() == Approx(2.77 * 10 * kMss * 1000).epsilon(0.001));
  // 1 ms of the pacing rate (33 kB), between 2 packets and 64 KiB.
  CHECK(bbr.send_quantum() == bbr.pacing_rate() / 1000);
  CHECK(stats.inflight_hi == UINT64_MAX);
  CHECK(stats.min_rtt.count() == 0);
}

TEST_CASE("Startup grows cwnd by what is acked and learns the path's rate and RTT") {
  Bbr bbr(BbrConfig{}, Time(0));
  // One flight of 10 packets, all acked 20 ms later.
  std::uint64_t in_flight = 0;
  SentPacket sent[10];
  for (auto& packet : sent) {
    packet = bbr.on_packet_sent(Time(0), kMss, in_flight);
    in_flight += kMss;
  }
  for (const auto& packet : sent) {
    bbr.on_packet_acked(Time(20'000), packet);
    in_flight -= kMss;
  }
  bbr.on_ack_done(Time(20'000), in_flight);
  const BbrStats stats = bbr.stats();
  CHECK(stats.state == BbrState::startup);
  CHECK(stats.min_rtt == std::chrono::microseconds(20'000));
  CHECK(stats.max_bw_bytes_per_s == 10 * kMss * 50);  // 12 kB in 20 ms
  CHECK(stats.delivered_bytes == 10 * kMss);
  CHECK(bbr.cwnd() == 20 * kMss);
  CHECK(stats.round_count == 1);
}

TEST_CASE("a retransmission timeout lets one packet out beyond what is in flight") {
  Bbr bbr(BbrConfig{}, Time(0));
  std::uint64_t in_flight = 0;
  SentPacket sent[10];
  for (auto& packet : sent) {
    packet = bbr.on_packet_sent(Time(0), kMss, in_flight);
    in_flight += kMss;
  }
  for (const auto& packet : sent) bbr.on_packet_lost(Time(1'000'000), packet);
  bbr.on_retransmission_timeout(Time(1'000'000), 0);
  CHECK(bbr.cwnd() == kMss);
  CHECK(bbr.stats().lost_bytes == 10 * kMss);
  // The retransmission is acked: cwnd grows from there, to at least the pipelining minimum.
  const SentPacket retransmission = bbr.on_packet_sent(Time(1'000'000), kMss, 0);
  bbr.on_packet_acked(Time(1'020'000), retransmission);
  bbr.on_ack_done(Time(1'020'000), 0);
  CHECK(bbr.cwnd() >= 4 * kMss);
}

TEST_CASE("the minimum cwnd is respected") {
  BbrConfig config;
  config.initial_cwnd_packets = 2;
  config.min_cwnd_packets = 4;
  Bbr bbr(config, Time(0));
  const SentPacket packet = bbr.on_packet_sent(Time(0), kMss, 0);
  bbr.on_packet_lost(Time(30'000), packet);
  bbr.on_ack_done(Time(30'000), 0);
  CHECK(bbr.cwnd() >= 4 * kMss);
}

TEST_CASE("a moved-from BBR can be replaced") {
  Bbr a(BbrConfig{}, Time(0));
  Bbr b(std::move(a));
  CHECK(b.cwnd() == 10 * kMss);
  a = Bbr(BbrConfig{}, Time(5));
  CHECK(a.cwnd() == 10 * kMss);
}

TEST_CASE("a retransmission acked at once gives no RTT sample (Karn)") {
  Bbr bbr(BbrConfig{}, Time(0));
  // One clean round: min RTT 50 ms.
  const SentPacket first = bbr.on_packet_sent(Time(0), kMss, 0);
  bbr.on_packet_acked(Time(50'000), first);
  bbr.on_ack_done(Time(50'000), 0);
  REQUIRE(bbr.stats().min_rtt == std::chrono::microseconds(50'000));
  // A chunk sent again after a timeout; the ACK of its first copy arrives 0.5 ms later.
  const SentPacket again = bbr.on_packet_sent(Time(1'000'000), kMss, 0, true);
  bbr.on_packet_acked(Time(1'000'500), again);
  bbr.on_ack_done(Time(1'000'500), 0);
  CHECK(bbr.stats().min_rtt == std::chrono::microseconds(50'000));
  // The same without the flag would have been taken for a 0.5 ms path.
  Bbr naive(BbrConfig{}, Time(0));
  const SentPacket p0 = naive.on_packet_sent(Time(0), kMss, 0);
  naive.on_packet_acked(Time(50'000), p0);
  naive.on_ack_done(Time(50'000), 0);
  const SentPacket p1 = naive.on_packet_sent(Time(1'000'000), kMss, 0);
  naive.on_packet_acked(Time(1'000'500), p1);
  naive.on_ack_done(Time(1'000'500), 0);
  CHECK(naive.stats().min_rtt == std::chrono::microseconds(500));
}

}  // namespace
}  // namespace hoplink::cc
