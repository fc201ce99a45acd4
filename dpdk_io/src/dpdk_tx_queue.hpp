// A fixed-capacity transmit queue of mbufs for one DPDK tx queue; what rte_eth_tx_burst does not take stays
// at the front, in order. Private to the dpdk_io_dpdk target.
#pragma once

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hoplink::dio::detail {

class TxQueue {
 public:
  explicit TxQueue(std::size_t capacity) : entries_(capacity), mbufs_(capacity) {}
  ~TxQueue() { rte_pktmbuf_free_bulk(mbufs_.data(), static_cast<unsigned>(count_)); }
  TxQueue(const TxQueue&) = delete;
  TxQueue& operator=(const TxQueue&) = delete;

  std::size_t size() const { return count_; }
  bool full() const { return count_ == mbufs_.size(); }

  // payload_bytes < 0: not a datagram (ARP, ICMP). source_port: the endpoint a datagram is credited to, read
  // now because a sent mbuf belongs to the driver.
  bool push(rte_mbuf* mbuf, std::int32_t payload_bytes, std::uint16_t source_port = 0) {
    if (full()) return false;
    mbufs_[count_] = mbuf;
    entries_[count_++] = {payload_bytes, source_port};
    return true;
  }

  struct Sent {
    std::size_t frames = 0;
    std::size_t datagrams = 0;
  };
  // Hands the queue to the port; credit(payload_bytes, source_port) is called for every datagram sent.
  template <class Credit>
  Sent send(std::uint16_t port, Credit&& credit) {
    Sent sent;
    if (count_ == 0) return sent;
    sent.frames = rte_eth_tx_burst(port, 0, mbufs_.data(), static_cast<std::uint16_t>(count_));
    for (std::size_t i = 0; i < sent.frames; ++i) {
      if (entries_[i].payload_bytes < 0) continue;
      ++sent.datagrams;
      credit(entries_[i].payload_bytes, entries_[i].source_port);
    }
    const auto first = static_cast<std::ptrdiff_t>(sent.frames);
    const auto end = static_cast<std::ptrdiff_t>(count_);
    std::move(mbufs_.begin() + first, mbufs_.begin() + end, mbufs_.begin());
    std::move(entries_.begin() + first, entries_.begin() + end, entries_.begin());
    count_ -= sent.frames;
    return sent;
  }

 private:
  struct Entry {
    std::int32_t payload_bytes = -1;
    std::uint16_t source_port = 0;
  };
  std::vector<Entry> entries_;
  std::vector<rte_mbuf*> mbufs_;  // apart, in the array form rte_eth_tx_burst takes
  std::size_t count_ = 0;
};

}  // namespace hoplink::dio::detail
