// Just enough of DTLS 1.2 framing (RFC 6347 4.1, 4.2.2) for tests that play a client by hand: read the
// records of a datagram, tell a ClientHello from a HelloVerifyRequest, take the cookie out of one and put it
// into the other. No cryptography: the handshake never gets past the server's first flight.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace hoplink::itest {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint8_t kDtlsHandshake = 22;
inline constexpr std::uint8_t kDtlsClientHello = 1;
inline constexpr std::uint8_t kDtlsServerHello = 2;
inline constexpr std::uint8_t kDtlsHelloVerifyRequest = 3;

struct DtlsRecord {
  std::uint8_t content_type = 0;
  std::uint16_t version = 0;  // 0xfefd is DTLS 1.2
  std::uint16_t epoch = 0;
  std::optional<std::uint8_t> handshake_type;  // epoch-0 handshake records only
  std::size_t length = 0;                      // of the record's fragment
};

// Every record of a datagram; nullopt if the datagram is not a whole number of well-formed record headers.
std::optional<std::vector<DtlsRecord>> parse_dtls_records(const Bytes& datagram);

// The client_version inside a ClientHello (0xfefd: DTLS 1.2; the record layer of a first flight may say
// 0xfeff). nullopt when the datagram does not start with a ClientHello.
std::optional<std::uint16_t> client_hello_version(const Bytes& datagram);

// The cookie of a datagram whose first record is a HelloVerifyRequest.
std::optional<Bytes> hello_verify_cookie(const Bytes& datagram);

// `client_hello` (one unfragmented ClientHello record) sent again as RFC 6347 4.2.1 asks: the same hello with
// `cookie`, the next message_seq and record sequence number.
std::optional<Bytes> client_hello_with_cookie(const Bytes& client_hello, const Bytes& cookie);

}  // namespace hoplink::itest
