#include "dtls/error.hpp"

namespace hoplink::dtls {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::none:
      return "none";
    case ErrorKind::invalid_argument:
      return "invalid_argument";
    case ErrorKind::fingerprint_missing:
      return "fingerprint_missing";
    case ErrorKind::fingerprint_mismatch:
      return "fingerprint_mismatch";
    case ErrorKind::identity_storage:
      return "identity_storage";
    case ErrorKind::crypto:
      return "crypto";
    case ErrorKind::handshake_failed:
      return "handshake_failed";
    case ErrorKind::handshake_timeout:
      return "handshake_timeout";
    case ErrorKind::protocol:
      return "protocol";
    case ErrorKind::not_open:
      return "not_open";
  }
  return "unknown";
}

}  // namespace hoplink::dtls
