// Kernel UDP backend over loopback: 1200-byte datagrams, one thread alternating enqueue+flush on one socket
// and receive_burst on the other, for burst sizes 1, 32 and 64 without UDP GSO/GRO, then 32 and 64 with them.
// Shows what recvmmsg/sendmmsg batching and the offloads buy; the CPU column is the process's user + system
// time (loopback delivery runs in the sender's softirq, so it covers both ends) per datagram.
// Prints figures and asserts nothing. Usage: udp_io_bench [seconds per run, default 2]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dpdk_io/udp_socket.hpp"

namespace {

using hoplink::PeerAddress;
using namespace hoplink::dio;

constexpr std::size_t kPayload = 1200;

struct Figures {
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t would_block = 0;
  double seconds = 0;
  double cpu_seconds = 0;
  std::uint64_t gso_messages = 0;
  std::uint64_t gro_messages = 0;
  bool gso = false;
  bool gro = false;
};

double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) { return static_cast<double>(time.tv_sec) + time.tv_usec / 1e6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

bool run(std::size_t burst, bool gso, bool gro, std::chrono::duration<double> duration, Figures& figures) {
  UdpSocketConfig config;
  config.bind = *PeerAddress::parse("127.0.0.1:0");
  config.burst = burst;
  config.max_payload = kPayload;
  config.gso = gso;
  config.gro = gro;
  auto sender = open_udp_socket(config);
  auto receiver = open_udp_socket(config);
  if (!sender.ok() || !receiver.ok()) {
    std::fprintf(stderr, "open: %s\n", (sender.ok() ? receiver.error() : sender.error()).c_str());
    return false;
  }
  DatagramIo& tx = **sender;
  DatagramIo& rx = **receiver;
  const PeerAddress to = rx.local_address();
  const std::vector<std::byte> payload(kPayload, std::byte{0x5a});
  std::vector<ReceivedDatagram> out(burst);

  const double cpu_start = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
  std::uint64_t rounds = 0;
  for (;;) {
    // The clock is read every 64 rounds so that burst 1 does not measure clock_gettime.
    if ((++rounds & 63) == 0 && std::chrono::steady_clock::now() >= deadline) break;
    while (tx.pending_tx() < tx.tx_capacity()) tx.enqueue(to, payload);
    auto flushed = tx.flush();
    if (!flushed.ok()) {
      if (flushed.error() != IoError::would_block) {
        std::fprintf(stderr, "flush: %s (errno %d)\n", std::string(to_string(flushed.error())).c_str(),
                     tx.last_errno());
        return false;
      }
      ++figures.would_block;
    }
    for (;;) {
      auto received = rx.receive_burst(out);
      if (!received.ok() || *received == 0) break;
    }
  }
  figures.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  figures.cpu_seconds = cpu_seconds() - cpu_start;
  figures.sent = tx.counters().tx_datagrams;
  figures.received = rx.counters().rx_datagrams;
  const auto tx_offload = udp_offload(tx);
  const auto rx_offload = udp_offload(rx);
  figures.gso = tx_offload->gso;
  figures.gro = rx_offload->gro;
  figures.gso_messages = tx_offload->gso_messages;
  figures.gro_messages = rx_offload->gro_messages;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  if (!(seconds > 0 && seconds <= 60)) {
    std::fprintf(stderr, "usage: udp_io_bench [seconds per run, 0 < s <= 60]\n");
    return 2;
  }
  std::printf("udp_io_bench: kernel UDP backend, loopback 127.0.0.1, %zu-byte datagrams, %.1f s per run\n",
              kPayload, seconds);
  std::printf("%6s %8s %14s %9s %8s %10s %10s %10s %12s %12s\n", "burst", "gso/gro", "datagrams/s", "Gbit/s",
              "cpu s", "cpu ns/dg", "lost", "blocked", "gso msgs", "gro msgs");
  struct Case {
    std::size_t burst;
    bool gso;
    bool gro;
  };
  // GSO without GRO: the kernel splits each coalesced message again before the receiving socket, as a
  // receiver on an older kernel (or one with gro = false) would see it.
  for (const Case c : {Case{1, false, false}, Case{32, false, false}, Case{64, false, false},
                       Case{64, true, false}, Case{32, true, true}, Case{64, true, true}}) {
    Figures figures;
    if (!run(c.burst, c.gso, c.gro, std::chrono::duration<double>(seconds), figures)) return 1;
    const double rate = static_cast<double>(figures.received) / figures.seconds;
    const double gbits = rate * kPayload * 8 / 1e9;
    const double cpu_ns = figures.received > 0 ? figures.cpu_seconds * 1e9 / figures.received : 0;
    // What the kernel granted, which may be less than what was asked for.
    const char* state =
        figures.gso ? (figures.gro ? "on/on" : "on/off") : (figures.gro ? "off/on" : "off/off");
    std::printf("%6zu %8s %14.0f %9.3f %8.2f %10.0f %10llu %10llu %12llu %12llu\n", c.burst, state, rate,
                gbits, figures.cpu_seconds, cpu_ns,
                static_cast<unsigned long long>(figures.sent - figures.received),
                static_cast<unsigned long long>(figures.would_block),
                static_cast<unsigned long long>(figures.gso_messages),
                static_cast<unsigned long long>(figures.gro_messages));
  }
  return 0;
}
