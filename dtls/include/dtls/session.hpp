// One DTLS 1.2 association with one peer, sans I/O: datagrams in (receive_datagram), datagrams out (the
// send_datagram callback), time in (every call takes `now`; the caller calls handle_timeout at
// next_deadline()). Each send() is one record in one datagram, so one SCTP packet per record (RFC 8261).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "dtls/error.hpp"

namespace hoplink::dtls {

class PendingHandshake;

struct SessionConfig {
  // Largest UDP payload this session emits; handshake messages are fragmented and records sized to it.
  std::size_t max_datagram_size = 1200;
  // Handshake flight retransmission: starts here, doubles per timeout up to the maximum (RFC 6347 4.2.4.1).
  std::chrono::milliseconds initial_retransmit_timeout{1000};
  std::chrono::milliseconds max_retransmit_timeout{8000};
  // From creation (client) or acceptance (server) to an open session; then failed(handshake_timeout).
  std::chrono::milliseconds handshake_timeout{20000};
};

// Both callbacks run synchronously inside the session call that produced them (including create_client and
// accept). They must not call into the session nor destroy it; the span is valid during the call only.
struct SessionCallbacks {
  std::function<void(std::span<const std::byte> datagram)> send_datagram;
  std::function<void(std::span<const std::byte> record)> on_record;  // one decrypted record: one SCTP packet
};

enum class SessionState : std::uint8_t {
  handshaking,
  open,    // records flow both ways
  failed,  // error() says why; only destruction is left
  closed,  // close() was called or the peer sent close_notify
};
std::string_view to_string(SessionState state);

class DtlsSession {
 public:
  // A client that will accept only the certificate whose SHA-256 is `expected_fingerprint` (64 hex digits,
  // either case, ':' allowed). Sends the first ClientHello before returning. Errors: fingerprint_missing
  // (empty), invalid_argument (not a fingerprint, datagram size below 256), crypto.
  static Result<DtlsSession, Error> create_client(const PeerAddress& peer,
                                                  std::string_view expected_fingerprint,
                                                  const SessionConfig& config, SessionCallbacks callbacks,
                                                  TimePoint now);
  // A server session for a ClientHello whose cookie the Listener verified. Sends the server's first flight
  // before returning. The session keeps the Listener's SSL_CTX alive; the Listener may be destroyed first.
  static Result<DtlsSession, Error> accept(PendingHandshake&& hello, SessionCallbacks callbacks,
                                           TimePoint now);

  DtlsSession(DtlsSession&&) noexcept;
  DtlsSession& operator=(DtlsSession&&) noexcept;
  ~DtlsSession();

  // One datagram from the peer. Invalid or forged records are dropped silently, as DTLS requires; only the
  // handshake failing, a fatal alert or close_notify change the state. Ignored once failed or closed.
  void receive_datagram(std::span<const std::byte> datagram, TimePoint now);

  // Encrypts `record` into one datagram. Errors: not_open; invalid_argument when larger than
  // max_record_payload(); protocol when OpenSSL fails (the session is then failed).
  Result<void, Error> send(std::span<const std::byte> record);

  // Retransmits the current handshake flight or fails the handshake when their time has come.
  void handle_timeout(TimePoint now);
  // When to call handle_timeout next; nullopt when nothing is pending (open, failed or closed).
  std::optional<TimePoint> next_deadline() const;

  // Sends close_notify if open; the state becomes closed.
  void close();

  SessionState state() const;
  const Error& error() const;  // kind none unless failed
  bool is_server() const;
  const PeerAddress& peer() const;
  // Largest plaintext send() accepts (DTLS_get_data_mtu); 0 until open.
  std::size_t max_record_payload() const;
  std::string cipher_name() const;   // "" until open
  std::string version_name() const;  // "DTLSv1.2" once open
  std::uint64_t retransmissions() const;

  struct Impl;

 private:
  explicit DtlsSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::dtls
