// DtlsSession: drives one OpenSSL DTLS object from datagrams and time handed in by the caller.
//
// Timing: OpenSSL 3.0 measures its retransmission timer with gettimeofday, which tests cannot control. Its
// timer is therefore parked (an hour-long duration, see configure_ssl) and this class keeps the real one on
// the caller's clock: the BIO reports every time OpenSSL arms or stops its timer; when our deadline passes,
// OpenSSL's deadline (the timeval it handed the BIO) is moved into the past and DTLSv1_handle_timeout then
// retransmits the flight exactly as it would have on its own clock.
#include "dtls/session.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <array>

#include "datagram_bio.hpp"
#include "openssl_util.hpp"
#include "pending_handshake.hpp"
#include "ssl_context.hpp"

namespace hoplink::dtls {

std::string_view to_string(SessionState state) {
  switch (state) {
    case SessionState::handshaking:
      return "handshaking";
    case SessionState::open:
      return "open";
    case SessionState::failed:
      return "failed";
    case SessionState::closed:
      return "closed";
  }
  return "unknown";
}

struct DtlsSession::Impl {
  SessionConfig config;
  SessionCallbacks callbacks;
  PeerAddress peer;
  bool server = false;
  SslCtxPtr ctx;  // clients only; servers share the Listener's through SSL_new's reference
  SslPtr ssl;
  std::unique_ptr<DatagramBioState> bio;
  std::unique_ptr<CookieBinding> cookie;          // servers
  std::unique_ptr<FingerprintCheck> fingerprint;  // clients
  SessionState state = SessionState::handshaking;
  Error error;
  TimePoint now{};
  TimePoint handshake_deadline{};
  std::optional<TimePoint> retransmit_deadline;
  std::chrono::milliseconds retransmit_timeout{};
  std::uint64_t retransmissions = 0;

  void attach_bio_callbacks() {
    bio->on_datagram = [this](std::span<const std::byte> datagram) {
      if (callbacks.send_datagram) callbacks.send_datagram(datagram);
    };
    bio->on_timer = [this](bool armed) {
      if (armed) {
        retransmit_deadline = now + retransmit_timeout;
      } else {
        retransmit_deadline.reset();
        retransmit_timeout = config.initial_retransmit_timeout;
      }
    };
  }

  void fail(ErrorKind kind, std::string message) {
    if (state == SessionState::failed) return;
    state = SessionState::failed;
    error = Error{kind, std::move(message)};
    retransmit_deadline.reset();
    ERR_clear_error();
  }

  void fail_from_openssl(ErrorKind kind, std::string_view context) {
    if (fingerprint && !fingerprint->failure.empty()) {
      ERR_clear_error();
      fail(ErrorKind::fingerprint_mismatch, fingerprint->failure);
      return;
    }
    fail(kind, openssl_error_text(context));
  }

  // After SSL_do_handshake succeeded: refuse anything but DTLS 1.2 with an AEAD suite and a checked peer.
  void on_handshake_done() {
    const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get());
    if (SSL_version(ssl.get()) != DTLS1_2_VERSION || cipher == nullptr || !SSL_CIPHER_is_aead(cipher)) {
      fail(ErrorKind::handshake_failed, "negotiated parameters are not DTLS 1.2 with an AEAD suite");
      return;
    }
    if (fingerprint && !fingerprint->checked) {
      fail(ErrorKind::fingerprint_mismatch, "the bridge's certificate was not checked against fp=");
      return;
    }
    state = SessionState::open;
    retransmit_deadline.reset();
  }

  void drive_handshake() {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl.get());
    if (r == 1) {
      on_handshake_done();
      return;
    }
    int code = SSL_get_error(ssl.get(), r);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return;
    }
    fail_from_openssl(ErrorKind::handshake_failed, "DTLS handshake with " + peer.to_string() + " failed");
  }

  void read_records() {
    std::array<std::byte, 16384> buffer;
    // One clear covers the loop: a successful SSL_read leaves the queue empty, and so does one that wants
    // more input; failures clear it. (ERR_clear_error before every SSL_read was 4% of a busy client's CPU.)
    ERR_clear_error();
    while (state == SessionState::open) {
      int r = SSL_read(ssl.get(), buffer.data(), static_cast<int>(buffer.size()));
      if (r > 0) {
        if (callbacks.on_record) callbacks.on_record(std::span(buffer.data(), static_cast<std::size_t>(r)));
        // A datagram almost always holds one record: when OpenSSL has taken the datagram and holds nothing
        // more, stop here rather than make another SSL_read say "want read".
        if (bio->input.empty() && SSL_has_pending(ssl.get()) == 0) break;
        continue;
      }
      int code = SSL_get_error(ssl.get(), r);
      if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) break;
      if (code == SSL_ERROR_ZERO_RETURN) {
        state = SessionState::closed;
        ERR_clear_error();
        break;
      }
      fail_from_openssl(ErrorKind::protocol, "DTLS session with " + peer.to_string() + " failed");
    }
  }

  void start(TimePoint start_time) {
    now = start_time;
    handshake_deadline = start_time + config.handshake_timeout;
    retransmit_timeout = config.initial_retransmit_timeout;
    attach_bio_callbacks();
    drive_handshake();
  }
};

