#include "transports/dtls_transport.hpp"

#include "dtls/record.hpp"
#include "io/udp_sockets.hpp"

namespace hoplink::transport {

namespace {

// --dtls-max-half-open refusals are logged the first time and then once per this many.
constexpr std::uint64_t kRefusalLogEvery = 1000;

dtls::SessionConfig session_config(const DtlsOptions& options, const sctp::AssociationConfig& association) {
  dtls::SessionConfig config;
  config.max_datagram_size = association.mtu;  // --mtu is the whole UDP payload
  config.handshake_timeout = options.handshake_timeout;
  return config;
}

// An SCTP packet of --mtu minus the record overhead fits one datagram of --mtu.
sctp::AssociationConfig inside_dtls(sctp::AssociationConfig config) {
  config.mtu -= dtls::kMaxRecordOverhead;
  return config;
}

}  // namespace

DtlsTransport::DtlsTransport(const TransportContext& context)
    : runtime_(context.runtime),
      host_(context.host),
      log_(context.log),
      options_(context.options),
      state_directory_(context.state_directory),
      reap_(context.runtime,
            [this] {
              retiring_.clear();  // peers before the sockets they send through
              retiring_endpoints_.clear();
            }),
      reaper_(context.runtime, [this] { forget_idle_peers(); }),
      // Often enough that a closed link's socket goes soon after it (descriptors are counted by operators).
      client_sweep_(
          context.runtime, [this] { close_finished_clients(); }, std::chrono::milliseconds(500)),
      limiter_(context.options.limits),
      endpoints_(context.runtime, context.datagrams,
                 [this](Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
                   on_datagram(endpoint, datagram);
                 }) {}

DtlsTransport::~DtlsTransport() {
  // Every peer says close_notify and unregisters from SCTP before its port goes (peers die first: Endpoint
  // declares them after the port).
  for (auto* endpoint : endpoints_.all()) {
    for (auto& [address, peer] : endpoint->peers) peer->retire();
  }
  for (auto& [key, endpoint] : clients_) {
    for (auto& [address, peer] : endpoint->peers) peer->retire();
  }
  retiring_.clear();
  clients_.clear();
  retiring_endpoints_.clear();
}

Result<PeerAddress, std::string> DtlsTransport::serve(const PeerAddress& bind,
                                                      const sctp::AssociationConfig& association,
                                                      AcceptHandler on_accept) {
  if (endpoints_.server() != nullptr) return fail(std::string("already serving"));
  if (state_directory_.empty()) {
    auto identity = dtls::Identity::generate();
    if (!identity.ok()) return fail("cannot create a DTLS identity: " + identity.error().message);
    identity_.emplace(std::move(identity).value());
    log_.notice("dtls: no state directory, so this certificate lasts for this run only: fp=" +
                identity_->fingerprint());
  } else {
    auto identity = dtls::load_or_create_identity(state_directory_);
    if (!identity.ok()) return fail("DTLS identity: " + identity.error().message);
    identity_.emplace(std::move(identity).value());
    log_.notice("dtls: certificate in " + state_directory_ + " has fp=" + identity_->fingerprint());
  }
  dtls::ListenerConfig config;
  config.session = session_config(options_.dtls, association);
  auto listener = dtls::Listener::create(*identity_, config, runtime_.now());
  if (!listener.ok()) return fail("DTLS listener: " + listener.error().message);
  listener_.emplace(std::move(listener).value());
  accepted_ = inside_dtls(association);
  auto endpoint = endpoints_.serve(bind);
  if (!endpoint.ok()) return fail(endpoint.error());
  reaper_.start();
  on_accept_ = std::move(on_accept);
  auto listening = host_.listen(accepted_);
  if (!listening.ok()) return fail(listening.error());
  return endpoint.value()->port->local_address();
}

pt::Args DtlsTransport::smethod_args() const {
  if (!identity_) return {};
  return {{"fp", identity_->fingerprint()}};
}

void DtlsTransport::set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) {
  endpoints_.set_outbound_bind(v4, v6);
}

