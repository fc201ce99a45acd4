#include "dpdk_io/memory_network.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

namespace hoplink::dio {
namespace detail {
namespace {

using Clock = MemoryNetwork::Clock;

// Idle payload buffers the network keeps for reuse; beyond this, returned ones are freed, so that a burst
// does not pin its peak memory for ever.
constexpr std::size_t kPoolLimit = 4096;
constexpr std::uint16_t kFirstEphemeralPort = 40000;

struct Datagram {
  PeerAddress from;  // the source address the receiver sees
  PeerAddress to;
  std::vector<std::byte> payload;  // a buffer from the network's pool
};

// A FIFO of at most `limit` elements whose storage grows (by doubling) only as far as it is used.
template <class T>
class Fifo {
 public:
  explicit Fifo(std::size_t limit) : limit_(limit) {}
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  bool full() const { return count_ == limit_; }
  // Requires !full().
  void push_back(T&& value) {
    if (count_ == slots_.size()) grow();
    slots_[(head_ + count_) % slots_.size()] = std::move(value);
    ++count_;
  }
  // Requires !empty().
  T pop_front() {
    T value = std::move(slots_[head_]);
    head_ = (head_ + 1) % slots_.size();
    --count_;
    return value;
  }

 private:
  void grow() {
    std::vector<T> larger(std::min(limit_, std::max<std::size_t>(16, 2 * slots_.size())));
    for (std::size_t i = 0; i < count_; ++i) larger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
    slots_.swap(larger);
    head_ = 0;
  }

  std::size_t limit_;
  std::vector<T> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

PeerAddress unspecified(PeerAddress::Family family, std::uint16_t port) {
  return family == PeerAddress::Family::v4 ? PeerAddress::v4({}, port) : PeerAddress::v6({}, port);
}

void validate(const Impairment& impairment, bool has_clock) {
  auto probability = [](double p) { return p >= 0 && p <= 1; };  // false for NaN too
  if (!probability(impairment.loss) || !probability(impairment.reorder) || !probability(impairment.duplicate))
    throw std::invalid_argument("MemoryNetwork: loss, reorder and duplicate are probabilities in [0, 1]");
  using std::chrono::microseconds;
  if (impairment.delay < microseconds{0} || impairment.jitter < microseconds{0} ||
      impairment.reorder_delay < microseconds{0})
    throw std::invalid_argument("MemoryNetwork: delay, jitter and reorder_delay must not be negative");
  const bool delays =
      impairment.delay > microseconds{0} || impairment.jitter > microseconds{0} || impairment.reorder > 0;
  if (delays && !has_clock)
    throw std::invalid_argument("MemoryNetwork: delay, jitter and reorder need a clock");
}

void validate(const MemoryNetworkConfig& config) {
  validate(config.impairment, static_cast<bool>(config.clock));
  if (config.queue_capacity == 0 || config.tx_batch == 0)
    throw std::invalid_argument("MemoryNetwork: queue_capacity and tx_batch must be at least 1");
  if (config.host_v4.family() != PeerAddress::Family::v4 ||
      config.host_v6.family() != PeerAddress::Family::v6)
    throw std::invalid_argument("MemoryNetwork: host_v4 must be IPv4, host_v6 IPv6");
}

}  // namespace

class NetworkEndpoint;

// The state the network and its endpoints share (see the header on ownership).
class MemoryNetworkCore {
 public:
  explicit MemoryNetworkCore(MemoryNetworkConfig config)
      : config_(std::move(config)), random_(config_.seed), filter_(std::move(config_.filter)) {}

  const MemoryNetworkConfig& config() const { return config_; }
  bool detached() const { return detached_; }
  // The network object is gone: nothing travels any more.
  void detach() {
    detached_ = true;
    in_flight_.clear();
    filter_ = nullptr;
    schedule_hook_ = nullptr;
    config_.clock = nullptr;
  }

  std::vector<std::byte> take_buffer(std::span<const std::byte> payload) {
    std::vector<std::byte> buffer;
    if (!pool_.empty()) {
      buffer = std::move(pool_.back());
      pool_.pop_back();
    }
    buffer.assign(payload.begin(), payload.end());  // the one copy of a datagram
    return buffer;
  }
  void recycle(std::vector<std::byte>&& buffer) {
    if (pool_.size() < kPoolLimit && buffer.capacity() > 0) pool_.push_back(std::move(buffer));
  }

