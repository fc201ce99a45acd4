// A small deterministic pseudo-random generator (splitmix64) for BBR's randomized probing times: the same
// seed gives the same sequence, so simulations and tests are reproducible. Not for anything secret.
#pragma once

#include <cstdint>

namespace hoplink::cc {

class Prng {
 public:
  explicit Prng(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // Uniform in [low, high].
  std::uint64_t between(std::uint64_t low, std::uint64_t high) { return low + next() % (high - low + 1); }

 private:
  std::uint64_t state_;
};

}  // namespace hoplink::cc
