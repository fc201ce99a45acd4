#include "dtls/cookie.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "openssl_util.hpp"

namespace hoplink::dtls {

Result<CookieJar, Error> CookieJar::create(std::chrono::seconds rotation_interval, TimePoint now) {
  if (rotation_interval <= std::chrono::seconds::zero()) {
    return fail(Error{ErrorKind::invalid_argument, "cookie rotation interval must be positive"});
  }
  CookieJar jar(rotation_interval, now);
  if (RAND_bytes(jar.current_.data(), jar.current_.size()) != 1 ||
      RAND_bytes(jar.previous_.data(), jar.previous_.size()) != 1) {
    return fail(Error{ErrorKind::crypto, openssl_error_text("cookie secret")});
  }
  return jar;
}

void CookieJar::rotate_if_due(TimePoint now) {
  if (now < rotated_at_ + interval_) return;
  Secret fresh;
  if (RAND_bytes(fresh.data(), fresh.size()) != 1) return;
  if (now < rotated_at_ + 2 * interval_) {
    previous_ = current_;
    rotated_at_ += interval_;
  } else {
    // Idle for two intervals or more: the old current secret is too old to honour as "previous".
    if (RAND_bytes(previous_.data(), previous_.size()) != 1) return;
    rotated_at_ = now;
  }
  current_ = fresh;
}

// HMAC-SHA256(secret, family || address bytes || port big-endian).
CookieJar::Cookie CookieJar::compute(const Secret& secret, const PeerAddress& peer) {
  std::array<std::uint8_t, 1 + 16 + 2> input{};
  std::size_t length = 0;
  input[length++] = static_cast<std::uint8_t>(peer.family());
  for (std::uint8_t b : peer.address_bytes()) input[length++] = b;
  input[length++] = static_cast<std::uint8_t>(peer.port() >> 8);
  input[length++] = static_cast<std::uint8_t>(peer.port() & 0xff);
  Cookie cookie{};
  unsigned int out_length = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), input.data(), length, cookie.data(),
           &out_length) == nullptr) {
    cookie.fill(0);  // never verifies: verify() rejects an all-zero result below
  }
  return cookie;
}

CookieJar::Cookie CookieJar::make(const PeerAddress& peer, TimePoint now) {
  rotate_if_due(now);
  return compute(current_, peer);
}

bool CookieJar::verify(const PeerAddress& peer, std::span<const std::uint8_t> cookie, TimePoint now) {
  rotate_if_due(now);
  if (cookie.size() != cookie_size) return false;
  static constexpr Cookie zero{};
  for (const Secret* secret : {&current_, &previous_}) {
    Cookie expected = compute(*secret, peer);
    if (expected != zero && CRYPTO_memcmp(expected.data(), cookie.data(), cookie_size) == 0) return true;
  }
  return false;
}

}  // namespace hoplink::dtls