  Result<std::unique_ptr<DatagramIo>, std::string> open(const std::shared_ptr<MemoryNetworkCore>& self,
                                                        const PeerAddress& bind);
  void unbind(const PeerAddress& address) {
    endpoints_.erase(address);
    if (--ports_in_use_[port_key(address)] == 0) ports_in_use_.erase(port_key(address));
  }

  // A datagram an endpoint flushed: through the filter and the impairment, then to its destination now or
  // into flight.
  void send(Datagram&& datagram);
  void deliver_due();
  std::optional<Clock::time_point> next_delivery() const {
    if (in_flight_.empty()) return std::nullopt;
    return in_flight_.front().due;
  }
  std::size_t in_flight() const { return in_flight_.size(); }

  void set_schedule_hook(std::function<void(Clock::time_point)> hook) {
    schedule_hook_ = std::move(hook);
    announced_.reset();
    announce();
  }
  void set_filter(MemoryNetworkFilter filter) { filter_ = std::move(filter); }
  void set_impairment(const Impairment& impairment) {
    validate(impairment, static_cast<bool>(config_.clock));
    config_.impairment = impairment;
  }
  const MemoryNetworkCounters& counters() const { return counters_; }

 private:
  struct InFlight {
    Clock::time_point due;
    std::uint64_t order;  // sending order, for FIFO among equal due times
    Datagram datagram;
  };
  // The heap comparator that puts the earliest (due, order) at the front.
  static bool later(const InFlight& a, const InFlight& b) {
    return a.due != b.due ? a.due > b.due : a.order > b.order;
  }
  static std::uint32_t port_key(const PeerAddress& address) {
    return static_cast<std::uint32_t>(address.family()) << 16 | address.port();
  }

  bool chance(double probability) {
    return probability > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < probability;
  }
  void schedule(Datagram&& datagram);
  void route(Datagram&& datagram);
  // Tells the hook when next_delivery() changed.
  void announce();

  MemoryNetworkConfig config_;
  std::mt19937_64 random_;
  MemoryNetworkFilter filter_;
  std::function<void(Clock::time_point)> schedule_hook_;
  std::optional<Clock::time_point> announced_;
  bool detached_ = false;
  std::unordered_map<PeerAddress, NetworkEndpoint*, PeerAddressHash> endpoints_;
  std::unordered_map<std::uint32_t, std::size_t> ports_in_use_;  // endpoints per (family, port)
  std::uint16_t next_ephemeral_ = kFirstEphemeralPort;
  std::vector<InFlight> in_flight_;  // a heap ordered by later()
  std::uint64_t sent_ = 0;
  std::vector<std::vector<std::byte>> pool_;
  MemoryNetworkCounters counters_;
};

class NetworkEndpoint final : public DatagramIo {
 public:
  // Takes ownership of `event_fd`.
  NetworkEndpoint(std::shared_ptr<MemoryNetworkCore> core, const PeerAddress& bound,
                  const PeerAddress& source, int event_fd)
      : core_(std::move(core)),
        bound_(bound),
        source_(source),
        event_fd_(event_fd),
        queue_(core_->config().queue_capacity) {
    batch_.reserve(core_->config().tx_batch);
  }
  NetworkEndpoint(const NetworkEndpoint&) = delete;
  NetworkEndpoint& operator=(const NetworkEndpoint&) = delete;
  ~NetworkEndpoint() override {
    core_->unbind(bound_);
    ::close(event_fd_);
    release_held();
    for (auto& datagram : batch_) core_->recycle(std::move(datagram.payload));
    while (!queue_.empty()) core_->recycle(queue_.pop_front().payload);
  }

  Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) override;
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override;
  Result<std::size_t, IoError> flush() override;

  std::size_t pending_tx() const override { return batch_.size(); }
  std::size_t tx_capacity() const override { return core_->config().tx_batch; }
  std::size_t max_payload() const override { return core_->config().max_payload; }
  int readiness_fd() const override { return event_fd_; }
  PeerAddress local_address() const override { return bound_; }
  const IoCounters& counters() const override { return counters_; }
  std::string_view backend_name() const override { return "memory"; }
  int last_errno() const override { return 0; }

