// What an Identity holds, visible to dtls/src only.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "dtls/identity.hpp"
#include "openssl_util.hpp"

namespace hoplink::dtls {

struct IdentityData {
  EvpPkeyPtr key;
  X509Ptr certificate;
  std::vector<std::byte> der;
  std::string fingerprint;
};

// SHA-256 of the DER encoding, lower-case hex; empty on failure.
std::string certificate_fingerprint(X509* certificate);

}  // namespace hoplink::dtls
