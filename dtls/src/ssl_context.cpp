#include "ssl_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "identity_data.hpp"

namespace hoplink::dtls {
namespace {

CookieBinding* binding_of(SSL* ssl) {
  return static_cast<CookieBinding*>(SSL_get_app_data(ssl));
}

int generate_cookie(SSL* ssl, unsigned char* out, unsigned int* length) {
  CookieBinding* binding = binding_of(ssl);
  if (binding == nullptr) return 0;
  CookieJar::Cookie cookie;
  if (binding->jar != nullptr) {
    cookie = binding->jar->make(binding->peer, binding->now);
  } else if (binding->verified) {
    cookie = *binding->verified;
  } else {
    return 0;
  }
  std::copy(cookie.begin(), cookie.end(), out);  // OpenSSL's buffer holds DTLS1_COOKIE_LENGTH (255) bytes
  *length = static_cast<unsigned int>(cookie.size());
  return 1;
}

int verify_cookie(SSL* ssl, const unsigned char* cookie, unsigned int length) {
  CookieBinding* binding = binding_of(ssl);
  if (binding == nullptr || length != CookieJar::cookie_size) return 0;
  std::span<const std::uint8_t> presented(cookie, length);
  if (binding->jar != nullptr) {
    if (!binding->jar->verify(binding->peer, presented, binding->now)) return 0;
    binding->verified.emplace();
    std::copy(presented.begin(), presented.end(), binding->verified->begin());
    return 1;
  }
  return binding->verified && std::equal(presented.begin(), presented.end(), binding->verified->begin()) ? 1
                                                                                                         : 0;
}

// Replaces chain validation: a self-signed certificate is expected and pinned by its SHA-256.
int check_fingerprint(X509_STORE_CTX* store, void* argument) {
  auto* check = static_cast<FingerprintCheck*>(argument);
  X509* certificate = X509_STORE_CTX_get0_cert(store);
  if (certificate == nullptr) {
    check->failure = "the bridge presented no certificate";
    X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED);
    return 0;
  }
  std::string seen = certificate_fingerprint(certificate);
  if (seen.empty() || seen != check->expected) {
    check->failure = "bridge certificate fingerprint " + seen +
                     " does not match the bridge line's fp=" + check->expected +
                     " (wrong bridge line, or the bridge's identity was regenerated)";
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
  }
  check->checked = true;
  return 1;
}

// A retransmission timer OpenSSL never reaches by itself (about an hour): the session forces expiry.
unsigned int parked_timer(SSL*, unsigned int) {
  return 3'600'000'000u;
}

Result<SslCtxPtr, Error> make_common() {
  SslCtxPtr ctx(SSL_CTX_new(DTLS_method()));
  if (!ctx) return fail(Error{ErrorKind::crypto, openssl_error_text("SSL_CTX_new")});
  SSL_CTX* c = ctx.get();
  SSL_CTX_set_options(c, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                             SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_min_proto_version(c, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, DTLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(c, cipher_list) != 1 || SSL_CTX_set1_groups_list(c, "X25519:P-256") != 1) {
    return fail(Error{ErrorKind::crypto, openssl_error_text("configuring DTLS 1.2")});
  }
  return ctx;
}

}  // namespace

void bind_cookie(SSL* ssl, CookieBinding* binding) {
  SSL_set_app_data(ssl, binding);
}

Result<SslCtxPtr, Error> make_server_context(const Identity& identity) {
  auto ctx = make_common();
  if (!ctx) return ctx;
  SSL_CTX* c = ctx->get();
  const IdentityData& data = identity.data();
  if (SSL_CTX_use_certificate(c, data.certificate.get()) != 1 ||
      SSL_CTX_use_PrivateKey(c, data.key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
    return fail(Error{ErrorKind::crypto, openssl_error_text("loading the bridge identity")});
  }
  SSL_CTX_set_cookie_generate_cb(c, generate_cookie);
  SSL_CTX_set_cookie_verify_cb(c, verify_cookie);
  SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);  // clients are anonymous at this layer
  return ctx;
}

Result<SslCtxPtr, Error> make_client_context(FingerprintCheck* check) {
  auto ctx = make_common();
  if (!ctx) return ctx;
  SSL_CTX_set_verify(ctx->get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_cert_verify_callback(ctx->get(), check_fingerprint, check);
  return ctx;
}

bool configure_ssl(SSL* ssl, std::size_t datagram_size, long mtu_overhead) {
  DTLS_set_timer_cb(ssl, parked_timer);
  return DTLS_set_link_mtu(ssl, static_cast<long>(datagram_size) + mtu_overhead) == 1;
}

std::optional<std::string> normalise_fingerprint(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == ':') continue;
    if (c >= '0' && c <= '9') {
      out += c;
    } else if (c >= 'a' && c <= 'f') {
      out += c;
    } else if (c >= 'A' && c <= 'F') {
      out += static_cast<char>(c - 'A' + 'a');
    } else {
      return std::nullopt;
    }
  }
  if (out.size() != 64) return std::nullopt;
  return out;
}

}  // namespace hoplink::dtls
