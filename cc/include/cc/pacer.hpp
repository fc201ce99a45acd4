// A token-bucket pacer, sans-I/O: how many bytes may leave now at a given rate, and when the next packet may
// leave. The caller sends while allowance() covers a packet, reports each with on_sent(), and otherwise waits
// until next_release(). No allocation, no clock of its own.
#pragma once

#include <chrono>
#include <cstdint>

#include "cc/bbr.hpp"

namespace hoplink::cc {

class Pacer {
 public:
  // rate in bytes per second (0: unpaced, allowance is unlimited); burst: the most the bucket holds (the
  // model's send quantum), never below one packet of `mss` bytes.
  void set_rate(std::uint64_t bytes_per_second, std::uint64_t burst_bytes, std::uint32_t mss);

  // Bytes that may leave at `now` (refills the bucket up to the burst).
  std::uint64_t allowance(Time now);
  // `bytes` left at `now` (may exceed the allowance by less than one packet: the bucket goes negative and the
  // next release waits for it).
  void on_sent(Time now, std::uint64_t bytes);
  // The earliest time at which a packet of `bytes` fits the bucket (now or later).
  Time next_release(Time now, std::uint64_t bytes);

  std::uint64_t rate() const { return rate_; }

 private:
  void refill(Time now);

  std::uint64_t rate_ = 0;
  std::int64_t burst_ = 0;
  std::int64_t tokens_ = 0;     // bytes; may go below zero by less than one packet
  std::uint64_t fraction_ = 0;  // millionths of a byte earned but not yet a whole token, so no rate is lost
  Time last_{0};
  bool started_ = false;
};

}  // namespace hoplink::cc
