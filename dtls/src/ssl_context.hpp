// SSL_CTX set-up shared by clients and servers (DTLS 1.2, AEAD suites, no tickets, no renegotiation), and the
// per-SSL contexts that OpenSSL's callbacks reach through SSL / SSL_CTX user pointers.
#pragma once

#include <optional>
#include <string>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "dtls/cookie.hpp"
#include "dtls/error.hpp"
#include "dtls/identity.hpp"
#include "openssl_util.hpp"

namespace hoplink::dtls {

inline constexpr const char* cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";

// What the server's cookie callbacks see (SSL app data). In the front door `jar` makes and checks cookies
// and `verified` records the cookie that passed; in an accepted session `jar` is null and only the cookie
// the front door verified is accepted again (OpenSSL re-checks the ClientHello it buffered).
struct CookieBinding {
  CookieJar* jar = nullptr;
  PeerAddress peer;
  TimePoint now{};
  std::optional<CookieJar::Cookie> verified;
};
void bind_cookie(SSL* ssl, CookieBinding* binding);

// What the client's certificate check sees (SSL_CTX verify-callback argument).
struct FingerprintCheck {
  std::string expected;  // 64 lower-case hex
  bool checked = false;  // a certificate was presented and matched
  std::string failure;   // set when the peer presented no certificate or a different one
};

Result<SslCtxPtr, Error> make_server_context(const Identity& identity);
Result<SslCtxPtr, Error> make_client_context(FingerprintCheck* check);

// Configures one SSL object: the OpenSSL-side retransmission timer is parked (the session owns the timing,
// see session.cpp) and the link MTU is set. Must be called again after DTLSv1_listen (SSL_clear drops the
// timer callback).
bool configure_ssl(SSL* ssl, std::size_t datagram_size, long mtu_overhead);

// Normalises a fingerprint from a bridge line: 64 hex digits, either case, optional ':' separators.
std::optional<std::string> normalise_fingerprint(std::string_view text);

}  // namespace hoplink::dtls
