#include "cc/pacer.hpp"

#include <algorithm>
#include <limits>

namespace hoplink::cc {

namespace {

// Tokens are earned in millionths of a byte (rate in bytes per second times microseconds).
constexpr std::uint64_t kMicro = 1'000'000;

}  // namespace

// The new rate applies from the last refill on: set_rate has no `now`, and the error is at most what the
// old and new rates differ by over the time since the caller last looked at the bucket.
void Pacer::set_rate(std::uint64_t bytes_per_second, std::uint64_t burst_bytes, std::uint32_t mss) {
  rate_ = bytes_per_second;
  const std::uint64_t burst = std::max<std::uint64_t>(burst_bytes, mss);
  burst_ =
      static_cast<std::int64_t>(std::min<std::uint64_t>(burst, std::numeric_limits<std::int32_t>::max()));
  if (tokens_ > burst_) {
    tokens_ = burst_;
    fraction_ = 0;
  }
}

void Pacer::refill(Time now) {
  if (!started_) {
    // A new flow may send its first burst at once.
    started_ = true;
    last_ = now;
    tokens_ = burst_;
    fraction_ = 0;
    return;
  }
  if (now <= last_) return;
  if (rate_ == 0 || tokens_ >= burst_) {
    last_ = now;
    return;
  }
  // Only the time needed to fill the bucket counts (which also keeps rate * elapsed from overflowing).
  const auto missing = static_cast<std::uint64_t>(burst_ - tokens_) * kMicro;
  const std::uint64_t fill_us = missing / rate_ + 1;
  const auto elapsed_us = std::min(static_cast<std::uint64_t>((now - last_).count()), fill_us);
  const std::uint64_t earned = rate_ * elapsed_us + fraction_;
  tokens_ += static_cast<std::int64_t>(earned / kMicro);
  fraction_ = earned % kMicro;
  if (tokens_ >= burst_) {
    tokens_ = burst_;
    fraction_ = 0;
  }
  last_ = now;
}

std::uint64_t Pacer::allowance(Time now) {
  refill(now);
  if (rate_ == 0) return std::numeric_limits<std::uint64_t>::max();
  return tokens_ > 0 ? static_cast<std::uint64_t>(tokens_) : 0;
}

void Pacer::on_sent(Time now, std::uint64_t bytes) {
  refill(now);
  if (rate_ == 0) return;  // unpaced: nothing to account
  tokens_ -=
      static_cast<std::int64_t>(std::min<std::uint64_t>(bytes, std::numeric_limits<std::int32_t>::max()));
}

Time Pacer::next_release(Time now, std::uint64_t bytes) {
  refill(now);
  if (rate_ == 0) return now;
  // A packet larger than the bucket could never fit: it goes when the bucket is full.
  const auto need =
      static_cast<std::int64_t>(std::min<std::uint64_t>(bytes, static_cast<std::uint64_t>(burst_)));
  if (tokens_ >= need) return now;
  const std::uint64_t deficit = static_cast<std::uint64_t>(need - tokens_) * kMicro - fraction_;
  const std::uint64_t wait_us = (deficit + rate_ - 1) / rate_;
  return now + Time(static_cast<std::int64_t>(wait_us));
}

}  // namespace hoplink::cc
