// The options of the DPDK datagram backend (--io dpdk), on the command line and in a --config file, turned
// into the dio::DpdkConfig the backend opens with. Start-up configuration: errors throw OptionsError.
#pragma once

#include <boost/program_options.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "dpdk_io/dpdk_port.hpp"

namespace hoplink::transport {

struct DpdkOptionValues {
  std::string eal, port, address, gateway;
  std::size_t mtu = 1500;
  long long busy_poll_us = 200;
  long long idle_sleep_us = 1000;
  bool rx_interrupts = false;

  void describe(boost::program_options::options_description& description);
  // The configuration for --io dpdk. Throws OptionsError when a value is malformed, or when --dpdk-port or
  // --dpdk-address is missing.
  dio::DpdkConfig convert() const;
};

// "--no-huge -m 512 --vdev=net_tap0" -> {"--no-huge", "-m", "512", "--vdev=net_tap0"}: words split at
// whitespace; double quotes group a word that has spaces.
std::vector<std::string> split_eal_arguments(const std::string& text);

}  // namespace hoplink::transport
