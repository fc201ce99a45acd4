// The DPDK backend's API in a build without libdpdk: opening an interface fails with a message that says so.
#include "dpdk_io/dpdk_port.hpp"

namespace hoplink::dio {

struct DpdkInterface::Core {
  DpdkCounters counters;
};

DpdkInterface::DpdkInterface(std::shared_ptr<Core> core) : core_(std::move(core)) {}
DpdkInterface::~DpdkInterface() = default;

Result<std::unique_ptr<DpdkInterface>, std::string> DpdkInterface::open(const DpdkConfig&) {
  return fail(std::string("hoplink was built without DPDK (install libdpdk-dev and rebuild)"));
}

Result<std::unique_ptr<DatagramIo>, std::string> DpdkInterface::open_endpoint(std::uint16_t) {
  return fail(std::string("hoplink was built without DPDK"));
}

DpdkCounters DpdkInterface::counters() const {
  return core_->counters;
}

DpdkInterfaceInfo DpdkInterface::info() const {
  return {};
}

Result<std::unique_ptr<DatagramIo>, std::string> open_dpdk_port(const DpdkConfig& config) {
  auto interface = DpdkInterface::open(config);
  return fail(interface.error());
}

std::optional<DpdkCounters> dpdk_counters(const DatagramIo&) {
  return std::nullopt;
}

Result<void, std::string> init_dpdk_eal(const std::vector<std::string>&) {
  return fail(std::string("hoplink was built without DPDK"));
}

}  // namespace hoplink::dio
