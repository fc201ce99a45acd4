#include "datagram_bio.hpp"

#include <algorithm>
#include <cstring>

namespace hoplink::dtls {
namespace {

DatagramBioState* state_of(BIO* bio) {
  return static_cast<DatagramBioState*>(BIO_get_data(bio));
}

int bio_write(BIO* bio, const char* data, int length) {
  BIO_clear_retry_flags(bio);
  DatagramBioState* state = state_of(bio);
  if (state == nullptr || length < 0) return -1;
  if (state->on_datagram) {
    state->on_datagram(std::span(reinterpret_cast<const std::byte*>(data), static_cast<std::size_t>(length)));
  }
  return length;
}

int bio_read(BIO* bio, char* out, int capacity) {
  BIO_clear_retry_flags(bio);
  DatagramBioState* state = state_of(bio);
  if (state == nullptr || capacity < 0) return -1;
  if (state->input.empty()) {
    BIO_set_retry_read(bio);
    return -1;
  }
  // A datagram larger than OpenSSL's buffer is truncated, as recvmsg would; the record layer then drops it.
  std::size_t n = std::min(state->input.size(), static_cast<std::size_t>(capacity));
  std::memcpy(out, state->input.data(), n);
  state->input = {};
  return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int command, long number, void* pointer) {
  DatagramBioState* state = state_of(bio);
  if (state == nullptr) return 0;
  switch (command) {
    case BIO_CTRL_FLUSH:
    case BIO_CTRL_DGRAM_SET_CONNECTED:
    case BIO_CTRL_DGRAM_SET_PEER:
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(state->input.size());
    case BIO_CTRL_WPENDING:
      return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      return static_cast<long>(state->datagram_size);
    case BIO_CTRL_DGRAM_SET_MTU:
      return number;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
      return state->mtu_overhead;
    case BIO_CTRL_DGRAM_MTU_EXCEEDED:
      return 0;
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: {
      auto* deadline = static_cast<timeval*>(pointer);
      state->openssl_timer = deadline;
      bool armed = deadline != nullptr && (deadline->tv_sec != 0 || deadline->tv_usec != 0);
      if (state->on_timer) state->on_timer(armed);
      return 1;
    }
    default:
      return 0;  // includes GET_PEER: OpenSSL then reports AF_UNSPEC; the caller tracks addresses
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

int bio_destroy(BIO* bio) {
  BIO_set_data(bio, nullptr);
  return 1;
}

// The method table is immutable once built; built once per process (OpenSSL needs it to be long-lived).
BIO_METHOD* datagram_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "hoplink datagram");
    if (m != nullptr) {
      BIO_meth_set_write(m, bio_write);
      BIO_meth_set_read(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
      BIO_meth_set_destroy(m, bio_destroy);
    }
    return m;
  }();
  return method;
}

}  // namespace

BIO* new_datagram_bio(DatagramBioState* state) {
  BIO_METHOD* method = datagram_method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio != nullptr) BIO_set_data(bio, state);
  return bio;
}

void rebind_datagram_bio(BIO* bio, DatagramBioState* state) {
  BIO_set_data(bio, state);
}

}  // namespace hoplink::dtls