namespace {

long overhead_for(const PeerAddress& peer) {
  return peer.family() == PeerAddress::Family::v6 ? 48 : 28;
}

bool valid_config(const SessionConfig& config) {
  return config.max_datagram_size >= 256 && config.max_datagram_size <= 65507 &&
         config.initial_retransmit_timeout.count() > 0 &&
         config.max_retransmit_timeout >= config.initial_retransmit_timeout &&
         config.handshake_timeout.count() > 0;
}

}  // namespace

DtlsSession::DtlsSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DtlsSession::DtlsSession(DtlsSession&&) noexcept = default;
DtlsSession& DtlsSession::operator=(DtlsSession&&) noexcept = default;
DtlsSession::~DtlsSession() = default;

Result<DtlsSession, Error> DtlsSession::create_client(const PeerAddress& peer,
                                                      std::string_view expected_fingerprint,
                                                      const SessionConfig& config, SessionCallbacks callbacks,
                                                      TimePoint now) {
  if (expected_fingerprint.empty()) {
    return fail(Error{
        ErrorKind::fingerprint_missing,
        "refusing to connect to " + peer.to_string() +
            " without the bridge's certificate fingerprint: add fp=<64 hex digits> to the bridge line"});
  }
  auto normalised = normalise_fingerprint(expected_fingerprint);
  if (!normalised) {
    return fail(Error{ErrorKind::invalid_argument, "fp=" + std::string(expected_fingerprint) +
                                                       " is not a SHA-256 fingerprint (64 hex digits)"});
  }
  if (!valid_config(config))
    return fail(Error{ErrorKind::invalid_argument, "invalid DTLS session configuration"});

  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->callbacks = std::move(callbacks);
  impl->peer = peer;
  impl->fingerprint = std::make_unique<FingerprintCheck>();
  impl->fingerprint->expected = *normalised;
  auto ctx = make_client_context(impl->fingerprint.get());
  if (!ctx) return fail(ctx.error());
  impl->ctx = std::move(ctx).value();
  impl->ssl.reset(SSL_new(impl->ctx.get()));
  impl->bio = std::make_unique<DatagramBioState>();
  impl->bio->datagram_size = config.max_datagram_size;
  impl->bio->mtu_overhead = overhead_for(peer);
  BIO* bio = impl->ssl ? new_datagram_bio(impl->bio.get()) : nullptr;
  if (bio == nullptr) return fail(Error{ErrorKind::crypto, openssl_error_text("creating the DTLS client")});
  SSL_set_bio(impl->ssl.get(), bio, bio);  // one BIO both ways: SSL_set_bio takes the single reference
  SSL_set_connect_state(impl->ssl.get());
  if (!configure_ssl(impl->ssl.get(), config.max_datagram_size, impl->bio->mtu_overhead)) {
    return fail(Error{ErrorKind::invalid_argument, openssl_error_text("setting the link MTU")});
  }
  impl->start(now);
  return DtlsSession(std::move(impl));
}

Result<DtlsSession, Error> DtlsSession::accept(PendingHandshake&& hello, SessionCallbacks callbacks,
                                               TimePoint now) {
  auto pending = hello.release();
  if (!pending) return fail(Error{ErrorKind::invalid_argument, "accept() without a verified ClientHello"});
  auto impl = std::make_unique<Impl>();
  impl->config = pending->config;
  impl->callbacks = std::move(callbacks);
  impl->peer = pending->cookie->peer;
  impl->server = true;
  impl->ssl = std::move(pending->ssl);
  impl->bio = std::move(pending->bio);
  impl->cookie = std::move(pending->cookie);
  impl->cookie->jar = nullptr;
  bind_cookie(impl->ssl.get(), impl->cookie.get());
  if (!configure_ssl(impl->ssl.get(), impl->config.max_datagram_size, impl->bio->mtu_overhead)) {
    return fail(Error{ErrorKind::invalid_argument, openssl_error_text("setting the link MTU")});
  }
  impl->start(now);
  return DtlsSession(std::move(impl));
}

