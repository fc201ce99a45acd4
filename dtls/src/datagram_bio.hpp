// A BIO that is one datagram wide in both directions, for DTLS without a socket.
//
// Read: hands OpenSSL the one datagram the caller is feeding, then "retry". Write: every BIO_write is one
// datagram, passed to `on_datagram` at once (a memory BIO would merge a whole flight into one oversized
// datagram). It answers OpenSSL's MTU questions from the configured datagram size and reports the
// retransmission timer that OpenSSL arms and stops (BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT), which is how the
// session drives retransmissions from the caller's clock.
#pragma once

#include <openssl/bio.h>
#include <sys/time.h>

#include <cstddef>
#include <functional>
#include <span>

namespace hoplink::dtls {

struct DatagramBioState {
  std::span<const std::byte> input;  // the datagram being fed; emptied once OpenSSL read it
  std::function<void(std::span<const std::byte>)> on_datagram;
  std::function<void(bool armed)> on_timer;  // OpenSSL (re)started (true) or stopped (false) its timer
  std::size_t datagram_size = 1200;          // UDP payload bytes
  long mtu_overhead = 28;                    // IPv4 + UDP headers (48 for IPv6)
  // OpenSSL's own deadline (inside the SSL object, valid while it lives); see Session::force_expiry.
  timeval* openssl_timer = nullptr;
};

// A new BIO reading from and writing to `state`, which must outlive it. nullptr on allocation failure.
BIO* new_datagram_bio(DatagramBioState* state);
void rebind_datagram_bio(BIO* bio, DatagramBioState* state);

}  // namespace hoplink::dtls
