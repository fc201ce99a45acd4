#include "dpdk_io/memory_pair.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>
#include <vector>

namespace hoplink::dio {
namespace {

// Transmit batch of each endpoint, like the UDP backend's default burst. Capped by the queue capacity.
constexpr std::size_t kMaxBatch = 64;

// One datagram buffer from the shared pool. Buffers move between a transmit batch and the peer's queue by
// swapping pointers, so a datagram is copied once, in enqueue(), as the interface promises.
struct Slot {
  std::byte* data = nullptr;
  std::size_t length = 0;
  PeerAddress address;  // destination in a transmit batch, source in a receive queue
};

// A fixed-size FIFO of slots; [head, head + count) modulo size is in use.
class SlotRing {
 public:
  void assign(std::byte*& next_buffer, std::size_t slots, std::size_t buffer_bytes) {
    slots_.resize(slots);
    for (auto& slot : slots_) {
      slot.data = next_buffer;
      next_buffer += buffer_bytes;
    }
  }
  std::size_t size() const { return count_; }
  std::size_t capacity() const { return slots_.size(); }
  bool full() const { return count_ == slots_.size(); }
  Slot& at(std::size_t index) { return slots_[(head_ + index) % slots_.size()]; }
  Slot& front() { return at(0); }
  // The first free slot; push_back() makes it part of the ring.
  Slot& back_free() { return at(count_); }
  void push_back() { ++count_; }
  void pop_front(std::size_t count) {
    head_ = (head_ + count) % slots_.size();
    count_ -= count;
  }

 private:
  std::vector<Slot> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

// Everything both endpoints touch. Lives as long as either endpoint, so the views one endpoint handed out
// stay valid whatever happens to the other.
struct Shared {
  explicit Shared(const MemoryPairConfig& config)
      : addresses{config.a, config.b},
        max_payload(config.max_payload),
        batch(std::min(config.capacity, kMaxBatch)),
        deliver(config.deliver),
        pool((2 * config.capacity + 2 * batch) * config.max_payload) {
    std::byte* next = pool.data();
    for (std::size_t side = 0; side < 2; ++side) {
      inbound[side].assign(next, config.capacity, max_payload);
      outbound[side].assign(next, batch, max_payload);
    }
  }

  const std::array<PeerAddress, 2> addresses;
  const std::size_t max_payload;
  const std::size_t batch;
  const std::function<bool(const PeerAddress&, std::span<const std::byte>)> deliver;
  std::vector<std::byte> pool;
  std::array<SlotRing, 2> inbound;   // datagrams waiting for endpoint `side`
  std::array<SlotRing, 2> outbound;  // endpoint `side`'s transmit batch
  std::array<bool, 2> alive{true, true};
};

class MemoryEndpoint final : public DatagramIo {
 public:
  MemoryEndpoint(std::shared_ptr<Shared> shared, std::size_t side)
      : shared_(std::move(shared)), side_(side), peer_(1 - side) {}
  MemoryEndpoint(const MemoryEndpoint&) = delete;
  MemoryEndpoint& operator=(const MemoryEndpoint&) = delete;
  ~MemoryEndpoint() override { shared_->alive[side_] = false; }

  Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) override;
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override;
  Result<std::size_t, IoError> flush() override;

  std::size_t pending_tx() const override { return shared_->outbound[side_].size(); }
  std::size_t tx_capacity() const override { return shared_->batch; }
  std::size_t max_payload() const override { return shared_->max_payload; }
  int readiness_fd() const override { return -1; }
  PeerAddress local_address() const override { return shared_->addresses[side_]; }
  const IoCounters& counters() const override { return counters_; }
  std::string_view backend_name() const override { return "memory"; }
  int last_errno() const override { return 0; }

 private:
  std::shared_ptr<Shared> shared_;
  const std::size_t side_;
  const std::size_t peer_;
  IoCounters counters_;
  // Slots at the head of our inbound queue whose views the last receive_burst() handed out. They keep their
  // place (and so count against the capacity) until the next receive_burst(), like mbufs held by a caller.
  std::size_t held_ = 0;
};

Result<std::size_t, IoError> MemoryEndpoint::receive_burst(std::span<ReceivedDatagram> out) {
  auto& queue = shared_->inbound[side_];
  queue.pop_front(held_);
  held_ = std::min(out.size(), queue.size());
  for (std::size_t i = 0; i < held_; ++i) {
    const Slot& slot = queue.at(i);
    out[i] = {slot.address, {slot.data, slot.length}};
    ++counters_.rx_datagrams;
    counters_.rx_bytes += slot.length;
  }
  return held_;
}

bool MemoryEndpoint::enqueue(const PeerAddress& to, std::span<const std::byte> payload) {
  if (payload.size() > shared_->max_payload) {
    ++counters_.tx_dropped_too_big;
    return false;
  }
  auto& batch = shared_->outbound[side_];
  if (batch.full()) {
    ++counters_.tx_dropped_full;
    return false;
  }
  Slot& slot = batch.back_free();
  if (!payload.empty()) std::memcpy(slot.data, payload.data(), payload.size());
  slot.length = payload.size();
  slot.address = to;
  batch.push_back();
  return true;
}

Result<std::size_t, IoError> MemoryEndpoint::flush() {
  auto& batch = shared_->outbound[side_];
  auto& queue = shared_->inbound[peer_];
  const PeerAddress& self = shared_->addresses[side_];
  std::size_t sent = 0;
  while (batch.size() > 0) {
    Slot& slot = batch.front();
    // Only the peer's address leads anywhere: anything else is refused like a datagram with no route.
    if (slot.address != shared_->addresses[peer_]) {
      ++counters_.tx_errors;
      batch.pop_front(1);
      continue;
    }
    // A live peer that does not read pushes back; a destroyed one is a closed port: datagrams vanish.
    const bool peer_alive = shared_->alive[peer_];
    if (peer_alive && queue.full()) return fail(IoError::would_block);
    ++sent;
    ++counters_.tx_datagrams;
    counters_.tx_bytes += slot.length;
    // The hook runs inside flush() and must not call back into either endpoint.
    const bool delivered =
        peer_alive && (!shared_->deliver || shared_->deliver(self, {slot.data, slot.length}));
    if (delivered) {
      Slot& destination = queue.back_free();
      std::swap(destination.data, slot.data);
      destination.length = slot.length;
      destination.address = self;
      queue.push_back();
    }
    batch.pop_front(1);
  }
  return sent;
}

}  // namespace

std::pair<std::unique_ptr<DatagramIo>, std::unique_ptr<DatagramIo>> make_memory_pair(
    const MemoryPairConfig& config) {
  if (config.capacity == 0) throw std::invalid_argument("make_memory_pair: capacity must be at least 1");
  auto shared = std::make_shared<Shared>(config);
  return {std::make_unique<MemoryEndpoint>(shared, 0), std::make_unique<MemoryEndpoint>(shared, 1)};
}

}  // namespace hoplink::dio