Result<std::unique_ptr<sctp::Association>, ConnectFailure> DtlsTransport::connect(
    const ConnectRequest& request) {
  const auto& bridge = request.bridge;
  if (bridge.port() == 0 || bridge.is_unspecified()) {
    return fail(ConnectFailure{pt::Socks5Reply::host_unreachable,
                               "bridge address " + bridge.to_string() + " is not usable"});
  }
  const auto fingerprint = pt::find_arg(request.args, "fp");
  if (!fingerprint || fingerprint->empty()) {
    return fail(
        ConnectFailure{pt::Socks5Reply::general_failure,
                       "the bridge line of dtls bridge " + bridge.to_string() +
                           " has no fp= argument: refusing to connect without the bridge's certificate "
                           "fingerprint (add fp=<64 hex digits> from the bridge's hoplink_bridgeline.txt)"});
  }
  if (peer_count_ >= options_.max_peers) {
    ++counters_.peers_refused;
    return fail(ConnectFailure{{}, "too many peers (--max-peers)"});
  }
  auto endpoint = endpoints_.open_client(bridge.family());
  if (!endpoint.ok()) return fail(ConnectFailure{{}, "cannot open a UDP socket: " + endpoint.error()});
  Endpoint& e = *endpoint.value();
  auto created = std::make_unique<DtlsPeer>(runtime_, host_, as_owner(), *e.port, bridge, std::nullopt);
  auto started =
      created->start_client(*fingerprint, session_config(options_.dtls, request.association), runtime_.now());
  if (!started.ok()) return fail(ConnectFailure{pt::Socks5Reply::general_failure, started.error().message});
  ++counters_.handshakes_started;
  DtlsPeer* peer = created.get();
  peer->last_epoch = reaper_.epoch();
  peer->add_waiter(request.on_failure);
  e.peers.emplace(bridge, std::move(created));
  clients_.emplace(&e, std::move(endpoint).value());
  ++peer_count_;
  client_sweep_.start();
  auto association = host_.connect(peer->token(), inside_dtls(request.association), request.events);
  if (!association.ok()) return fail(ConnectFailure{{}, association.error()});
  return std::move(association).value();
}

void DtlsTransport::on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  const auto t = runtime_.now();
  auto found = endpoint.peers.find(datagram.from);
  if (found == endpoint.peers.end()) {
    // No state for an address until it returns a valid cookie.
    if (!endpoint.server || !listener_ || !offer_to_listener(endpoint, datagram, t, false)) {
      ++counters_.dropped_unknown_peer;
    }
    return;
  }
  DtlsPeer& peer = *found->second;
  if (endpoint.server && peer.state() == dtls::SessionState::open &&
      dtls::is_epoch0_handshake_record(datagram.payload) && offer_to_listener(endpoint, datagram, t, true)) {
    return;
  }
  peer.last_epoch = reaper_.epoch();
  peer.receive(datagram.payload, t);
}

void DtlsTransport::log_limits() {
  if (auto line = limiter_.report(runtime_.now()); !line.empty()) log_.warning("dtls: " + line);
}

bool DtlsTransport::offer_to_listener(Endpoint& endpoint, const dio::ReceivedDatagram& datagram,
                                      dtls::TimePoint t, bool known_peer) {
  auto decision = listener_->receive(datagram.from, datagram.payload, t);
  switch (decision.kind) {
    case dtls::ListenDecision::Kind::reply:
      // Never longer than the datagram it answers (the Listener checks): no amplification.
      if (!limiter_.allow_answer(t)) {
        log_limits();
        return true;
      }
      endpoint.port->send(datagram.from, decision.reply);
      ++counters_.cookies_sent;
      return true;
    case dtls::ListenDecision::Kind::accept:
      if (known_peer) retire(endpoint, datagram.from, "the client started a new handshake");
      accept_handshake(endpoint, datagram.from, std::move(decision.pending), t);
      return true;
    case dtls::ListenDecision::Kind::drop:
      break;
  }
  // A known peer's epoch-0 handshake record that is not a ClientHello belongs to its session.
  return false;
}

