#include "app/dpdk_options.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <vector>

#include "app/options.hpp"
#include "dpdk_io/headers.hpp"

namespace hoplink::transport {

namespace po = boost::program_options;

namespace {

std::array<std::uint8_t, 4> to_ipv4(const std::string& text, const char* option) {
  in_addr address{};
  if (::inet_pton(AF_INET, text.c_str(), &address) != 1) {
    throw OptionsError(std::string("--") + option + ": expected an IPv4 address, got '" + text + "'");
  }
  std::array<std::uint8_t, 4> bytes{};
  std::memcpy(bytes.data(), &address, 4);
  return bytes;
}

void check_micros(long long value, long long high, const char* option) {
  if (value < 0 || value > high) {
    throw OptionsError(std::string("--") + option + ": " + std::to_string(value) + " is outside 0.." +
                       std::to_string(high));
  }
}

}  // namespace

void DpdkOptionValues::describe(po::options_description& description) {
  description.add_options()  //
      ("dpdk-eal", po::value(&eal),
       "EAL arguments, one string: --dpdk-eal='--no-huge -m 512 --no-pci --vdev=net_af_packet0,iface=eth1' "
       "(write it with '=': a value that starts with '-' is otherwise taken for an option)")  //
      ("dpdk-port", po::value(&port),
       "the DPDK port: a PCI address bound to vfio-pci (0000:03:00.0), a port number, a vdev named in "
       "--dpdk-eal (net_af_packet0), or a device string probed now (net_tap0,iface=hl0)")  //
      ("dpdk-address", po::value(&address),
       "our IPv4 address and prefix on that link, e.g. 192.0.2.10/24 (the UDP ports come from --listen or "
       "TOR_PT_SERVER_BINDADDR, whose IP is then ignored)")                                  //
      ("dpdk-gateway", po::value(&gateway), "next hop for destinations outside the prefix")  //
      ("dpdk-mtu", po::value(&mtu)->default_value(mtu),
       ("IP MTU of the port (68..9000); --mtu, the SCTP packet, must fit in it with " +
        std::to_string(dio::kIpv4UdpHeaderBytes) + " bytes of IP and UDP")
           .c_str())  //
      ("dpdk-busy-poll", po::value(&busy_poll_us)->default_value(busy_poll_us),
       "microseconds to keep polling the port after the last datagram before idling")  //
      ("dpdk-idle-sleep", po::value(&idle_sleep_us)->default_value(idle_sleep_us),
       "when idle, poll every this many microseconds (latency of the first datagram after a pause vs CPU; "
       "0 polls continuously and keeps a core at 100%)")  //
      ("dpdk-rx-interrupts", po::bool_switch(&rx_interrupts),
       "when idle, sleep on the port's rx interrupt where the driver has one (tap, NICs under vfio-pci); "
       "--dpdk-idle-sleep is then only the longest sleep");
}

dio::DpdkConfig DpdkOptionValues::convert() const {
  dio::DpdkConfig config;
  if (port.empty()) throw OptionsError("--io dpdk needs --dpdk-port");
  if (address.empty()) throw OptionsError("--io dpdk needs --dpdk-address (IPv4/prefix)");
  config.port = port;
  config.eal_args = split_eal_arguments(eal);
  const auto slash = address.find('/');
  if (slash == std::string::npos)
    throw OptionsError("--dpdk-address: expected IPv4/prefix, got '" + address + "'");
  config.address = PeerAddress::v4(to_ipv4(address.substr(0, slash), "dpdk-address"), 0);
  const std::string prefix = address.substr(slash + 1);
  if (prefix.empty() || prefix.size() > 2 ||
      !std::all_of(prefix.begin(), prefix.end(),
                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      std::stoi(prefix) > 32) {
    throw OptionsError("--dpdk-address: prefix length 0..32 expected, got '" + prefix + "'");
  }
  config.prefix_length = static_cast<std::uint8_t>(std::stoi(prefix));
  if (!gateway.empty()) config.gateway = to_ipv4(gateway, "dpdk-gateway");
  if (mtu < 68 || mtu > 9000) {
    throw OptionsError("--dpdk-mtu: " + std::to_string(mtu) + " is outside 68..9000");
  }
  config.mtu = mtu;
  check_micros(busy_poll_us, 10'000'000, "dpdk-busy-poll");
  check_micros(idle_sleep_us, 1'000'000, "dpdk-idle-sleep");
  config.poll.busy_poll = std::chrono::microseconds(busy_poll_us);
  config.poll.idle_sleep = std::chrono::microseconds(idle_sleep_us);
  config.rx_interrupts = rx_interrupts;
  return config;
}

std::vector<std::string> split_eal_arguments(const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted = false;
  for (char c : text) {
    if (c == '"') {
      quoted = !quoted;
      in_word = true;
    } else if (!quoted && std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quoted) throw OptionsError("--dpdk-eal: unbalanced double quote");
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace hoplink::transport
