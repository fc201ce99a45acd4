// Owning handles for OpenSSL objects and the error-queue-to-text helper shared by dtls/src.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace hoplink::dtls {

template <auto Free>
struct OpensslDeleter {
  template <class T>
  void operator()(T* object) const {
    Free(object);
  }
};

using SslPtr = std::unique_ptr<SSL, OpensslDeleter<SSL_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpensslDeleter<SSL_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpensslDeleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, OpensslDeleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpensslDeleter<BIO_free_all>>;

// "<context>: <OpenSSL error queue, oldest first>" and empties the (thread-local) queue.
std::string openssl_error_text(std::string_view context);

// Lower-case hex of bytes.
std::string to_hex(const unsigned char* bytes, std::size_t length);

}  // namespace hoplink::dtls
