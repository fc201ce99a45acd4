// Error values of the DTLS layer. Nothing in dtls/ throws across its API.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace hoplink::dtls {

// Every dtls/ call takes the current time from the caller; nothing reads a clock.
using TimePoint = std::chrono::steady_clock::time_point;

enum class ErrorKind : std::uint8_t {
  none,
  invalid_argument,      // bad configuration or call (oversized record, bad fingerprint text)
  fingerprint_missing,   // a client was asked to connect without the bridge's fingerprint
  fingerprint_mismatch,  // the peer's certificate does not hash to the expected fingerprint
  identity_storage,      // the key/certificate files could not be read, written or parsed
  crypto,                // OpenSSL failed outside a handshake (key generation, RNG, context setup)
  handshake_failed,      // protocol failure or fatal alert during the handshake
  handshake_timeout,     // the handshake did not finish within SessionConfig::handshake_timeout
  protocol,              // fatal error or alert after the handshake
  not_open,              // send() before the handshake finished or after the session ended
};
std::string_view to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::none;
  std::string message;  // one line for a LOG line, already says what to do where that is known
};

}  // namespace hoplink::dtls
