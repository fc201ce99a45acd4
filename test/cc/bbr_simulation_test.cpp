// BBR through the simulated bottleneck of bottleneck_sim.hpp: 200 Mbit/s, 50 ms RTT, a one-BDP drop-tail
// queue, 30 simulated seconds.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>

#include "bottleneck_sim.hpp"
#include "cc/bbr.hpp"

namespace hoplink::cc::test {
namespace {

constexpr double kLinkRate = 25'000'000;  // bytes per second
constexpr double kRttUs = 50'000;

// What a BBR run looked like from the outside, sampled after every ACK.
struct BbrRun {
  SimResult sim;
  BbrStats last;
  Time startup_exit{-1};
  int probe_rtt_entries = 0;
  bool saw[7] = {};
  std::uint64_t max_bw_after_startup_min = UINT64_MAX;
  std::uint64_t max_bw_after_startup_max = 0;
};

BbrRun run_bbr(const LinkConfig& link) {
  BbrController controller(BbrConfig{}, Time(0));
  BbrRun run;
  BbrState previous = BbrState::startup;
  const auto observe = [&](Time now) {
    const BbrStats stats = controller.bbr().stats();
    run.saw[static_cast<int>(stats.state)] = true;
    if (stats.state != BbrState::startup && run.startup_exit.count() < 0) run.startup_exit = now;
    if (stats.state == BbrState::probe_rtt && previous != BbrState::probe_rtt) ++run.probe_rtt_entries;
    if (run.startup_exit.count() >= 0 && now > run.startup_exit + Time(2'000'000)) {
      run.max_bw_after_startup_min = std::min(run.max_bw_after_startup_min, stats.max_bw_bytes_per_s);
      run.max_bw_after_startup_max = std::max(run.max_bw_after_startup_max, stats.max_bw_bytes_per_s);
    }
    previous = stats.state;
  };
  run.sim = simulate(controller, link, observe);
  run.last = controller.bbr().stats();
  std::printf(
      "bbr loss %.1f%% ack every %d: goodput %.1f Mbit/s (%.1f%%), max_bw %.1f..%.1f Mbit/s, mean queueing "
      "delay %.2f ms, startup exit %.3f s, %d ProbeRTTs, %llu timeouts\n",
      link.loss * 100, link.ack_every, run.sim.goodput_bytes_per_s * 8 / 1e6,
      100 * run.sim.goodput_bytes_per_s / kLinkRate, run.max_bw_after_startup_min * 8 / 1e6,
      run.max_bw_after_startup_max * 8 / 1e6, run.sim.mean_queue_delay_us / 1e3,
      static_cast<double>(run.startup_exit.count()) / 1e6, run.probe_rtt_entries,
      static_cast<unsigned long long>(run.sim.timeouts));
  return run;
}

void check_bbr_uses_the_link(const BbrRun& run) {
  // The bandwidth estimate stays within 15% of the link rate once Startup is over.
  CHECK(run.max_bw_after_startup_min >= 0.85 * kLinkRate);
  CHECK(run.max_bw_after_startup_max <= 1.15 * kLinkRate);
  CHECK(run.sim.goodput_bytes_per_s > 0.6 * kLinkRate);
  // Startup found the bottleneck within a couple of seconds (about log2(BDP / initial cwnd) + 3 rounds).
  CHECK(run.startup_exit.count() > 0);
  CHECK(run.startup_exit < Time(2'000'000));
  // The whole ProbeBW cycle ran.
  CHECK(run.saw[static_cast<int>(BbrState::drain)]);
  CHECK(run.saw[static_cast<int>(BbrState::probe_bw_down)]);
  CHECK(run.saw[static_cast<int>(BbrState::probe_bw_cruise)]);
  CHECK(run.saw[static_cast<int>(BbrState::probe_bw_refill)]);
  CHECK(run.saw[static_cast<int>(BbrState::probe_bw_up)]);
  // RTT samples never go below the path's, so min_rtt expires and ProbeRTT comes about every 5 s.
  CHECK(run.probe_rtt_entries >= 3);
  CHECK(run.last.min_rtt >= std::chrono::microseconds(50'000));
  CHECK(run.last.min_rtt < std::chrono::microseconds(55'000));
  CHECK(run.sim.timeouts == 0);
}

TEST_CASE("BBR fills a 200 Mbit/s 50 ms bottleneck without loss and keeps its queue short") {
  LinkConfig link;
  link.loss = 0;
  const BbrRun run = run_bbr(link);
  check_bbr_uses_the_link(run);
  CHECK(run.sim.goodput_bytes_per_s > 0.85 * kLinkRate);
  // Queueing delay averages well under one RTT (a full one-BDP queue would add a whole RTT).
  CHECK(run.sim.mean_queue_delay_us < 0.2 * kRttUs);
}

TEST_CASE("BBR keeps a 200 Mbit/s 50 ms bottleneck busy through 1% random loss") {
  LinkConfig link;
  link.loss = 0.01;
  link.seed = 11;
  const BbrRun run = run_bbr(link);
  check_bbr_uses_the_link(run);
}

TEST_CASE("BBR with an ACK for every packet behaves the same") {
  LinkConfig link;
  link.loss = 0.01;
  link.ack_every = 1;
  link.seed = 5;
  link.duration = std::chrono::microseconds(15'000'000);
  const BbrRun run = run_bbr(link);
  CHECK(run.max_bw_after_startup_min >= 0.85 * kLinkRate);
  CHECK(run.max_bw_after_startup_max <= 1.15 * kLinkRate);
  CHECK(run.sim.goodput_bytes_per_s > 0.6 * kLinkRate);
}

TEST_CASE("with a shallow buffer Startup ends on loss and bounds inflight") {
  LinkConfig link;
  link.queue_bytes = 60'000;  // 5% of the BDP
  link.duration = std::chrono::microseconds(3'000'000);
  BbrController controller(BbrConfig{}, Time(0));
  BbrStats at_exit;
  bool exited = false;
  simulate(controller, link, [&](Time) {
    const BbrStats stats = controller.bbr().stats();
    if (!exited && stats.state != BbrState::startup) {
      exited = true;
      at_exit = stats;
    }
  });
  REQUIRE(exited);
  // Only the loss exit sets inflight_hi in Startup; the bandwidth-plateau exit leaves it unset.
  CHECK(at_exit.inflight_hi != UINT64_MAX);
  CHECK(at_exit.inflight_hi >= 4 * 1200);
  CHECK(at_exit.lost_bytes > 0);
}

TEST_CASE("the simulation tells Reno from BBR at 1% loss") {
  LinkConfig link;
  link.loss = 0.01;
  link.seed = 11;
  RenoController reno(link.packet_bytes);
  const SimResult result = simulate(reno, link);
  std::printf("reno loss 1%%: goodput %.2f Mbit/s (%.1f%%), mean queueing delay %.2f ms\n",
              result.goodput_bytes_per_s * 8 / 1e6, 100 * result.goodput_bytes_per_s / kLinkRate,
              result.mean_queue_delay_us / 1e3);
  CHECK(result.goodput_bytes_per_s < 0.1 * kLinkRate);
  CHECK(result.goodput_bytes_per_s > 0);
}

// On a small BDP (10 Mbit/s, 20 ms: 21 packets) Reno's sawtooth cycles quickly between one and two BDPs in
// flight, so it keeps the one-BDP queue about half full; BBR on the same link paces at the bottleneck rate.
TEST_CASE("without loss Reno fills the queue that BBR keeps short") {
  LinkConfig link;
  link.rate_bytes_per_s = 1'250'000;
  link.one_way_delay = std::chrono::microseconds(10'000);
  link.queue_bytes = 25'000;
  link.duration = std::chrono::microseconds(20'000'000);
  const double rtt_us = 20'000;
  RenoController reno(link.packet_bytes);
  const SimResult reno_result = simulate(reno, link);
  BbrController bbr(BbrConfig{}, Time(0));
  const SimResult bbr_result = simulate(bbr, link);
  std::printf(
      "10 Mbit/s 20 ms: reno goodput %.1f%% queueing delay %.2f ms, bbr goodput %.1f%% queueing delay "
      "%.2f ms\n",
      100 * reno_result.goodput_bytes_per_s / 1.25e6, reno_result.mean_queue_delay_us / 1e3,
      100 * bbr_result.goodput_bytes_per_s / 1.25e6, bbr_result.mean_queue_delay_us / 1e3);
  CHECK(reno_result.mean_queue_delay_us > 0.3 * rtt_us);
  // At 21 packets of BDP, the 2-packet send quantum and the ACK of every second packet are a good part of
  // BBR's queue; it still is well under half of Reno's.
  CHECK(bbr_result.mean_queue_delay_us < 0.5 * reno_result.mean_queue_delay_us);
  CHECK(bbr_result.goodput_bytes_per_s > 0.85 * 1.25e6);
}

}  // namespace
}  // namespace hoplink::cc::test
