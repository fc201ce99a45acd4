// BBR in usrsctp (congestion control bbr) against usrsctp's RFC 2581 on the same simulated path, on
// simulated time: 200 Mbit/s, RTT 50 ms, a 1-BDP drop-tail queue. Each test case creates the process's one
// Stack, so ctest runs each in its own process.
#include <catch2/catch.hpp>

#include "path_sim.hpp"

namespace hoplink::sctp::test {
namespace {

void print(const char* what, const PathResult& r) {
  WARN(what << ": goodput " << r.goodput_bits_per_s / 1e6 << " Mbit/s, bw estimate "
            << static_cast<double>(r.client.bandwidth_bytes_per_s) * 8 / 1e6 << " Mbit/s, min RTT "
            << r.client.min_rtt_us << " us, state " << r.client.cc_state << ", T3 " << r.client.t3_timeouts
            << ", fast retransmits " << r.client.fast_retransmits << ", queue drops "
            << r.packets_dropped_queue << ", mean queue delay " << r.mean_queue_delay.count()
            << " us, send buffer " << r.client.send_buffer << ", receive window " << r.server.receive_buffer);
}

}  // namespace

TEST_CASE("bbr path: at 1% loss the model finds the link rate and fills most of it", "[bbr_path]") {
  PathConfig path;
  path.loss = 0.01;
  // 10 simulated seconds, not 30: under loss usrsctp walks its whole sent queue for every SACK (~2,000
  // chunks in flight here), so 30 s cost over a minute of wall time; 30 s gave the same figures.
  const PathResult r = run_bulk(CongestionControl::bbr, path, std::chrono::seconds(10));
  print("bbr 1% loss", r);
  const double bw = static_cast<double>(r.client.bandwidth_bytes_per_s) * 8;
  CHECK(bw > 0.85 * path.rate_bits_per_s);
  CHECK(bw < 1.15 * path.rate_bits_per_s);
  CHECK(r.goodput_bits_per_s > 0.6 * path.rate_bits_per_s);
}

TEST_CASE("bbr path: without loss full rate and a short queue and no T3 timeout", "[bbr_path]") {
  PathConfig path;
  const PathResult r = run_bulk(CongestionControl::bbr, path, std::chrono::seconds(30));
  print("bbr 0% loss", r);
  CHECK(r.goodput_bits_per_s > 0.8 * path.rate_bits_per_s);
  CHECK(r.client.t3_timeouts == 0);
  // Both buffers started at 256 KiB and grew with the path (BDP 1.25 MB) to hold at least one BDP.
  CHECK(r.client.send_buffer >= 1'250'000);
  CHECK(r.server.receive_buffer >= 1'250'000);
  CHECK(r.client.send_buffer <= path.max_window);
  // Paced at the bottleneck rate, BBR keeps the queue well below its 50 ms of buffer.
  CHECK(r.mean_queue_delay < std::chrono::milliseconds(25));
}

TEST_CASE("bbr path: 300 packets lost in a row and the transfer goes on", "[bbr_path]") {
  PathConfig path;
  path.burst_after = 5000;
  path.burst_count = 300;
  const PathResult r = run_bulk(CongestionControl::bbr, path, std::chrono::seconds(10));
  print("bbr burst of 300", r);
  CHECK(r.packets_dropped_loss == 300);
  CHECK(r.goodput_bits_per_s > 0.5 * path.rate_bits_per_s);
}

TEST_CASE("bbr path: after a T3 timeout the model keeps the link rate and refills the path", "[bbr_path]") {
  PathConfig path;
  path.blackout_start = std::chrono::seconds(3);
  path.blackout = std::chrono::milliseconds(400);
  const PathResult r = run_bulk(CongestionControl::bbr, path, std::chrono::seconds(10));
  print("bbr 400 ms blackout", r);
  CHECK(r.client.t3_timeouts >= 1);
  CHECK(r.goodput_bits_per_s > 0.6 * path.rate_bits_per_s);
}

TEST_CASE("bbr path: rfc2581 at 1% loss stays far below (the simulation tells them apart)", "[bbr_path]") {
  PathConfig path;
  path.loss = 0.01;
  const PathResult r = run_bulk(CongestionControl::rfc2581, path, std::chrono::seconds(30));
  print("rfc2581 1% loss", r);
  CHECK(r.goodput_bits_per_s < 0.1 * path.rate_bits_per_s);
  CHECK(r.bytes_delivered > 0);
}

TEST_CASE("bbr path: the T3-rtx patch leaves rfc2581 no spurious timeout on a clean path", "[bbr_path]") {
  PathConfig path;
  const PathResult r = run_bulk(CongestionControl::rfc2581, path, std::chrono::seconds(20));
  print("rfc2581 0% loss", r);
  CHECK(r.client.t3_timeouts == 0);
}

}  // namespace hoplink::sctp::test
