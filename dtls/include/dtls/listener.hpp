// The server's stateless front door: the only place datagrams from addresses without a session go.
//
// A ClientHello without a valid cookie is answered with a HelloVerifyRequest made from the datagram alone (no
// per-peer state survives the call; the reply is never longer than the datagram it answers, or it is not
// sent). A ClientHello with a valid cookie (HMAC of the address and port, see cookie.hpp) becomes a
// PendingHandshake for DtlsSession::accept. Everything else is dropped. Bounding the number of half-open
// sessions is the caller's table's job (DtlsSession::next_deadline and the handshake timeout end them).
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "dtls/error.hpp"
#include "dtls/identity.hpp"
#include "dtls/session.hpp"

namespace hoplink::dtls {

struct ListenerConfig {
  SessionConfig session;                     // for accepted sessions
  std::chrono::seconds cookie_rotation{30};  // a cookie is valid for 30-60 s
};

// A verified ClientHello, held inside its (not yet driven) OpenSSL object. Move-only.
class PendingHandshake {
 public:
  struct Impl;
  PendingHandshake();
  explicit PendingHandshake(std::unique_ptr<Impl> impl);
  PendingHandshake(PendingHandshake&&) noexcept;
  PendingHandshake& operator=(PendingHandshake&&) noexcept;
  ~PendingHandshake();
  explicit operator bool() const { return impl_ != nullptr; }
  std::unique_ptr<Impl> release();

 private:
  std::unique_ptr<Impl> impl_;
};

struct ListenDecision {
  enum class Kind : std::uint8_t { drop, reply, accept };
  Kind kind = Kind::drop;
  std::vector<std::byte> reply;  // reply: a HelloVerifyRequest to send to `from`
  std::string_view reason;       // drop: why, for counters and debug logs (static text)
  PendingHandshake pending;      // accept: hand to DtlsSession::accept
};

class Listener {
 public:
  // Errors: crypto (context or RNG), invalid_argument (configuration).
  static Result<Listener, Error> create(const Identity& identity, const ListenerConfig& config,
                                        TimePoint now);
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  // A datagram from `from`, which has no session. Never throws, whatever the bytes.
  ListenDecision receive(const PeerAddress& from, std::span<const std::byte> datagram, TimePoint now);

  struct Impl;

 private:
  explicit Listener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::dtls
