// The DatagramIo of one UDP port on a DPDK interface. Received payloads are views into the mbufs (freed at
// the next receive_burst()); enqueue() writes the headers and copies the payload once into a fresh mbuf.
#include <rte_mbuf.h>

#include <algorithm>

#include "dpdk_interface.hpp"

namespace hoplink::dio {
namespace {

constexpr std::size_t kMaxBurst = 512;
constexpr std::size_t kMinMtu = 68;
constexpr std::size_t kMaxMtu = 9000;
constexpr std::size_t kControlSlack = 64;
// Port bursts one receive_burst() takes at most while its inbox has room: enough to fill a caller's array
// of a few bursts, few enough that one endpoint does not hold the loop.
constexpr int kPollRounds = 4;

class DpdkEndpoint final : public DatagramIo {
 public:
  DpdkEndpoint(std::shared_ptr<DpdkInterface::Core> core, std::unique_ptr<detail::WakeFd> wake)
      : core_(std::move(core)),
        wake_(std::move(wake)),
        inbox_(core_->config.endpoint_queue, io_, *wake_),
        tx_(core_->config.burst),
        held_(core_->config.endpoint_queue) {}

  ~DpdkEndpoint() override {
    end_wait();
    release_held();
    if (port_ != 0) core_->detach(port_);
  }

  Result<void, std::string> attach(std::uint16_t udp_port) {
    auto attached = core_->attach(udp_port, inbox_);
    if (!attached.ok()) return fail(attached.error());
    port_ = *attached;
    return {};
  }

  Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) override {
    release_held();
    const std::size_t burst = core_->config.burst;
    bool polled = false;
    for (int round = 0;
         round < kPollRounds && inbox_.size() < out.size() && inbox_.capacity() - inbox_.size() >= burst;
         ++round) {
      polled = true;
      if (core_->poll(&inbox_) < burst) break;
    }
    if (!polled) core_->service();
    const std::size_t count = std::min(out.size(), inbox_.size());
    for (std::size_t i = 0; i < count; ++i) {
      const detail::Inbox::Entry entry = inbox_.pop();
      out[i] = {entry.from,
                {rte_pktmbuf_mtod_offset(entry.mbuf, const std::byte*, entry.offset), entry.length}};
      held_[held_count_++] = entry.mbuf;
      ++io_.rx_datagrams;
      io_.rx_bytes += entry.length;
    }
    return count;
  }

  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override {
    if (to.family() != PeerAddress::Family::v4) {
      ++io_.tx_errors;
      return false;
    }
    if (payload.size() > max_payload()) {
      ++io_.tx_dropped_too_big;
      return false;
    }
    if (tx_.full()) {
      ++io_.tx_dropped_full;
      return false;
    }
    rte_mbuf* frame = nullptr;
    using Prepared = DpdkInterface::Core::Prepared;
    switch (core_->prepare_datagram(port_, to, payload, frame)) {
      case Prepared::ready:
        tx_.push(frame, static_cast<std::int32_t>(payload.size()));
        return true;
      case Prepared::parked:
        return true;
      case Prepared::unroutable:
        ++io_.tx_errors;
        return false;
      case Prepared::no_mbuf:
        ++io_.tx_dropped_full;
        return false;
      case Prepared::arp_queue_full:
        return false;  // DpdkCounters::arp_queue_overflow
    }
    return false;
  }

  Result<std::size_t, IoError> flush() override {
    core_->service();
    const auto sent = tx_.send(core_->port_id, [this](std::int32_t payload_bytes, std::uint16_t) {
      ++io_.tx_datagrams;
      io_.tx_bytes += static_cast<std::uint64_t>(payload_bytes);
    });
    core_->counters.tx_frames += sent.frames;
    if (tx_.size() > 0) return fail(IoError::would_block);
    return sent.datagrams;
  }

  std::size_t pending_tx() const override { return tx_.size(); }
  std::size_t tx_capacity() const override { return core_->config.burst; }
  std::size_t max_payload() const override { return core_->max_payload(); }
  int readiness_fd() const override { return -1; }
  PeerAddress local_address() const override { return core_->address(port_); }
  const IoCounters& counters() const override { return io_; }
  std::string_view backend_name() const override { return "dpdk"; }
  int last_errno() const override { return 0; }

  PollPolicy poll_policy() const override { return core_->config.poll; }