void DtlsSession::receive_datagram(std::span<const std::byte> datagram, TimePoint now) {
  Impl& s = *impl_;
  s.now = now;
  if (s.state == SessionState::failed || s.state == SessionState::closed || datagram.empty()) return;
  s.bio->input = datagram;
  if (s.state == SessionState::handshaking) {
    s.drive_handshake();
    if (s.state == SessionState::handshaking && s.bio->input.empty()) {
      // OpenSSL may keep a record of the datagram buffered; give it the chance to be processed.
      s.drive_handshake();
    }
  }
  s.read_records();
  s.bio->input = {};
}

Result<void, Error> DtlsSession::send(std::span<const std::byte> record) {
  Impl& s = *impl_;
  if (s.state != SessionState::open) {
    return fail(
        Error{ErrorKind::not_open, std::string("DTLS session is ") + std::string(to_string(s.state))});
  }
  if (record.size() > max_record_payload() || record.empty()) {
    return fail(Error{ErrorKind::invalid_argument, "record of " + std::to_string(record.size()) +
                                                       " bytes does not fit one datagram (max " +
                                                       std::to_string(max_record_payload()) + ")"});
  }
  ERR_clear_error();
  int r = SSL_write(s.ssl.get(), record.data(), static_cast<int>(record.size()));
  if (r != static_cast<int>(record.size())) {
    s.fail_from_openssl(ErrorKind::protocol, "DTLS write to " + s.peer.to_string() + " failed");
    return fail(s.error);
  }
  return {};
}

void DtlsSession::handle_timeout(TimePoint now) {
  Impl& s = *impl_;
  s.now = now;
  if (s.state != SessionState::handshaking) return;
  if (now >= s.handshake_deadline) {
    s.fail(ErrorKind::handshake_timeout, "DTLS handshake with " + s.peer.to_string() +
                                             " did not finish within " +
                                             std::to_string(s.config.handshake_timeout.count()) + " ms");
    return;
  }
  if (!s.retransmit_deadline || now < *s.retransmit_deadline) return;
  s.retransmit_timeout = std::min(s.retransmit_timeout * 2, s.config.max_retransmit_timeout);
  s.retransmit_deadline.reset();
  if (s.bio->openssl_timer != nullptr) *s.bio->openssl_timer = timeval{1, 0};  // long past: expired
  ERR_clear_error();
  int r = DTLSv1_handle_timeout(s.ssl.get());
  if (r < 0) {
    s.fail_from_openssl(ErrorKind::handshake_failed,
                        "DTLS retransmission to " + s.peer.to_string() + " failed");
    return;
  }
  if (r > 0) ++s.retransmissions;
  ERR_clear_error();
}

std::optional<TimePoint> DtlsSession::next_deadline() const {
  const Impl& s = *impl_;
  if (s.state != SessionState::handshaking) return std::nullopt;
  if (s.retransmit_deadline) return std::min(*s.retransmit_deadline, s.handshake_deadline);
  return s.handshake_deadline;
}

void DtlsSession::close() {
  Impl& s = *impl_;
  if (s.state == SessionState::open) {
    ERR_clear_error();
    SSL_shutdown(s.ssl.get());  // sends close_notify; we do not wait for the peer's
    ERR_clear_error();
  }
  if (s.state != SessionState::failed) s.state = SessionState::closed;
  s.retransmit_deadline.reset();
}

SessionState DtlsSession::state() const {
  return impl_->state;
}
const Error& DtlsSession::error() const {
  return impl_->error;
}
bool DtlsSession::is_server() const {
  return impl_->server;
}
const PeerAddress& DtlsSession::peer() const {
  return impl_->peer;
}
std::uint64_t DtlsSession::retransmissions() const {
  return impl_->retransmissions;
}

std::size_t DtlsSession::max_record_payload() const {
  return impl_->state == SessionState::open ? DTLS_get_data_mtu(impl_->ssl.get()) : 0;
}

std::string DtlsSession::cipher_name() const {
  if (impl_->state != SessionState::open) return {};
  return SSL_get_cipher_name(impl_->ssl.get());
}

std::string DtlsSession::version_name() const {
  if (impl_->state != SessionState::open) return {};
  return SSL_get_version(impl_->ssl.get());
}

}  // namespace hoplink::dtls
