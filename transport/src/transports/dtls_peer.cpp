#include "transports/dtls_peer.hpp"

namespace hoplink::transport {

namespace {

ConnectFailure failure_of(dtls::SessionState state, const dtls::Error& error) {
  if (state == dtls::SessionState::closed) {
    return {pt::Socks5Reply::connection_refused, "the bridge closed the DTLS session during the handshake"};
  }
  switch (error.kind) {
    case dtls::ErrorKind::handshake_timeout:
      return {pt::Socks5Reply::ttl_expired, error.message};
    case dtls::ErrorKind::handshake_failed:
      return {pt::Socks5Reply::connection_refused, error.message};
    default:
      return {pt::Socks5Reply::general_failure, error.message};
  }
}

}  // namespace

DtlsPeer::DtlsPeer(Runtime& runtime, SctpHost& host, DtlsPeerOwner& owner, DatagramPort& port,
                   PeerAddress address, std::optional<sctp::AssociationConfig> accepted)
    : runtime_(runtime),
      host_(host),
      owner_(owner),
      port_(port),
      address_(address),
      timer_(runtime),
      report_failure_(runtime, [this] { owner_.on_session_changed(*this); }) {
  token_ = host_.add_peer(*this, false, std::move(accepted));
  registered_ = true;
}

DtlsPeer::~DtlsPeer() {
  retire();
}

dtls::SessionCallbacks DtlsPeer::callbacks() {
  return {
      [this](std::span<const std::byte> datagram) { port_.send(address_, datagram); },
      [this](std::span<const std::byte> record) {
        inbox_.insert(inbox_.end(), record.begin(), record.end());
        inbox_ends_.push_back(inbox_.size());
      },
  };
}

Result<void, dtls::Error> DtlsPeer::start_client(std::string_view fingerprint,
                                                 const dtls::SessionConfig& config, dtls::TimePoint now) {
  fingerprint_ = std::string(fingerprint);
  auto session = dtls::DtlsSession::create_client(address_, fingerprint, config, callbacks(), now);
  if (!session.ok()) return fail(session.error());
  session_.emplace(std::move(session).value());
  arm_timer();
  return {};
}

Result<void, dtls::Error> DtlsPeer::start_server(dtls::PendingHandshake&& hello, dtls::TimePoint now) {
  auto session = dtls::DtlsSession::accept(std::move(hello), callbacks(), now);
  if (!session.ok()) return fail(session.error());
  session_.emplace(std::move(session).value());
  arm_timer();
  return {};
}

void DtlsPeer::receive(std::span<const std::byte> datagram, dtls::TimePoint now) {
  if (!session_ || !registered_) return;
  const auto before = session_->state();
  session_->receive_datagram(datagram, now);
  if (!inbox_ends_.empty() || session_->state() != before) last_heard_ = now;
  after_session_call(before);
}

void DtlsPeer::after_session_call(dtls::SessionState before) {
  deliver_records();
  const auto state = session_->state();
  if (state != before) {
    if (state == dtls::SessionState::open) {
      waiters_.clear();
      flush_queue();
    } else {
      timer_.cancel();
    }
    owner_.on_session_changed(*this);
    return;
  }
  arm_timer();
}

void DtlsPeer::deliver_records() {
  std::size_t begin = 0;
  for (const std::size_t end : inbox_ends_) {
    ++counters_.records_in;
    // SCTP may send at once from inside this call (a SACK): that goes to send_packet and the session, which
    // is no longer inside one of its own calls.
    if (registered_) host_.receive(token_, std::span(inbox_.data() + begin, end - begin));
    begin = end;
  }
  inbox_.clear();
  inbox_ends_.clear();
}

void DtlsPeer::send_packet(std::span<const std::byte> packet) {
  // Runs inside usrsctp (its output callback): encrypt and queue the datagram, nothing else.
  const auto state = session_ ? session_->state() : dtls::SessionState::failed;
  if (state == dtls::SessionState::handshaking && !session_->is_server() &&
      queue_.size() < kMaxQueuedPackets) {
    queue_.emplace_back(packet.begin(), packet.end());
    return;
  }
  if (state != dtls::SessionState::open || !session_->send(packet).ok()) {
    ++counters_.packets_dropped;
    if (session_ && session_->state() == dtls::SessionState::failed && state == dtls::SessionState::open) {
      // The owner reacts from the loop, outside usrsctp.
      report_failure_.schedule();
    }
    return;
  }
  ++counters_.records_out;
}

void DtlsPeer::flush_queue() {
  auto queued = std::move(queue_);
  queue_.clear();
  for (const auto& packet : queued) send_packet(packet);
  port_.flush();
}

void DtlsPeer::accept(std::unique_ptr<sctp::Association> association) {
  owner_.on_accept(*this, std::move(association));
}

void DtlsPeer::arm_timer() {
  const auto deadline = session_ ? session_->next_deadline() : std::nullopt;
  if (!deadline) {
    timer_.cancel();
    return;
  }
  if (timer_.armed() && timer_.deadline() == *deadline) return;
  timer_.arm_at(*deadline, [this] {
    if (!session_ || !registered_) return;
    const auto before = session_->state();
    session_->handle_timeout(runtime_.now());
    port_.flush();
    after_session_call(before);
  });
}

void DtlsPeer::retire() {
  timer_.cancel();
  queue_.clear();
  // The associations this session carried cannot outlive it: they are aborted now, rather than each waiting
  // out the dead-peer timeout with its tor connection open (the peer's ABORT may have been lost, and its
  // close_notify got here). While the session is still open their ABORTs go out ahead of close_notify.
  if (registered_) host_.abort_associations(token_);
  if (session_ && session_->state() == dtls::SessionState::open) {
    session_->close();  // close_notify: the peer drops its side now rather than at its dead-peer timeout
    port_.flush();
  }
  if (registered_) {
    registered_ = false;
    host_.remove_peer(token_);
  }
}

void DtlsPeer::add_waiter(std::function<void(const ConnectFailure&)> on_failure) {
  if (on_failure) waiters_.push_back(std::move(on_failure));
}

void DtlsPeer::fail_waiters() {
  if (waiters_.empty()) return;
  const auto failure = failure_of(state(), error());
  auto waiters = std::move(waiters_);
  waiters_.clear();
  for (auto& waiter : waiters) waiter(failure);
}

dtls::SessionState DtlsPeer::state() const {
  return session_ ? session_->state() : dtls::SessionState::failed;
}

const dtls::Error& DtlsPeer::error() const {
  static const dtls::Error none;
  return session_ ? session_->error() : none;
}

std::size_t DtlsPeer::association_count() const {
  return registered_ ? host_.association_count(token_) : 0;
}

}  // namespace hoplink::transport
