// A windowed max (or min) filter over a virtual clock (packet-timed rounds, ProbeBW cycles, microseconds),
// after Kathleen Nichols' algorithm: it keeps the best, second-best and third-best samples of the window,
// each younger than the one before, so that when the best one ages out a good successor is already known, in
// constant space. BBR uses it for BBR.max_bw (clock: ProbeBW cycles) and BBR.extra_acked (clock: rounds).
#pragma once

#include <array>
#include <cstdint>
#include <functional>

namespace hoplink::cc {

// Better(a, b) is true when a is strictly better than b: std::greater for a max filter, std::less for a min.
// A sample taken at `time` stays in the window while (now - time) < window, so a window of 2 ProbeBW cycles
// covers the current cycle and the previous one, as the draft's BBR.MaxBwFilterLen intends.
template <typename T, typename Better>
class WindowedFilter {
 public:
  explicit WindowedFilter(std::uint64_t window, T initial = T{}) : window_(window) { reset(initial, 0); }

  void reset(T value, std::uint64_t time) { samples_.fill(Sample{value, time}); }
  void set_window(std::uint64_t window) { window_ = window; }
  std::uint64_t window() const { return window_; }
  T best() const { return samples_[0].value; }

  // Adds a sample taken at `time` (never earlier than the previous one) and returns the best in the window.
  T update(T value, std::uint64_t time) {
    const Sample sample{value, time};
    // A new best, or nothing left in the window: the sample alone stands for the whole window.
    if (!better_(samples_[0].value, value) || time - samples_[2].time >= window_) {
      samples_.fill(sample);
      return value;
    }
    if (!better_(samples_[1].value, value)) {
      samples_[1] = samples_[2] = sample;
    } else if (!better_(samples_[2].value, value)) {
      samples_[2] = sample;
    }
    return expire(sample);
  }

 private:
  struct Sample {
    T value;
    std::uint64_t time;
  };

  // Ages the best out once it leaves the window; also refreshes the second and third choices when they have
  // stayed equal to the best for a quarter (half) of the window, so they remember something younger.
  T expire(const Sample& sample) {
    const std::uint64_t age = sample.time - samples_[0].time;
    if (age >= window_) {
      samples_[0] = samples_[1];
      samples_[1] = samples_[2];
      samples_[2] = sample;
      if (sample.time - samples_[0].time >= window_) {
        samples_[0] = samples_[1];
        samples_[1] = samples_[2];
      }
    } else if (samples_[1].time == samples_[0].time && age > window_ / 4) {
      samples_[1] = samples_[2] = sample;
    } else if (samples_[2].time == samples_[1].time && age > window_ / 2) {
      samples_[2] = sample;
    }
    return samples_[0].value;
  }

  std::uint64_t window_;
  std::array<Sample, 3> samples_{};
  [[no_unique_address]] Better better_{};
};

template <typename T>
using WindowedMaxFilter = WindowedFilter<T, std::greater<T>>;
template <typename T>
using WindowedMinFilter = WindowedFilter<T, std::less<T>>;

}  // namespace hoplink::cc
