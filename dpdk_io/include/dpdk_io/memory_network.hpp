// An in-process network of DatagramIo endpoints, for tests and simulations: one process runs a bridge and
// several clients, each endpoint bound to its own address, with optional loss, delay, jitter, reordering and
// duplication. A generalisation of the memory pair (memory_pair.hpp), which stays the simpler polled backend.
//
// Sans-I/O: the network never reads a clock of its own and starts no timer. Time comes from the configured
// clock (a fake one in tests); datagrams that are delayed wait in flight until the owner calls deliver_due(),
// at the time the schedule hook names. Without delay a flushed datagram is in its destination's queue when
// flush() returns.
//
// Each endpoint is a descriptor backend: readiness_fd() is an eventfd that polls readable while datagrams
// wait and always polls writable; flush() never returns would_block (a full destination queue drops, as a
// full UDP receive buffer does).
//
// Ownership: the network and its endpoints share their state; either may be destroyed first. An endpoint
// outliving its network still hands out what it had received, then receive_burst() returns IoError::closed,
// and its flush() drops the batch (counted as tx_errors) and returns IoError::closed.
// Not thread-safe: one owner, one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"

namespace hoplink::dio {

namespace detail {
class MemoryNetworkCore;
}

// What the network does to every datagram it carries, drawn from the network's own generator (seeded by
// MemoryNetworkConfig::seed), so that a run is the same every time with the same seed and standard library.
// A flushed datagram passes the filter, then may be lost, then may be duplicated; each copy then draws its
// delay.
struct Impairment {
  double loss = 0;                     // probability that a datagram is lost
  std::chrono::microseconds delay{0};  // one-way delay of every datagram
  // Plus a uniform extra delay in [0, jitter]: datagrams sent close together may swap, as on a real path.
  std::chrono::microseconds jitter{0};
  // Probability that a datagram is held back by reorder_delay more, so that the ones sent after it overtake
  // it.
  double reorder = 0;
  std::chrono::microseconds reorder_delay{1000};
  double duplicate = 0;  // probability that a datagram arrives twice (the copy draws its own delay)
};

struct MemoryNetworkCounters {
  std::uint64_t delivered = 0;            // datagrams put in a destination's queue (duplicates included)
  std::uint64_t lost = 0;                 // by Impairment::loss
  std::uint64_t filtered = 0;             // by the filter
  std::uint64_t duplicated = 0;           // extra copies made by Impairment::duplicate
  std::uint64_t reordered = 0;            // datagrams held back by Impairment::reorder
  std::uint64_t dropped_queue_full = 0;   // the destination had queue_capacity datagrams waiting
  std::uint64_t dropped_no_endpoint = 0;  // nothing was bound to the destination when the datagram arrived
};

// Sees every flushed datagram before the impairment; false loses it (counted as filtered). `from` is the
// source address the receiver would see. Called inside flush(); must not call into the network or its
// endpoints.
using MemoryNetworkFilter =
    std::function<bool(const PeerAddress& from, const PeerAddress& to, std::span<const std::byte> payload)>;

struct MemoryNetworkConfig {
  using Clock = std::chrono::steady_clock;
  // Required when the impairment delays anything (delay, jitter or reorder); without a clock the network
  // has no time and delivers every datagram at once.
  std::function<Clock::time_point()> clock;
  // The source address of endpoints bound to an unspecified address: a datagram from 0.0.0.0:P appears to
  // come from host_v4:P, one from [::]:P from [host_v6]:P. Their ports are ignored.
  PeerAddress host_v4 = PeerAddress::v4({127, 0, 0, 1}, 0);
  PeerAddress host_v6 = PeerAddress::v6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0);
  std::size_t queue_capacity = 4096;  // datagrams waiting per endpoint; beyond it they are dropped
  std::size_t max_payload = 9000;     // bytes; enqueue() refuses larger payloads
  std::size_t tx_batch = 64;          // each endpoint's tx_capacity()
  Impairment impairment;
  std::uint64_t seed = 1;
  MemoryNetworkFilter filter;  // none: nothing is filtered
};

class MemoryNetwork {
 public:
  using Clock = std::chrono::steady_clock;

  // Throws std::invalid_argument for a configuration that cannot work (a probability outside [0, 1], a
  // negative duration, a zero capacity, a delay without a clock).
  explicit MemoryNetwork(MemoryNetworkConfig config = {});
  ~MemoryNetwork();
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // An endpoint bound to `bind` (IPv4 or IPv6). Port 0 picks a port no endpoint of that family uses, from
  // 40000 up. Fails, with a message naming the address, when `bind` is already bound (exactly: 0.0.0.0:P and
  // 10.0.0.1:P can both be bound) or has no family, or when every ephemeral port is taken.
  Result<std::unique_ptr<DatagramIo>, std::string> open(const PeerAddress& bind);

  // Moves every datagram in flight whose due time is <= clock() to its destination: the endpoint bound
  // exactly to the destination address, else the one bound to the unspecified address of its family and its
  // port, else none (dropped_no_endpoint). In order of due time, first sent first among equal times.
  void deliver_due();
  // The earliest due time in flight, nullopt when nothing is.
  std::optional<Clock::time_point> next_delivery() const;
  std::size_t in_flight() const;

  // Called with next_delivery() whenever it changes to a new time: from flush() when a datagram becomes the
  // earliest in flight, from deliver_due() when a later one becomes the earliest, and at once from here when
  // something is already in flight. The owner (re)arms one timer for that time and calls deliver_due() when
  // it fires. Must not call into the network or its endpoints; an empty function removes the hook.
  void set_schedule_hook(std::function<void(Clock::time_point)> hook);
  // A datagram from any source address, bound or not, as a host that forges its source would send it:
  // through the filter and the impairment like a flushed one. For tests of what strangers can do.
  void inject(const PeerAddress& from, const PeerAddress& to, std::span<const std::byte> payload);
  void set_filter(MemoryNetworkFilter filter);
  // Applies to datagrams flushed from now on. Throws std::invalid_argument as the constructor does.
  void set_impairment(const Impairment& impairment);

  const MemoryNetworkCounters& counters() const;

 private:
  std::shared_ptr<detail::MemoryNetworkCore> core_;
};

}  // namespace hoplink::dio
