// The Extended ORPort's SAFE_COOKIE material: the cookie file, nonces and the two HMACs.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "pt/ext_or_client.hpp"

namespace hoplink::pt {
namespace {

constexpr std::string_view kCookieHeader = "! Extended ORPort Auth Cookie !\x0a";
constexpr std::string_view kServerLabel = "ExtORPort authentication server-to-client hash";
constexpr std::string_view kClientLabel = "ExtORPort authentication client-to-server hash";

std::array<std::byte, 32> hmac(const AuthCookie& cookie, std::string_view label, const Nonce& client_nonce,
                               const Nonce& server_nonce) {
  std::array<unsigned char, kClientLabel.size() + 64> message{};
  static_assert(kClientLabel.size() == kServerLabel.size());
  std::memcpy(message.data(), label.data(), label.size());
  std::memcpy(message.data() + label.size(), client_nonce.data(), client_nonce.size());
  std::memcpy(message.data() + label.size() + 32, server_nonce.data(), server_nonce.size());

  std::array<std::byte, 32> digest{};
  unsigned int length = 0;
  const auto* result = HMAC(EVP_sha256(), cookie.data(), static_cast<int>(cookie.size()), message.data(),
                            message.size(), reinterpret_cast<unsigned char*>(digest.data()), &length);
  // HMAC-SHA256 over a fixed-size buffer only fails when OpenSSL itself is broken; carrying on with a
  // zero digest would be worse than stopping.
  if (result == nullptr || length != digest.size()) {
    std::fputs("hoplink: HMAC-SHA256 failed in OpenSSL\n", stderr);
    std::abort();
  }
  return digest;
}

}  // namespace

Result<AuthCookie, std::string> parse_auth_cookie(std::span<const std::byte> file_contents) {
  if (file_contents.size() != kCookieHeader.size() + 32) {
    return fail("auth cookie file is " + std::to_string(file_contents.size()) + " bytes, not 64");
  }
  if (std::memcmp(file_contents.data(), kCookieHeader.data(), kCookieHeader.size()) != 0) {
    return fail(std::string("auth cookie file has the wrong header"));
  }
  AuthCookie cookie;
  std::memcpy(cookie.data(), file_contents.data() + kCookieHeader.size(), cookie.size());
  return cookie;
}

Nonce random_nonce() {
  Nonce nonce;
  // A predictable nonce would let a replayed handshake through, so there is no fallback.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), static_cast<int>(nonce.size())) != 1) {
    std::fputs("hoplink: RAND_bytes failed in OpenSSL\n", stderr);
    std::abort();
  }
  return nonce;
}

std::array<std::byte, 32> ext_or_server_hash(const AuthCookie& cookie, const Nonce& client_nonce,
                                             const Nonce& server_nonce) {
  return hmac(cookie, kServerLabel, client_nonce, server_nonce);
}

std::array<std::byte, 32> ext_or_client_hash(const AuthCookie& cookie, const Nonce& client_nonce,
                                             const Nonce& server_nonce) {
  return hmac(cookie, kClientLabel, client_nonce, server_nonce);
}

}  // namespace hoplink::pt