void DtlsTransport::accept_handshake(Endpoint& endpoint, const PeerAddress& from,
                                     dtls::PendingHandshake&& hello, dtls::TimePoint t) {
  if (half_open_.size() >= options_.dtls.max_half_open) {
    if (counters_.half_open_refused++ % kRefusalLogEvery == 0) {
      log_.warning("dtls: handshake from " + from.to_string() +
                   " refused: " + std::to_string(half_open_.size()) +
                   " handshakes already in progress (--dtls-max-half-open); " +
                   std::to_string(counters_.half_open_refused) + " refused so far");
    }
    return;
  }
  if (peer_count_ >= options_.max_peers) {
    ++counters_.peers_refused;
    return;
  }
  // The cookie proved the address: the rates count real sources only, and the DTLS handshake (which signs)
  // is not started when over them. The client retransmits its ClientHello.
  if (!limiter_.allow_handshake(from, t)) {
    log_limits();
    return;
  }
  auto peer = std::make_unique<DtlsPeer>(runtime_, host_, as_owner(), *endpoint.port, from, accepted_);
  auto started = peer->start_server(std::move(hello), t);
  if (!started.ok() || peer->state() != dtls::SessionState::handshaking) {
    ++counters_.handshakes_failed;
    log_.info("dtls: handshake from " + from.to_string() +
              " failed at once: " + (started.ok() ? peer->error().message : started.error().message));
    return;
  }
  ++counters_.handshakes_started;
  peer->last_epoch = reaper_.epoch();
  half_open_.insert(peer.get());
  endpoint.peers.emplace(from, std::move(peer));
  ++peer_count_;
}

void DtlsTransport::on_session_changed(DtlsPeer& peer) {
  const bool was_half_open = half_open_.erase(&peer) > 0;
  Endpoint* endpoint = endpoint_of(peer);
  const auto state = peer.state();
  if (state == dtls::SessionState::open) {
    ++counters_.handshakes_ok;
    const auto* session = peer.session();
    log_.debug("dtls: session with " + peer.address().to_string() + " open (" + session->version_name() +
               ", " + session->cipher_name() + ", records up to " +
               std::to_string(session->max_record_payload()) + " bytes)");
    return;
  }
  const auto& error = peer.error();
  const bool in_handshake = state == dtls::SessionState::failed && error.kind != dtls::ErrorKind::protocol;
  if (state == dtls::SessionState::closed || !in_handshake) {
    ++counters_.sessions_closed;
    log_.info("dtls: session with " + peer.address().to_string() + " ended: " +
              (state == dtls::SessionState::closed ? std::string("closed by the peer") : error.message));
  } else if (error.kind == dtls::ErrorKind::handshake_timeout) {
    ++counters_.handshakes_timed_out;
    log_.info("dtls: " + error.message);
  } else {
    ++counters_.handshakes_failed;
    if (error.kind == dtls::ErrorKind::fingerprint_mismatch) ++counters_.fingerprint_mismatch;
    // A client's failures reach the operator through the link's own LOG line (see ClientSession).
    log_.info("dtls: " + error.message + (was_half_open ? " (server side)" : ""));
  }
  peer.fail_waiters();
  if (endpoint != nullptr) retire(*endpoint, peer.address(), "session ended");
}

void DtlsTransport::on_accept(DtlsPeer& peer, std::unique_ptr<sctp::Association> association) {
  Endpoint* endpoint = endpoint_of(peer);
  // A client endpoint accepts nothing: dropping the association aborts it.
  if (endpoint == nullptr || !endpoint->server || !on_accept_) return;
  on_accept_(std::move(association), peer.address());
}

DtlsTransport::Endpoint* DtlsTransport::endpoint_of(const DtlsPeer& peer) {
  auto holds = [&peer](Endpoint& endpoint) {
    auto found = endpoint.peers.find(peer.address());
    return found != endpoint.peers.end() && found->second.get() == &peer;
  };
  if (auto* server = endpoints_.server(); server != nullptr && holds(*server)) return server;
  for (auto& [key, endpoint] : clients_) {
    if (holds(*endpoint)) return endpoint.get();
  }
  return nullptr;
}