  // The network hands over a datagram for this endpoint. Takes it (and returns true) unless the queue is
  // full.
  bool accept(Datagram& datagram) {
    if (queue_.full()) return false;
    queue_.push_back(std::move(datagram));
    if (!signalled_) {
      const std::uint64_t one = 1;
      // Cannot fail: the counter stays far below its maximum.
      [[maybe_unused]] const auto written = ::write(event_fd_, &one, sizeof one);
      signalled_ = true;
    }
    return true;
  }

 private:
  void release_held() {
    for (auto& datagram : held_) core_->recycle(std::move(datagram.payload));
    held_.clear();
  }

  std::shared_ptr<MemoryNetworkCore> core_;
  const PeerAddress bound_;
  const PeerAddress source_;  // bound_, or the network's host address when bound_ is unspecified
  const int event_fd_;
  bool signalled_ = false;      // event_fd_ is readable
  Fifo<Datagram> queue_;        // received, not yet handed out
  std::vector<Datagram> held_;  // handed out by the last receive_burst(); their views must stay valid
  std::vector<Datagram> batch_;
  IoCounters counters_;
};

Result<std::size_t, IoError> NetworkEndpoint::receive_burst(std::span<ReceivedDatagram> out) {
  release_held();
  if (queue_.empty() && core_->detached()) return fail(IoError::closed);
  const std::size_t count = std::min(out.size(), queue_.size());
  for (std::size_t i = 0; i < count; ++i) {
    held_.push_back(queue_.pop_front());
    const Datagram& datagram = held_.back();
    out[i] = {datagram.from, datagram.payload};
    ++counters_.rx_datagrams;
    counters_.rx_bytes += datagram.payload.size();
  }
  if (queue_.empty() && signalled_) {
    std::uint64_t count_read = 0;
    [[maybe_unused]] const auto read = ::read(event_fd_, &count_read, sizeof count_read);
    signalled_ = false;
  }
  return count;
}

bool NetworkEndpoint::enqueue(const PeerAddress& to, std::span<const std::byte> payload) {
  if (payload.size() > max_payload()) {
    ++counters_.tx_dropped_too_big;
    return false;
  }
  if (batch_.size() >= tx_capacity()) {
    ++counters_.tx_dropped_full;
    return false;
  }
  batch_.push_back({source_, to, core_->take_buffer(payload)});
  return true;
}

Result<std::size_t, IoError> NetworkEndpoint::flush() {
  const bool closed = core_->detached();
  std::size_t sent = 0;
  for (auto& datagram : batch_) {
    // As a kernel socket refuses a destination of the other family or port 0 (EINVAL).
    if (closed || datagram.to.family() != bound_.family() || datagram.to.port() == 0) {
      ++counters_.tx_errors;
      core_->recycle(std::move(datagram.payload));
      continue;
    }
    ++sent;
    ++counters_.tx_datagrams;
    counters_.tx_bytes += datagram.payload.size();
    core_->send(std::move(datagram));
  }
  batch_.clear();
  if (closed) return fail(IoError::closed);
  return sent;
}

Result<std::unique_ptr<DatagramIo>, std::string> MemoryNetworkCore::open(
    const std::shared_ptr<MemoryNetworkCore>& self, const PeerAddress& bind) {
  if (bind.family() == PeerAddress::Family::none) return fail(std::string("bind: no address"));
  PeerAddress address = bind;
  if (bind.port() == 0) {
    const std::size_t candidates = 65536 - kFirstEphemeralPort;
    for (std::size_t tried = 0; tried < candidates && address.port() == 0; ++tried) {
      const std::uint16_t port = next_ephemeral_;
      next_ephemeral_ = port == 65535 ? kFirstEphemeralPort : static_cast<std::uint16_t>(port + 1);
      if (!ports_in_use_.contains(port_key(bind.with_port(port)))) address = bind.with_port(port);
    }
    if (address.port() == 0) return fail("bind " + bind.to_string() + ": no free ephemeral port");
  } else if (endpoints_.contains(address)) {
    return fail("bind " + address.to_string() + ": address already in use");
  }
  const int event_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd < 0) return fail(std::string("eventfd: ") + std::strerror(errno));
  const PeerAddress& host = address.family() == PeerAddress::Family::v4 ? config_.host_v4 : config_.host_v6;
  const PeerAddress source = address.is_unspecified() ? host.with_port(address.port()) : address;
  auto endpoint = std::make_unique<NetworkEndpoint>(self, address, source, event_fd);
  endpoints_.emplace(address, endpoint.get());
  ++ports_in_use_[port_key(address)];
  return std::unique_ptr<DatagramIo>(std::move(endpoint));
}

void MemoryNetworkCore::send(Datagram&& datagram) {
  if (filter_ && !filter_(datagram.from, datagram.to, datagram.payload)) {
    ++counters_.filtered;
    recycle(std::move(datagram.payload));
    return;
  }
  const Impairment& impairment = config_.impairment;
  if (chance(impairment.loss)) {
    ++counters_.lost;
    recycle(std::move(datagram.payload));
    return;
  }
  if (chance(impairment.duplicate)) {
    ++counters_.duplicated;
    Datagram copy{datagram.from, datagram.to, take_buffer(datagram.payload)};
    schedule(std::move(datagram));
    schedule(std::move(copy));
    return;
  }
  schedule(std::move(datagram));
}

void MemoryNetworkCore::schedule(Datagram&& datagram) {
  const Impairment& impairment = config_.impairment;
  auto extra = impairment.delay;
  if (impairment.jitter.count() > 0) {
    extra += std::chrono::microseconds{
        std::uniform_int_distribution<std::int64_t>(0, impairment.jitter.count())(random_)};
  }
  if (chance(impairment.reorder)) {
    ++counters_.reordered;
    extra += impairment.reorder_delay;
  }
  const std::uint64_t order = sent_++;
  if (extra.count() == 0) {
    // Whatever fell due before now goes first, so that delivery stays in order of due time.
    if (!in_flight_.empty()) deliver_due();
    route(std::move(datagram));
    return;
  }
  in_flight_.push_back({config_.clock() + extra, order, std::move(datagram)});
  std::push_heap(in_flight_.begin(), in_flight_.end(), later);
  announce();
}

void MemoryNetworkCore::deliver_due() {
  if (in_flight_.empty()) return;
  const auto now = config_.clock();
  while (!in_flight_.empty() && in_flight_.front().due <= now) {
    std::pop_heap(in_flight_.begin(), in_flight_.end(), later);
    Datagram datagram = std::move(in_flight_.back().datagram);
    in_flight_.pop_back();
    route(std::move(datagram));
  }
  announce();
}

void MemoryNetworkCore::route(Datagram&& datagram) {
  auto found = endpoints_.find(datagram.to);
  if (found == endpoints_.end())
    found = endpoints_.find(unspecified(datagram.to.family(), datagram.to.port()));
  if (found == endpoints_.end()) {
    ++counters_.dropped_no_endpoint;
  } else if (found->second->accept(datagram)) {
    ++counters_.delivered;
    return;
  } else {
    ++counters_.dropped_queue_full;
  }
  recycle(std::move(datagram.payload));
}

void MemoryNetworkCore::announce() {
  const auto next = next_delivery();
  if (!next) {
    announced_.reset();
    return;
  }
  if (next == announced_) return;
  announced_ = next;
  if (schedule_hook_) schedule_hook_(*next);
}

}  // namespace detail

