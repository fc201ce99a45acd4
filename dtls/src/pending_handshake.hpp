// What a verified ClientHello carries from the Listener to DtlsSession::accept (dtls/src only).
#pragma once

#include <memory>

#include "datagram_bio.hpp"
#include "dtls/listener.hpp"
#include "openssl_util.hpp"
#include "ssl_context.hpp"

namespace hoplink::dtls {

struct PendingHandshake::Impl {
  SslPtr ssl;                             // DTLSv1_listen returned 1: the ClientHello is buffered inside
  std::unique_ptr<DatagramBioState> bio;  // the state its BIO points at
  std::unique_ptr<CookieBinding> cookie;  // jar == nullptr, verified == the cookie that passed
  SessionConfig config;
};

}  // namespace hoplink::dtls