void DtlsTransport::retire(Endpoint& endpoint, const PeerAddress& address, const char* why) {
  auto found = endpoint.peers.find(address);
  if (found == endpoint.peers.end()) return;
  auto peer = std::move(found->second);
  endpoint.peers.erase(found);
  --peer_count_;
  half_open_.erase(peer.get());
  counters_.packets_dropped += peer->counters().packets_dropped;
  log_.debug("dtls: session with " + address.to_string() + " retired: " + why);
  peer->retire();
  retiring_.push_back(std::move(peer));
  if (!endpoint.server) {
    // A client socket serves one session: it goes with it.
    auto owned = clients_.find(&endpoint);
    if (owned != clients_.end()) {
      add_io_counters(retired_io_, *owned->second->port);
      retiring_endpoints_.push_back(std::move(owned->second));
      clients_.erase(owned);
    }
  }
  reap_.schedule();
}

void DtlsTransport::close_finished_clients() {
  std::vector<Endpoint*> finished;
  for (auto& [key, endpoint] : clients_) {
    for (const auto& [address, peer] : endpoint->peers) {
      if (peer->association_count() == 0) finished.push_back(endpoint.get());
    }
  }
  for (auto* endpoint : finished) {
    const auto address = endpoint->peers.begin()->first;
    retire(*endpoint, address, "its link is gone");
  }
}

void DtlsTransport::forget_idle_peers() {
  for (auto* endpoint : endpoints_.all()) {
    std::vector<PeerAddress> idle;
    for (const auto& [address, peer] : endpoint->peers) {
      if (reaper_.idle(peer->last_epoch) && peer->association_count() == 0 &&
          peer->state() != dtls::SessionState::handshaking) {
        idle.push_back(address);
      }
    }
    for (const auto& address : idle) retire(*endpoint, address, "idle");
  }
}

StatusFields DtlsTransport::status_fields() const {
  StatusFields fields;
  std::uint64_t packets_dropped = counters_.packets_dropped;
  for (const auto* endpoint : endpoints_.all()) {
    for (const auto& [address, peer] : endpoint->peers) packets_dropped += peer->counters().packets_dropped;
  }
  for (const auto& [key, endpoint] : clients_) {
    for (const auto& [address, peer] : endpoint->peers) packets_dropped += peer->counters().packets_dropped;
  }
  add_field(fields, "PEERS", peer_count_);  // sessions: one per client link, one per client address served
  add_field(fields, "DTLS_HALF_OPEN", half_open_.size());
  // Client sockets come and go with their links: the closed ones' counts are kept in retired_io_.
  dio::IoCounters io = retired_io_;
  endpoints_.add_io_counters(io);
  for (const auto& [key, endpoint] : clients_) add_io_counters(io, *endpoint->port);
  add_io_fields(fields, io);
  add_field(fields, "DTLS_COOKIES_SENT", counters_.cookies_sent);
  add_field(fields, "DTLS_HANDSHAKES_STARTED", counters_.handshakes_started);
  add_field(fields, "DTLS_HANDSHAKES_OK", counters_.handshakes_ok);
  add_field(fields, "DTLS_HANDSHAKES_FAILED", counters_.handshakes_failed);
  add_field(fields, "DTLS_HANDSHAKES_TIMED_OUT", counters_.handshakes_timed_out);
  add_field(fields, "DTLS_FINGERPRINT_MISMATCH", counters_.fingerprint_mismatch);
  add_field(fields, "DTLS_HALF_OPEN_REFUSED", counters_.half_open_refused);
  add_field(fields, "DTLS_SESSIONS_CLOSED", counters_.sessions_closed);
  add_field(fields, "DTLS_PACKETS_DROPPED", packets_dropped);
  add_field(fields, "DROPPED_UNKNOWN_PEER", counters_.dropped_unknown_peer);
  add_limiter_fields(fields, limiter_.counters());
  add_field(fields, "PEERS_REFUSED", counters_.peers_refused);
  return fields;
}

}  // namespace hoplink::transport
