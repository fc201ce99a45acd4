// The stateless front door: DTLSv1_listen on a throw-away SSL object per ClientHello.
//
// Why DTLSv1_listen rather than our own ClientHello parser: OpenSSL's parser is the one that will process
// the handshake anyway, it is stateless on 3.0 (it answers from the datagram and writes the
// HelloVerifyRequest through the BIO), and on success it buffers the ClientHello inside the SSL object,
// which becomes the session. The SSL object is created per ClientHello-looking datagram and freed before
// returning unless the cookie is valid, so nothing about a peer outlives the call.
#include "dtls/listener.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "datagram_bio.hpp"
#include "dtls/record.hpp"
#include "openssl_util.hpp"
#include "pending_handshake.hpp"
#include "ssl_context.hpp"

namespace hoplink::dtls {

PendingHandshake::PendingHandshake() = default;
PendingHandshake::PendingHandshake(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PendingHandshake::PendingHandshake(PendingHandshake&&) noexcept = default;
PendingHandshake& PendingHandshake::operator=(PendingHandshake&&) noexcept = default;
PendingHandshake::~PendingHandshake() = default;
std::unique_ptr<PendingHandshake::Impl> PendingHandshake::release() {
  return std::move(impl_);
}

struct Listener::Impl {
  ListenerConfig config;
  SslCtxPtr ctx;
  CookieJar jar;
};

namespace {

// DTLS record header (RFC 6347 4.1) followed by a handshake header (4.2.2):
//   0: content type (22 = handshake)   1-2: version (0xFE..)   3-4: epoch   5-10: sequence   11-12: length
//   13: msg_type (1 = client_hello)    14-16: length   17-18: message_seq   19-21: frag offset   22-24: frag
//   len
constexpr std::size_t min_client_hello = kRecordHeaderBytes + 12;

bool looks_like_client_hello(std::span<const std::byte> d) {
  auto at = [&](std::size_t i) { return static_cast<std::uint8_t>(d[i]); };
  return d.size() >= min_client_hello && is_epoch0_handshake_record(d) && at(1) == 0xfe && at(13) == 1;
}

ListenDecision drop(std::string_view reason) {
  ListenDecision decision;
  decision.reason = reason;
  return decision;
}

}  // namespace

Listener::Listener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Listener::Listener(Listener&&) noexcept = default;
Listener& Listener::operator=(Listener&&) noexcept = default;
Listener::~Listener() = default;

Result<Listener, Error> Listener::create(const Identity& identity, const ListenerConfig& config,
                                         TimePoint now) {
  if (config.session.max_datagram_size < 256) {
    return fail(Error{ErrorKind::invalid_argument, "max_datagram_size must be at least 256"});
  }
  auto jar = CookieJar::create(config.cookie_rotation, now);
  if (!jar) return fail(jar.error());
  auto ctx = make_server_context(identity);
  if (!ctx) return fail(ctx.error());
  return Listener(std::unique_ptr<Impl>(new Impl{config, std::move(ctx).value(), std::move(jar).value()}));
}

ListenDecision Listener::receive(const PeerAddress& from, std::span<const std::byte> datagram,
                                 TimePoint now) {
  if (!looks_like_client_hello(datagram)) return drop("not a ClientHello");

  auto bio_state = std::make_unique<DatagramBioState>();
  bio_state->datagram_size = impl_->config.session.max_datagram_size;
  bio_state->mtu_overhead = from.family() == PeerAddress::Family::v6 ? 48 : 28;
  bio_state->input = datagram;
  std::vector<std::byte> reply;
  bool oversized_reply = false;
  bio_state->on_datagram = [&](std::span<const std::byte> out) {
    if (!reply.empty()) oversized_reply = true;  // more than one datagram is never a HelloVerifyRequest
    reply.assign(out.begin(), out.end());
  };

  SslPtr ssl(SSL_new(impl_->ctx.get()));
  BIO* bio = ssl ? new_datagram_bio(bio_state.get()) : nullptr;
  if (bio == nullptr) {
    ERR_clear_error();
    return drop("out of memory");
  }
  SSL_set_bio(ssl.get(), bio, bio);
  SSL_set_accept_state(ssl.get());
  configure_ssl(ssl.get(), bio_state->datagram_size, bio_state->mtu_overhead);
  CookieBinding binding{&impl_->jar, from, now, std::nullopt};
  bind_cookie(ssl.get(), &binding);

  BIO_ADDR* client = BIO_ADDR_new();
  ERR_clear_error();
  int r = client != nullptr ? DTLSv1_listen(ssl.get(), client) : -1;
  BIO_ADDR_free(client);
  ERR_clear_error();
  bind_cookie(ssl.get(), nullptr);

  if (r == 1 && binding.verified) {
    bio_state->on_datagram = nullptr;
    bio_state->input = {};
    auto pending = std::make_unique<PendingHandshake::Impl>();
    pending->ssl = std::move(ssl);
    pending->bio = std::move(bio_state);
    pending->cookie = std::make_unique<CookieBinding>(binding);
    pending->config = impl_->config.session;
    ListenDecision decision;
    decision.kind = ListenDecision::Kind::accept;
    decision.pending = PendingHandshake(std::move(pending));
    return decision;
  }
  if (r == 0 && !reply.empty()) {
    // Anti-amplification: never answer an unproven address with more bytes than it sent.
    if (oversized_reply || reply.size() > datagram.size()) return drop("reply would amplify");
    ListenDecision decision;
    decision.kind = ListenDecision::Kind::reply;
    decision.reply = std::move(reply);
    return decision;
  }
  return drop("malformed ClientHello");
}

}  // namespace hoplink::dtls
