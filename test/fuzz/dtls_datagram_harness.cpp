#include <array>
#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include "dtls/identity.hpp"
#include "dtls/listener.hpp"
#include "dtls/session.hpp"
#include "dtls_bytes.hpp"
#include "fuzz_check.hpp"
#include "fuzz_harness.hpp"

namespace hoplink::fuzz {
namespace {

using namespace hoplink::dtls;
using namespace std::chrono_literals;
using Bytes = std::vector<std::byte>;

SessionCallbacks discard() {
  return {[](std::span<const std::byte>) {}, [](std::span<const std::byte>) {}};
}

// One client and one server session, open, wired in memory; rebuilt whenever a fuzzed datagram ends one.
class DtlsTarget {
 public:
  // Never destroyed (the callbacks point at it); built on first use.
  static DtlsTarget& instance() {
    static DtlsTarget* target = new DtlsTarget();
    return *target;
  }

  void run(std::uint8_t flags, const Bytes& datagram);

 private:
  DtlsTarget();
  void build_pair();
  void flush();
  bool open() const {
    return client_ && server_ && client_->state() == SessionState::open &&
           server_->state() == SessionState::open;
  }
  void fuzz_listener(std::uint8_t flags, const Bytes& datagram, bool splice_cookie);

  std::optional<Identity> identity_;
  TimePoint now_{std::chrono::seconds(1000)};
  const PeerAddress client_address_ = PeerAddress::v4({10, 0, 0, 1}, 40000);
  const PeerAddress server_address_ = PeerAddress::v4({10, 0, 0, 2}, 443);
  std::optional<Listener> listener_;
  std::optional<DtlsSession> client_;
  std::optional<DtlsSession> server_;
  std::deque<Bytes> to_server_;
  std::deque<Bytes> to_client_;
  std::size_t server_records_ = 0;
  std::size_t client_records_ = 0;
};

DtlsTarget::DtlsTarget() {
  auto generated = Identity::generate();
  FUZZ_CHECK(generated.ok());
  identity_.emplace(std::move(generated).value());
  auto created = Listener::create(*identity_, ListenerConfig{}, now_);
  FUZZ_CHECK(created.ok());
  listener_.emplace(std::move(created).value());
  build_pair();
}

void DtlsTarget::flush() {
  for (int guard = 0; guard < 1000 && (!to_server_.empty() || !to_client_.empty()); ++guard) {
    if (!to_server_.empty()) {
      const Bytes datagram = std::move(to_server_.front());
      to_server_.pop_front();
      if (server_) {
        server_->receive_datagram(datagram, now_);
      } else {
        ListenDecision decision = listener_->receive(client_address_, datagram, now_);
        if (decision.kind == ListenDecision::Kind::reply) {
          to_client_.push_back(std::move(decision.reply));
        } else if (decision.kind == ListenDecision::Kind::accept) {
          auto accepted = DtlsSession::accept(
              std::move(decision.pending),
              {[this](std::span<const std::byte> d) { to_client_.emplace_back(d.begin(), d.end()); },
               [this](std::span<const std::byte>) { ++server_records_; }},
              now_);
          FUZZ_CHECK(accepted.ok());
          server_.emplace(std::move(accepted).value());
        }
      }
    }
    if (!to_client_.empty()) {
      const Bytes datagram = std::move(to_client_.front());
      to_client_.pop_front();
      if (client_) client_->receive_datagram(datagram, now_);
    }
  }
  to_server_.clear();
  to_client_.clear();
}

void DtlsTarget::build_pair() {
  server_.reset();
  client_.reset();
  to_server_.clear();
  to_client_.clear();
  auto created = DtlsSession::create_client(
      server_address_, identity_->fingerprint(), SessionConfig{},
      {[this](std::span<const std::byte> d) { to_server_.emplace_back(d.begin(), d.end()); },
       [this](std::span<const std::byte>) { ++client_records_; }},
      now_);
  FUZZ_CHECK(created.ok());
  client_.emplace(std::move(created).value());
  for (int round = 0; round < 20 && !open(); ++round) {
    flush();
    if (open()) break;
    now_ += 1s;
    client_->handle_timeout(now_);
    if (server_) server_->handle_timeout(now_);
  }
  FUZZ_CHECK(open());
}

void DtlsTarget::fuzz_listener(std::uint8_t flags, const Bytes& datagram, bool splice_cookie) {
  const std::array<std::uint8_t, 16> v6{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, flags};
  const PeerAddress from = (flags & 4) != 0
                               ? PeerAddress::v6(v6, static_cast<std::uint16_t>(flags * 257))
                               : PeerAddress::v4({192, 0, 2, flags}, static_cast<std::uint16_t>(flags));
  ListenDecision decision = listener_->receive(from, datagram, now_);
  if (decision.kind == ListenDecision::Kind::reply) {
    // The reply never amplifies (listener.hpp).
    FUZZ_CHECK(!decision.reply.empty() && decision.reply.size() <= datagram.size());
    if (splice_cookie) {
      const auto cookie = hello_verify_cookie(decision.reply);
      FUZZ_CHECK(cookie.has_value());
      if (const auto hello = with_cookie(datagram, *cookie))
        decision = listener_->receive(from, *hello, now_);
    }
  }
  if (decision.kind == ListenDecision::Kind::accept) {
    FUZZ_CHECK(static_cast<bool>(decision.pending));
    // The server's first flight for a fuzzed hello; the session is dropped right away.
    auto accepted = DtlsSession::accept(std::move(decision.pending), discard(), now_);
    if (accepted.ok()) {
      DtlsSession session = std::move(accepted).value();
      FUZZ_CHECK(session.is_server() && session.peer() == from);
      session.receive_datagram(datagram, now_);
      FUZZ_CHECK(session.state() != SessionState::open);
    }
  }
}

void DtlsTarget::run(std::uint8_t flags, const Bytes& datagram) {
  now_ += 1ms;
  switch (flags & 3) {
    case 0:
    case 1: {
      DtlsSession& target = (flags & 3) == 0 ? *server_ : *client_;
      target.receive_datagram(datagram, now_);
      flush();
      if ((flags & 8) != 0) {
        now_ += 10s;
        client_->handle_timeout(now_);
        server_->handle_timeout(now_);
        flush();
      }
      // Still open means still working: a record crosses both ways. Otherwise it failed or closed, cleanly.
      if (open()) {
        const std::array<std::byte, 4> ping{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}};
        const std::size_t server_before = server_records_;
        const std::size_t client_before = client_records_;
        FUZZ_CHECK(client_->send(ping).ok());
        FUZZ_CHECK(server_->send(ping).ok());
        flush();
        FUZZ_CHECK(server_records_ == server_before + 1 && client_records_ == client_before + 1);
      } else {
        FUZZ_CHECK(target.state() == SessionState::failed || target.state() == SessionState::closed ||
                   target.state() == SessionState::open);
        build_pair();
      }
      break;
    }
    case 2:
      fuzz_listener(flags, datagram, false);
      break;
    default:
      fuzz_listener(flags, datagram, true);
      break;
  }
}

}  // namespace

int fuzz_dtls_datagram(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Bytes datagram(reinterpret_cast<const std::byte*>(data + 1),
                       reinterpret_cast<const std::byte*>(data + size));
  DtlsTarget::instance().run(data[0], datagram);
  return 0;
}

}  // namespace hoplink::fuzz
