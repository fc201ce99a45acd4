// Byte layout of DTLS 1.2 records (RFC 6347 4.1), for code that looks at a datagram before the session does.
#pragma once

#include <cstddef>
#include <span>

namespace hoplink::dtls {

// Record header: content type (8), version (16), epoch (16), sequence number (48), length (16).
inline constexpr std::size_t kRecordHeaderBytes = 13;

// Largest DTLS 1.2 record overhead of the suites offered (AES-128-GCM: 13-byte header, 8-byte explicit nonce,
// 16-byte tag; ChaCha20-Poly1305 needs 29): a payload of N bytes goes out as a datagram of at most
// N + kMaxRecordOverhead, so an SCTP packet of the datagram size minus this fits one datagram.
inline constexpr std::size_t kMaxRecordOverhead = 37;

// True when `datagram` starts with a whole record header of a handshake record (content type 22)
// at epoch 0. After a session opened, that is a new ClientHello (the client restarted on the same address)
// or a retransmission of the first flights. Only the first record of the datagram is looked at.
bool is_epoch0_handshake_record(std::span<const std::byte> datagram);

}  // namespace hoplink::dtls