  int prepare_wait() override {
    if (!inbox_.waiting) {
      inbox_.waiting = true;
      core_->begin_wait();
    }
    if (inbox_.size() > 0) wake_->notify();  // another endpoint's poll left datagrams here
    return wake_->fd();
  }

  void end_wait() override {
    if (!inbox_.waiting) return;
    inbox_.waiting = false;
    wake_->clear();
    core_->end_wait();
  }

  const DpdkInterface::Core& core() const { return *core_; }

 private:
  void release_held() {
    rte_pktmbuf_free_bulk(held_.data(), static_cast<unsigned>(held_count_));
    held_count_ = 0;
  }

  // Destroyed in reverse: the mbufs go back before the core (and perhaps the port) goes.
  std::shared_ptr<DpdkInterface::Core> core_;
  std::unique_ptr<detail::WakeFd> wake_;
  IoCounters io_;
  detail::Inbox inbox_;
  detail::TxQueue tx_;
  std::vector<rte_mbuf*> held_;  // mbufs behind the payload views of the last receive_burst()
  std::size_t held_count_ = 0;
  std::uint16_t port_ = 0;
};

Result<void, std::string> check(const DpdkConfig& config) {
  if (config.address.family() != PeerAddress::Family::v4)
    return fail(std::string("DPDK address must be IPv4"));
  if (config.prefix_length > 32) return fail(std::string("prefix length over 32"));
  if (config.mtu < kMinMtu || config.mtu > kMaxMtu) {
    return fail("MTU " + std::to_string(config.mtu) + " outside " + std::to_string(kMinMtu) + ".." +
                std::to_string(kMaxMtu));
  }
  if (config.burst == 0 || config.burst > kMaxBurst) return fail(std::string("burst must be 1..512"));
  if (config.endpoint_queue < config.burst || config.endpoint_queue > 8192) {
    return fail(std::string("endpoint queue must be burst..8192 datagrams"));
  }
  const std::size_t needed = config.rx_descriptors + config.tx_descriptors + 2 * config.burst +
                             2 * config.endpoint_queue + config.arp_pending_limit + kControlSlack;
  if (config.pool_size < needed) {
    return fail("pool_size " + std::to_string(config.pool_size) + " below the " + std::to_string(needed) +
                " mbufs the descriptor rings, bursts, an endpoint and the ARP queue can hold");
  }
  return {};
}

}  // namespace

DpdkInterface::DpdkInterface(std::shared_ptr<Core> core) : core_(std::move(core)) {}
DpdkInterface::~DpdkInterface() = default;

Result<std::unique_ptr<DpdkInterface>, std::string> DpdkInterface::open(const DpdkConfig& config) {
  if (auto valid = check(config); !valid.ok()) return fail(valid.error());
  auto eal = detail::Eal::get(config.eal_args);
  if (!eal.ok()) return fail(eal.error());
  auto core = std::make_shared<Core>(config, *eal);
  if (auto started = core->start(); !started.ok()) return fail(started.error());
  return std::unique_ptr<DpdkInterface>(new DpdkInterface(std::move(core)));
}

Result<std::unique_ptr<DatagramIo>, std::string> DpdkInterface::open_endpoint(std::uint16_t udp_port) {
  auto wake = detail::WakeFd::create(core_->interrupt_fd());
  if (!wake.ok()) return fail(wake.error());
  auto endpoint = std::make_unique<DpdkEndpoint>(core_, std::move(wake).value());
  if (auto attached = endpoint->attach(udp_port); !attached.ok()) return fail(attached.error());
  return std::unique_ptr<DatagramIo>(std::move(endpoint));
}

DpdkCounters DpdkInterface::counters() const {
  return core_->snapshot();
}

DpdkInterfaceInfo DpdkInterface::info() const {
  return core_->info;
}

Result<std::unique_ptr<DatagramIo>, std::string> open_dpdk_port(const DpdkConfig& config) {
  if (config.address.port() == 0) return fail(std::string("DPDK port address needs a non-zero UDP port"));
  auto interface = DpdkInterface::open(config);
  if (!interface.ok()) return fail(interface.error());
  return interface.value()->open_endpoint(config.address.port());
}

std::optional<DpdkCounters> dpdk_counters(const DatagramIo& io) {
  if (const auto* endpoint = dynamic_cast<const DpdkEndpoint*>(&io)) return endpoint->core().snapshot();
  return std::nullopt;
}

}  // namespace hoplink::dio