MemoryNetwork::MemoryNetwork(MemoryNetworkConfig config) {
  detail::validate(config);
  core_ = std::make_shared<detail::MemoryNetworkCore>(std::move(config));
}

MemoryNetwork::~MemoryNetwork() {
  core_->detach();
}

Result<std::unique_ptr<DatagramIo>, std::string> MemoryNetwork::open(const PeerAddress& bind) {
  return core_->open(core_, bind);
}

void MemoryNetwork::deliver_due() {
  core_->deliver_due();
}
std::optional<MemoryNetwork::Clock::time_point> MemoryNetwork::next_delivery() const {
  return core_->next_delivery();
}
std::size_t MemoryNetwork::in_flight() const {
  return core_->in_flight();
}
void MemoryNetwork::set_schedule_hook(std::function<void(Clock::time_point)> hook) {
  core_->set_schedule_hook(std::move(hook));
}
void MemoryNetwork::inject(const PeerAddress& from, const PeerAddress& to,
                           std::span<const std::byte> payload) {
  core_->send(detail::Datagram{from, to, core_->take_buffer(payload)});
}
void MemoryNetwork::set_filter(MemoryNetworkFilter filter) {
  core_->set_filter(std::move(filter));
}
void MemoryNetwork::set_impairment(const Impairment& impairment) {
  core_->set_impairment(impairment);
}
const MemoryNetworkCounters& MemoryNetwork::counters() const {
  return core_->counters();
}

}  // namespace hoplink::dio
