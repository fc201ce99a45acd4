// The DPDK backend's options (--io dpdk): parsing, defaults, errors, the config file and the help text.
#include "app/dpdk_options.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/options.hpp"
#include "options_test_support.hpp"

using namespace hoplink;
using namespace hoplink::transport;

namespace {

using test::message_of;
using test::parse;

const std::vector<std::string> kMinimal{"--io",     "dpdk",           "--dpdk-port",
                                        "net_tap0", "--dpdk-address", "10.1.2.3/24"};

std::vector<std::string> minimal_and(std::vector<std::string> more) {
  auto words = kMinimal;
  words.insert(words.end(), more.begin(), more.end());
  return words;
}

}  // namespace

TEST_CASE("dpdk options: --io dpdk and its options reach the DPDK configuration") {
  const auto options = parse({"server",
                              "--orport",
                              "127.0.0.1:9001",
                              "--listen",
                              "0.0.0.0:4433",
                              "--io",
                              "dpdk",
                              "--dpdk-eal=--no-huge -m 512 --no-pci --vdev=net_af_packet0,iface=veth0",
                              "--dpdk-port",
                              "net_af_packet0",
                              "--dpdk-address",
                              "192.0.2.10/26",
                              "--dpdk-gateway",
                              "192.0.2.1",
                              "--dpdk-mtu",
                              "9000",
                              "--dpdk-busy-poll",
                              "50",
                              "--dpdk-idle-sleep",
                              "250",
                              "--dpdk-rx-interrupts"});
  CHECK(options.datagrams.backend == IoBackend::dpdk);
  const auto& dpdk = options.datagrams.dpdk;
  CHECK(dpdk.eal_args ==
        std::vector<std::string>{"--no-huge", "-m", "512", "--no-pci", "--vdev=net_af_packet0,iface=veth0"});
  CHECK(dpdk.port == "net_af_packet0");
  CHECK(dpdk.address.host_string() == "192.0.2.10");
  CHECK(dpdk.prefix_length == 26);
  REQUIRE(dpdk.gateway);
  CHECK(*dpdk.gateway == std::array<std::uint8_t, 4>{192, 0, 2, 1});
  CHECK(dpdk.mtu == 9000);
  CHECK(dpdk.poll.busy_poll == std::chrono::microseconds(50));
  CHECK(dpdk.poll.idle_sleep == std::chrono::microseconds(250));
  CHECK(dpdk.rx_interrupts);
}

TEST_CASE(
    "dpdk options: defaults are no gateway, MTU 1500, a short busy poll then a 1 ms idle sleep, no "
    "interrupts") {
  const auto options = parse(kMinimal);
  CHECK(options.datagrams.dpdk.eal_args.empty());
  CHECK_FALSE(options.datagrams.dpdk.gateway);
  CHECK(options.datagrams.dpdk.mtu == 1500);
  CHECK(options.datagrams.dpdk.poll.busy_poll == std::chrono::microseconds(200));
  CHECK(options.datagrams.dpdk.poll.idle_sleep == std::chrono::microseconds(1000));
  CHECK_FALSE(options.datagrams.dpdk.rx_interrupts);
  // The DPDK options are ignored (not checked) with the kernel backend.
  CHECK(parse({"--dpdk-address", "nonsense"}).datagrams.backend == IoBackend::udp);
}

TEST_CASE("dpdk options: bad values are refused with the option's name") {
  CHECK_THAT(message_of({"--io", "dpdk", "--dpdk-address", "10.1.2.3/24"}), Catch::Contains("--dpdk-port"));
  CHECK_THAT(message_of({"--io", "dpdk", "--dpdk-port", "net_tap0"}), Catch::Contains("--dpdk-address"));
  for (const char* address : {"10.1.2.3", "10.1.2.3/33", "10.1.2.3/", "10.1.2/24", "::1/64", "10.1.2.3/2x"}) {
    INFO(address);
    CHECK_THAT(message_of({"--io", "dpdk", "--dpdk-port", "p", "--dpdk-address", address}),
               Catch::Contains("--dpdk-address"));
  }
  CHECK_THAT(message_of(minimal_and({"--dpdk-gateway", "gw"})), Catch::Contains("--dpdk-gateway"));
  CHECK_THAT(message_of(minimal_and({"--dpdk-mtu", "60"})), Catch::Contains("--dpdk-mtu"));
  CHECK_THAT(message_of(minimal_and({"--dpdk-idle-sleep", "-1"})), Catch::Contains("--dpdk-idle-sleep"));
  CHECK_THAT(message_of(minimal_and({"--dpdk-busy-poll", "-5"})), Catch::Contains("--dpdk-busy-poll"));
  CHECK_THAT(message_of(minimal_and({"--dpdk-eal=--vdev=\"net_tap0"})), Catch::Contains("--dpdk-eal"));
  // The SCTP packet must fit the port's MTU with the IP and UDP headers.
  CHECK_THAT(message_of(minimal_and({"--dpdk-mtu", "1227"})), Catch::Contains("--dpdk-mtu"));
  CHECK(parse(minimal_and({"--dpdk-mtu", "1228"})).datagrams.dpdk.mtu == 1228);
}

TEST_CASE("dpdk options: EAL arguments split at whitespace, double quotes keep spaces") {
  CHECK(split_eal_arguments("").empty());
  CHECK(split_eal_arguments("  -l 0   --no-huge ") == std::vector<std::string>{"-l", "0", "--no-huge"});
  CHECK(split_eal_arguments("--vdev=\"net_pcap0,iface=my nic\" -m 64") ==
        std::vector<std::string>{"--vdev=net_pcap0,iface=my nic", "-m", "64"});
  CHECK(split_eal_arguments("\"\"") == std::vector<std::string>{""});
}

TEST_CASE("dpdk options: they come from a --config file too") {
  const std::string path = "hoplink_dpdk_options_test.conf";
  {
    std::ofstream file(path);
    file << "io=dpdk\ndpdk-eal=--no-huge -m 256 --no-pci --vdev=net_tap0\ndpdk-port=net_tap0\n"
            "dpdk-address=198.51.100.7/24\ndpdk-rx-interrupts=true\n";
  }
  const auto options = parse({"--config", path});
  std::remove(path.c_str());
  CHECK(options.datagrams.backend == IoBackend::dpdk);
  CHECK(options.datagrams.dpdk.eal_args ==
        std::vector<std::string>{"--no-huge", "-m", "256", "--no-pci", "--vdev=net_tap0"});
  CHECK(options.datagrams.dpdk.address.host_string() == "198.51.100.7");
  CHECK(options.datagrams.dpdk.rx_interrupts);
}

TEST_CASE("dpdk options: the help text names every one") {
  const auto text = help_text();
  for (const char* name : {"--dpdk-eal", "--dpdk-port", "--dpdk-address", "--dpdk-gateway", "--dpdk-mtu",
                           "--dpdk-busy-poll", "--dpdk-idle-sleep", "--dpdk-rx-interrupts"}) {
    INFO(name);
    CHECK(text.find(name) != std::string::npos);
  }
  CHECK(text.find("dpdk (Ethernet frames") != std::string::npos);
}

TEST_CASE("dpdk options: every configuration in examples/dpdk parses") {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(HOPLINK_SOURCE_DIR "/examples/dpdk")) {
    if (entry.path().extension() != ".conf") continue;
    INFO(entry.path().string());
    const auto options = parse({"--config", entry.path().string()});
    CHECK(options.datagrams.backend == IoBackend::dpdk);
    CHECK_FALSE(options.datagrams.dpdk.eal_args.empty());
    ++files;
  }
  CHECK(files >= 4);
}
