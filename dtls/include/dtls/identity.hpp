// The bridge's DTLS identity: an ECDSA P-256 key and a self-signed certificate.
//
// Created once in the PT state directory (TOR_PT_STATE_LOCATION) and reused after every restart, because
// clients pin the certificate by the SHA-256 fingerprint published in the bridge line. There is no automatic
// rotation: to rotate, the operator stops the bridge, deletes both files and restarts; a new key and
// fingerprint are generated and the new bridge line must be distributed (clients with the old line fail with
// fingerprint_mismatch). The certificate's dates are not checked by hoplink clients (they check the
// fingerprint only), so it is made long-lived.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "common/result.hpp"
#include "dtls/error.hpp"

namespace hoplink::dtls {

struct IdentityData;  // the OpenSSL key and certificate (dtls/src only)

// Immutable and cheap to copy (shared ownership of the key material).
class Identity {
 public:
  // A fresh key and certificate in memory only.
  static Result<Identity, Error> generate();

  // SHA-256 of the DER certificate: 64 lower-case hex characters, the bridge line's `fp=` value.
  const std::string& fingerprint() const;
  std::span<const std::byte> certificate_der() const;

  const IdentityData& data() const { return *data_; }
  explicit Identity(std::shared_ptr<const IdentityData> data);

 private:
  std::shared_ptr<const IdentityData> data_;
};

// File names inside the state directory.
inline constexpr std::string_view identity_key_file = "hoplink_dtls_key.pem";
inline constexpr std::string_view identity_certificate_file = "hoplink_dtls_cert.pem";

// Loads the identity from `directory`, or creates it there (files mode 0600, written to temporary files and
// renamed, so a crash never leaves half a key) when neither file exists. Errors (identity_storage): the
// directory is missing or unwritable, only one of the two files exists, a file does not parse, the key does
// not match the certificate, or the key is not ECDSA P-256. Existing files are never overwritten.
Result<Identity, Error> load_or_create_identity(const std::filesystem::path& directory);

}  // namespace hoplink::dtls
