// A keyed hash of a few bytes for tables indexed by network addresses that strangers choose: with a secret
// random key they cannot pick addresses that collide. Not a MAC: nothing it computes leaves the process.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace hoplink::transport {

inline std::uint64_t random_hash_key() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

inline std::uint64_t keyed_hash(std::uint64_t key, std::span<const std::uint8_t> bytes,
                                std::uint64_t salt = 0) {
  // splitmix64's finaliser after every byte: each input bit moves about half the output bits.
  auto mix = [](std::uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
  };
  std::uint64_t h = mix(key ^ salt);
  for (const std::uint8_t b : bytes) h = mix(h ^ b);
  return mix(h ^ key);
}

}  // namespace hoplink::transport
