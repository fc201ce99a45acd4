#include "dtls_record.hpp"

namespace hoplink::itest {
namespace {

constexpr std::size_t kRecordHeader = 13;  // type, version(2), epoch(2), sequence(6), length(2)
constexpr std::size_t kHandshakeHeader =
    12;  // type, length(3), message_seq(2), offset(3), fragment length(3)

std::uint32_t be(const Bytes& b, std::size_t at, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | b[at + i];
  return v;
}

void put_be(Bytes& b, std::size_t at, std::size_t n, std::uint64_t v) {
  for (std::size_t i = 0; i < n; ++i) b[at + n - 1 - i] = static_cast<std::uint8_t>(v >> (8 * i));
}

}  // namespace

std::optional<std::vector<DtlsRecord>> parse_dtls_records(const Bytes& datagram) {
  std::vector<DtlsRecord> records;
  std::size_t at = 0;
  while (at < datagram.size()) {
    if (datagram.size() - at < kRecordHeader) return std::nullopt;
    DtlsRecord r;
    r.content_type = datagram[at];
    r.version = static_cast<std::uint16_t>(be(datagram, at + 1, 2));
    r.epoch = static_cast<std::uint16_t>(be(datagram, at + 3, 2));
    r.length = be(datagram, at + 11, 2);
    if (datagram.size() - at - kRecordHeader < r.length) return std::nullopt;
    if (r.content_type == kDtlsHandshake && r.epoch == 0 && r.length >= 1)
      r.handshake_type = datagram[at + 13];
    records.push_back(r);
    at += kRecordHeader + r.length;
  }
  return records;
}

std::optional<std::uint16_t> client_hello_version(const Bytes& datagram) {
  auto records = parse_dtls_records(datagram);
  const std::size_t body = kRecordHeader + kHandshakeHeader;
  if (!records || records->empty() || records->front().handshake_type != kDtlsClientHello ||
      datagram.size() < body + 2) {
    return std::nullopt;
  }
  return static_cast<std::uint16_t>(be(datagram, body, 2));
}

std::optional<Bytes> hello_verify_cookie(const Bytes& datagram) {
  auto records = parse_dtls_records(datagram);
  if (!records || records->empty() || records->front().handshake_type != kDtlsHelloVerifyRequest) {
    return std::nullopt;
  }
  // HelloVerifyRequest body: server_version(2), cookie<0..255>.
  const std::size_t body = kRecordHeader + kHandshakeHeader;
  if (datagram.size() < body + 3) return std::nullopt;
  const std::size_t length = datagram[body + 2];
  if (datagram.size() < body + 3 + length) return std::nullopt;
  return Bytes(datagram.begin() + static_cast<long>(body + 3),
               datagram.begin() + static_cast<long>(body + 3 + length));
}

std::optional<Bytes> client_hello_with_cookie(const Bytes& client_hello, const Bytes& cookie) {
  auto records = parse_dtls_records(client_hello);
  if (!records || records->size() != 1 || records->front().handshake_type != kDtlsClientHello) {
    return std::nullopt;
  }
  // ClientHello body: client_version(2), random(32), session_id<0..32>, cookie<0..255>, the rest.
  const std::size_t body = kRecordHeader + kHandshakeHeader;
  const std::size_t session_id = body + 2 + 32;
  if (client_hello.size() < session_id + 1) return std::nullopt;
  const std::size_t cookie_at = session_id + 1 + client_hello[session_id];
  if (client_hello.size() < cookie_at + 1 || cookie.size() > 255) return std::nullopt;
  const std::size_t rest = cookie_at + 1 + client_hello[cookie_at];
  if (client_hello.size() < rest) return std::nullopt;
  Bytes out(client_hello.begin(), client_hello.begin() + static_cast<long>(cookie_at));
  out.push_back(static_cast<std::uint8_t>(cookie.size()));
  out.insert(out.end(), cookie.begin(), cookie.end());
  out.insert(out.end(), client_hello.begin() + static_cast<long>(rest), client_hello.end());
  const std::size_t message = out.size() - body;
  put_be(out, 5, 6, be(client_hello, 7, 4) + 1);  // record sequence number (low 32 bits suffice here)
  put_be(out, 11, 2, out.size() - kRecordHeader);
  put_be(out, 14, 3, message);                      // handshake length
  put_be(out, 17, 2, be(client_hello, 17, 2) + 1);  // message_seq
  put_be(out, 19, 3, 0);                            // fragment offset
  put_be(out, 22, 3, message);                      // fragment length
  return out;
}

}  // namespace hoplink::itest
