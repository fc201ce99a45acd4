// TCP's half-close over the DPDK datagram backend (issue 9, item 4): an unmanaged hoplink bridge and client,
// each on DPDK net_af_packet at one end of a veth pair, inside a network namespace the test creates and
// removes. One link per run, data both ways, one side ending its direction first (each side in turn), sizes
// from 0 bytes to 3 MB, every byte checked both ways, both links' ends clean and REASON=orderly on both
// sides; 20 runs per transport (each size pair with each side first), about 10-20 s per transport here.
// The same links over kernel UDP: test/integration/half_close_test.cpp (helpers shared, half_close_link.hpp).
//
// Needs root (namespaces, veth, af_packet): without it each case prints "SKIP:", which ctest reports as
// skipped.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <optional>
#include <thread>

#include "fake_tor.hpp"
#include "half_close_link.hpp"
#include "hoplink.hpp"
#include "network_namespace.hpp"
#include "pt_lines.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;

namespace {

constexpr const char* kBridgeIp = "10.98.0.1";
constexpr const char* kClientIp = "10.98.0.2";
constexpr const char* kBridgePort = "4433";

struct Sizes {
  std::uint64_t up = 0;
  std::uint64_t down = 0;
};
// Nothing at all, one direction only, a byte, lopsided, around a 64 KiB boundary, MBs both ways.
constexpr std::array<Sizes, 10> kSizes{{{0, 0},
                                        {0, 3'000'000},
                                        {3'000'000, 0},
                                        {1, 1},
                                        {1'000, 2'000'000},
                                        {2'000'000, 1'000},
                                        {65'537, 65'535},
                                        {3'000'000, 3'000'000},
                                        {500'000, 1'500'000},
                                        {1'500'000, 500'000}}};
constexpr std::size_t kRuns = 2 * kSizes.size();

// hoplink on DPDK net_af_packet over `iface`: no hugepages, no PCI, a file prefix of its own (two DPDK
// processes run at once), the main lcore free to run on every CPU instead of pinned to CPU 0.
std::vector<std::string> dpdk_args(const std::string& iface, const std::string& prefix,
                                   const std::string& address) {
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const std::string eal = "--no-huge -m 256 --no-pci --file-prefix=" + prefix +
                          " --log-level=warning --lcores=0@(0-" + std::to_string(cpus - 1) +
                          ") --vdev=net_af_packet0,iface=" + iface;
  return {"--io", "dpdk", "--dpdk-eal=" + eal, "--dpdk-port", "net_af_packet0", "--dpdk-address", address};
}

// A namespace holding a veth pair, both ends up and without an IP address: the kernel owns neither DPDK
// address and, forwarding being off in a new namespace, drops what it sees of the frames between them.
struct VethInNamespace {
  explicit VethInNamespace(const std::string& tag)
      : ns("hoplink-" + tag), end_a(tag + "a"), end_b(tag + "b") {
    ns.ip({"link", "add", end_a, "type", "veth", "peer", "name", end_b});
    ns.ip({"link", "set", end_a, "up"});
    ns.ip({"link", "set", end_b, "up"});
  }
  NetworkNamespace ns;
  std::string end_a;
  std::string end_b;
};

// DPDK keeps a runtime directory per file prefix after the process ends; the test removes the ones it used.
struct DpdkRuntimeDirs {
  std::vector<std::string> prefixes;
  ~DpdkRuntimeDirs() {
    std::error_code ignored;
    for (const auto& prefix : prefixes) std::filesystem::remove_all("/var/run/dpdk/" + prefix, ignored);
  }
};

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

void half_close_over_dpdk(const std::string& transport) {
  if (std::string why; !can_create_namespaces(&why)) {
    WARN("SKIP: " << why);
    return;
  }
  const std::string tag = "hc" + std::to_string(::getpid() % 100000) + transport.front();
  VethInNamespace wire(tag);
  const DpdkRuntimeDirs dpdk_dirs{{tag + "b", tag + "c"}};  // removed after the processes below are gone
  InsideNamespace inside(wire.ns);  // the fake tor's sockets and the hoplink processes live there
  TempDir dir;
  FakeTor orport({.extended = false, .auth = AuthMode::okay, .data = DataMode::pump, .okay_delay = {}});
  auto server = start_unmanaged(
      dir, "server",
      concat({"--transport", transport, "--listen", std::string("0.0.0.0:") + kBridgePort, "--orport",
              "127.0.0.1:" + std::to_string(orport.port()), "--state-dir", dir.path().string()},
             dpdk_args(wire.end_a, tag + "b", std::string(kBridgeIp) + "/24")),
      "server");
  INFO(server.process->describe());
  REQUIRE(server.method.address.to_string() == std::string(kBridgeIp) + ":" + kBridgePort);
  std::vector<std::string> client_args{"--transport", transport,  "--listen",
                                       "127.0.0.1:0", "--remote", server.method.address.to_string()};
  if (transport == "dtls") client_args = concat(client_args, {"--fp", server.method.args.at("fp")});
  auto client = start_unmanaged(
      dir, "client", concat(client_args, dpdk_args(wire.end_b, tag + "c", std::string(kClientIp) + "/24")),
      "client");
  INFO(client.process->describe());

  const auto connect = [&](Deadline deadline) { return tcp_connect(client.method.address.port, deadline); };
  for (std::size_t run = 0; run < kRuns; ++run) {
    const Sizes sizes = kSizes[run / 2];
    const HalfCloseSpec spec{{run + 1, sizes.up, sizes.down},
                             run % 2 == 0 ? FirstToEnd::client : FirstToEnd::bridge};
    const auto r = run_half_close_link(orport, connect, spec, timeouts::kSmallLink);
    INFO("run " << run + 1 << " of " << kRuns << ": " << r.describe());
    CHECK(r.ok());
  }
  for (Process* p : {server.process.get(), client.process.get()}) {
    INFO(p->name());
    CHECK(orderly_close_problems(*p, kRuns, timeouts::kLogLine) == "");
    // SIGTERM ends hoplink with a STATUS line of totals: every link went over the DPDK port.
    p->send_signal(SIGTERM);
    REQUIRE(p->wait_exit(timeouts::kPromptExit).has_value());
    const auto until = deadline_in(timeouts::kExit);  // the reader thread may still be at its last lines
    while (!p->stdout_closed() && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::optional<KeyValues> totals;
    for (const auto& line : p->lines()) {
      if (auto fields = parse_status(line); fields && fields->contains("LINKS_CLOSED")) totals = fields;
    }
    REQUIRE(totals.has_value());
    CHECK(totals->at("LINKS_CLOSED") == std::to_string(kRuns));
    CHECK(totals->at("LINKS") == "0");
    CHECK(std::stoull(totals->at("DPDK_RX_FRAMES")) > 0);
    CHECK(std::stoull(totals->at("DPDK_TX_FRAMES")) > 0);
    CHECK(totals->at("DPDK_DROP_BAD_UDP_CHECKSUM") == "0");
  }
}

}  // namespace

TEST_CASE("DPDK af_packet: sctp links where either side half-closes first arrive whole both ways",
          "[netns][dpdk][half_close]") {
  half_close_over_dpdk("sctp");
}

TEST_CASE("DPDK af_packet: dtls links where either side half-closes first arrive whole both ways",
          "[netns][dpdk][half_close][dtls]") {
  half_close_over_dpdk("dtls");
}
