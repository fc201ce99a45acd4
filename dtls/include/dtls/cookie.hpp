// Stateless DTLS cookies (RFC 6347 4.2.1): HMAC-SHA256 over the peer's address and port under a secret that
// rotates every `rotation_interval`. A cookie verifies under the current or the previous secret, so it is
// accepted for at least one interval and at most two after it was made.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "dtls/error.hpp"

namespace hoplink::dtls {

class CookieJar {
 public:
  static constexpr std::size_t cookie_size = 32;
  using Cookie = std::array<std::uint8_t, cookie_size>;

  // Draws both secrets from the OpenSSL RNG. Error (crypto) if it fails or the interval is not positive.
  static Result<CookieJar, Error> create(std::chrono::seconds rotation_interval, TimePoint now);

  // Both rotate first when `now` has reached the next rotation time. If the RNG fails at a rotation the
  // old secrets stay in use and the rotation is retried on the next call.
  Cookie make(const PeerAddress& peer, TimePoint now);
  bool verify(const PeerAddress& peer, std::span<const std::uint8_t> cookie, TimePoint now);

  std::chrono::seconds rotation_interval() const { return interval_; }

 private:
  using Secret = std::array<std::uint8_t, 32>;
  CookieJar(std::chrono::seconds interval, TimePoint now) : interval_(interval), rotated_at_(now) {}
  void rotate_if_due(TimePoint now);
  static Cookie compute(const Secret& secret, const PeerAddress& peer);

  std::chrono::seconds interval_;
  TimePoint rotated_at_;
  Secret current_{};
  Secret previous_{};
};

}  // namespace hoplink::dtls
