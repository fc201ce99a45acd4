// The SCTP stack alone: two endpoints in one process, bulk transfer client -> server for N seconds over an
// in-memory link, real clock. Prints Mbit/s and CPU per variant so the defaults can be chosen by measurement.
// usrsctp is process-global, so every variant runs in its own forked child.
//
//   sctp_stack_bench [seconds per variant, default 2] [variant name filter]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <string>
#include <vector>

#include "sctp/stack.hpp"

namespace {

using namespace hoplink::sctp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Variant {
  std::string name;
  StackConfig stack;
  AssociationConfig association;
  bool crc = true;
  double loss = 0.0;
};

struct Sender : AssociationEvents {
  Association* association = nullptr;
  bool connected = false;
  std::vector<std::byte> chunk = std::vector<std::byte>(64 * 1024, std::byte{0x5a});
  void push() {
    while (association != nullptr && association->send(chunk) == chunk.size()) {
    }
  }
  void on_connected() override {
    connected = true;
    push();
  }
  void on_readable() override {}
  void on_writable() override { push(); }
  void on_closed(CloseReason) override { association = nullptr; }
};

struct Receiver : AssociationEvents {
  std::unique_ptr<Association> association;
  std::uint64_t received = 0;
  std::vector<std::byte> buffer = std::vector<std::byte>(256 * 1024);
  void on_connected() override {}
  void on_readable() override {
    for (;;) {
      const ReceiveResult r = association->receive(buffer);
      received += r.bytes;
      if (r.bytes == 0) break;
    }
  }
  void on_writable() override {}
  void on_closed(CloseReason) override {}
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

int run_variant(const Variant& v, double seconds) {
  struct Queued {
    PeerToken from;
    std::vector<std::byte> packet;
  };
  std::deque<Queued> queue;
  PeerToken client_side{};
  PeerToken server_side{};
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::uint64_t packets = 0;
  auto created = Stack::create(v.stack, [&](PeerToken to, std::span<const std::byte> packet) {
    ++packets;
    if (v.loss > 0 && uniform(rng) < v.loss) return;
    queue.push_back(Queued{to == client_side ? server_side : client_side, {packet.begin(), packet.end()}});
  });
  if (!created) {
    std::fprintf(stderr, "%s: %s\n", v.name.c_str(), created.error().c_str());
    return 1;
  }
  Stack& stack = *created.value();
  client_side = stack.register_peer(v.crc);
  server_side = stack.register_peer(v.crc);
  Receiver receiver;
  auto listening = stack.listen(v.association, [&](std::unique_ptr<Association> a) {
    receiver.association = std::move(a);
    receiver.association->set_events(receiver);
  });
  Sender sender;
  auto connected = stack.connect(client_side, v.association, sender);
  if (!listening || !connected) return 1;
  std::unique_ptr<Association> client = std::move(connected.value());
  sender.association = client.get();

  auto pump = [&] {
    for (int i = 0; i < 16 && !queue.empty(); ++i) {
      std::deque<Queued> batch;
      batch.swap(queue);
      for (auto& q : batch) stack.receive_packet(q.from, q.packet);
      stack.dispatch_events();
    }
    stack.handle_timers(Clock::now());
    stack.dispatch_events();
  };
  const Clock::time_point setup_deadline = Clock::now() + 5s;
  while (!sender.connected && Clock::now() < setup_deadline) pump();
  // Warm up (slow start), then measure.
  const Clock::time_point warm = Clock::now() + 200ms;
  while (Clock::now() < warm) pump();
  const std::uint64_t start_bytes = receiver.received;
  const std::uint64_t start_packets = packets;
  const double start_cpu = cpu_seconds();
  const Clock::time_point start = Clock::now();
  const Clock::time_point end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (Clock::now() < end) pump();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = cpu_seconds() - start_cpu;
  const double bytes = static_cast<double>(receiver.received - start_bytes);
  const double mbit = bytes * 8 / wall / 1e6;
  const AssociationStats stats = client->stats();
  std::printf("| %-22s | %8.0f | %5.0f%% | %6.2f | %7.0f | %6u | %5u |\n", v.name.c_str(), mbit,
              100 * cpu / wall, bytes > 0 ? cpu / (bytes / 1e9) : 0.0, (packets - start_packets) / wall / 1e3,
              stats.cwnd_bytes / 1024, stats.rto_ms);
  std::fflush(stdout);
  return 0;
}

std::vector<Variant> variants() {
  Variant base;
  base.name = "baseline";
  // The measured baseline, independent of whatever the header defaults are.
  base.stack.congestion_control = CongestionControl::hstcp;
  base.stack.sack_frequency = 2;
  base.stack.delayed_sack = 20ms;
  base.stack.max_burst = 0;
  base.association.mtu = 1200;
  base.association.send_buffer = base.association.receive_buffer = 1024 * 1024;
  std::vector<Variant> out{base};
  auto add = [&](std::string name, auto change) {
    Variant v = base;
    v.name = std::move(name);
    change(v);
    out.push_back(v);
  };
  add("mtu 1280", [](Variant& v) { v.association.mtu = 1280; });
  add("mtu 1400", [](Variant& v) { v.association.mtu = 1400; });
  add("cc rfc2581", [](Variant& v) { v.stack.congestion_control = CongestionControl::rfc2581; });
  add("cc htcp", [](Variant& v) { v.stack.congestion_control = CongestionControl::htcp; });
  add("sack_freq 1", [](Variant& v) { v.stack.sack_frequency = 1; });
  add("sack_freq 8", [](Variant& v) { v.stack.sack_frequency = 8; });
  add("delayed_sack 200ms", [](Variant& v) { v.stack.delayed_sack = 200ms; });
  add("max_burst 4", [](Variant& v) { v.stack.max_burst = 4; });
  add("buffers 256K",
      [](Variant& v) { v.association.send_buffer = v.association.receive_buffer = 256 * 1024; });
  add("buffers 4M",
      [](Variant& v) { v.association.send_buffer = v.association.receive_buffer = 4 * 1024 * 1024; });
  add("crc off", [](Variant& v) { v.crc = false; });
  add("loss 1%", [](Variant& v) { v.loss = 0.01; });
  add("loss 1% rfc2581", [](Variant& v) {
    v.loss = 0.01;
    v.stack.congestion_control = CongestionControl::rfc2581;
  });
  add("loss 1% htcp", [](Variant& v) {
    v.loss = 0.01;
    v.stack.congestion_control = CongestionControl::htcp;
  });
  add("loss 1% sack_freq 8", [](Variant& v) {
    v.loss = 0.01;
    v.stack.sack_frequency = 8;
  });
  add("loss 1% dsack 200ms", [](Variant& v) {
    v.loss = 0.01;
    v.stack.delayed_sack = 200ms;
  });
  add("loss 1% buffers 4M", [](Variant& v) {
    v.loss = 0.01;
    v.association.send_buffer = v.association.receive_buffer = 4 * 1024 * 1024;
  });
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 2.0;
  const std::string filter = argc > 2 ? argv[2] : "";
  std::printf("| variant                | Mbit/s   | CPU    | CPU s/GB | kpkt/s  | cwnd K | rto   |\n");
  std::printf("|------------------------|----------|--------|--------|---------|--------|-------|\n");
  std::fflush(stdout);
  int failures = 0;
  for (const Variant& v : variants()) {
    if (!filter.empty() && v.name.find(filter) == std::string::npos) continue;
    const pid_t child = fork();
    if (child == 0) _exit(run_variant(v, seconds));
    int status = 0;
    waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
  return failures == 0 ? 0 : 1;
}
