#include "transports/sctp_transport.hpp"

#include "io/udp_sockets.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/packet.hpp"
#include "transports/keyed_hash.hpp"

namespace hoplink::transport {

struct SctpTransport::RemotePeer final : SctpHost::Peer {
  RemotePeer(SctpTransport& owner, Endpoint& endpoint, PeerAddress address)
      : owner(owner), endpoint(endpoint), address(address) {}

  void send_packet(std::span<const std::byte> packet) override;
  void accept(std::unique_ptr<sctp::Association> association) override {
    owner.on_accept(*this, std::move(association));
  }

  SctpTransport& owner;
  Endpoint& endpoint;
  PeerAddress address;
  sctp::PeerToken token;
  std::uint64_t last_epoch = 0;
};

void SctpTransport::RemotePeer::send_packet(std::span<const std::byte> packet) {
  if (sctp::is_init_packet(packet)) {
    // A bridge answers no shorter INIT from an address it does not know yet (anti-amplification).
    endpoint.port->send(address, sctp::pad_init(packet, kMinInitBytes, true));
    return;
  }
  endpoint.port->send(address, packet);
}

// Takes usrsctp's answers to one packet from an unknown address, for the length of one call.
struct SctpTransport::StatelessResponder final : SctpHost::Peer {
  StatelessResponder(Endpoint& endpoint, const PeerAddress& address) : endpoint(endpoint), address(address) {}
  void send_packet(std::span<const std::byte> packet) override { endpoint.port->send(address, packet); }
  void accept(std::unique_ptr<sctp::Association>) override {}  // an INIT never opens an association

  Endpoint& endpoint;
  const PeerAddress& address;
};

SctpTransport::SctpTransport(const TransportContext& context)
    : runtime_(context.runtime),
      host_(context.host),
      log_(context.log),
      options_(context.options),
      reaper_(context.runtime, [this] { forget_idle_peers(); }),
      limiter_(context.options.limits),
      token_key_(random_hash_key()),
      endpoints_(context.runtime, context.datagrams,
                 [this](Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
                   on_datagram(endpoint, datagram);
                 }) {}

SctpTransport::~SctpTransport() {
  for (auto* endpoint : endpoints_.all()) {
    for (auto& [address, peer] : endpoint->peers) host_.remove_peer(peer->token);
  }
}

Result<PeerAddress, std::string> SctpTransport::serve(const PeerAddress& bind,
                                                      const sctp::AssociationConfig& association,
                                                      AcceptHandler on_accept) {
  auto endpoint = endpoints_.serve(bind);
  if (!endpoint.ok()) return fail(endpoint.error());
  reaper_.start();
  on_accept_ = std::move(on_accept);
  // The Stack has one listener for every transport: this transport's peers carry their own settings.
  accepted_ = association;
  auto listening = host_.listen(association);
  if (!listening.ok()) return fail(listening.error());
  return endpoint.value()->port->local_address();
}

void SctpTransport::set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) {
  endpoints_.set_outbound_bind(v4, v6);
}

SctpTransport::RemotePeer* SctpTransport::create_peer(Endpoint& endpoint, const PeerAddress& address) {
  if (peer_count_ >= options_.max_peers) {
    ++counters_.peers_refused;
    return nullptr;
  }
  auto peer = std::make_unique<RemotePeer>(*this, endpoint, address);
  // RFC 6951: SCTP straight in UDP carries its own CRC32c.
  peer->token = host_.add_peer(*peer, true, endpoint.server ? accepted_ : std::nullopt);
  peer->last_epoch = reaper_.epoch();
  auto* raw = peer.get();
  endpoint.peers.emplace(address, std::move(peer));
  ++peer_count_;
  ++counters_.peers_created;
  return raw;
}

Result<std::unique_ptr<sctp::Association>, ConnectFailure> SctpTransport::connect(
    const ConnectRequest& request) {
  const auto& bridge = request.bridge;
  if (bridge.port() == 0 || bridge.is_unspecified()) {
    return fail(ConnectFailure{pt::Socks5Reply::host_unreachable,
                               "bridge address " + bridge.to_string() + " is not usable"});
  }
  auto endpoint = endpoints_.client(bridge.family());
  if (!endpoint.ok()) return fail(ConnectFailure{{}, "cannot open a UDP socket: " + endpoint.error()});
  auto& peers = endpoint.value()->peers;
  auto found = peers.find(bridge);
  RemotePeer* peer = found != peers.end() ? found->second.get() : create_peer(*endpoint.value(), bridge);
  if (peer == nullptr) return fail(ConnectFailure{{}, "too many peers (--max-peers)"});
  peer->last_epoch = reaper_.epoch();
  reaper_.start();
  auto association = host_.connect(peer->token, request.association, request.events);
  if (!association.ok()) return fail(ConnectFailure{{}, association.error()});
  return std::move(association).value();
}

void SctpTransport::on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  auto found = endpoint.peers.find(datagram.from);
  if (found == endpoint.peers.end()) {
    on_unknown_address(endpoint, datagram);
    return;
  }
  RemotePeer* peer = found->second.get();
  peer->last_epoch = reaper_.epoch();
  if (!host_.receive(peer->token, datagram.payload)) ++counters_.dropped_by_stack;
}

void SctpTransport::on_unknown_address(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  if (endpoint.server && sctp::is_init_packet(datagram.payload)) {
    answer_init(endpoint, datagram);
  } else if (endpoint.server && sctp::is_cookie_echo_packet(datagram.payload)) {
    complete_handshake(endpoint, datagram);
  } else {
    ++counters_.dropped_unknown_peer;
  }
}

void SctpTransport::answer_init(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  const auto payload = datagram.payload;
  if (payload.size() < kMinInitBytes) {
    if (counters_.dropped_short_init++ == 0) {
      log_.info("sctp: dropped an INIT of " + std::to_string(payload.size()) + " bytes from " +
                datagram.from.to_string() + ": an INIT from a new address must be padded to " +
                std::to_string(kMinInitBytes) + " bytes (a hoplink older than the padding, or a probe); " +
                "counted as DROPPED_SHORT_INIT in STATUS from now on");
    }
    return;
  }
  if (!sctp::sctp_checksum_valid(payload)) {
    ++counters_.dropped_by_stack;
    return;
  }
  if (!limiter_.allow_answer(runtime_.now())) {
    log_limits();
    return;
  }
  scratch_.assign(payload.begin(), payload.end());
  const std::size_t size = sctp::strip_init_padding(scratch_, true);
  StatelessResponder responder(endpoint, datagram.from);
  const auto outcome =
      host_.receive_unvalidated(unvalidated_token(datagram.from), responder, SctpHost::PeerStays::never, true,
                                accepted_, std::span(scratch_).first(size), payload.size());
  if (outcome == sctp::UnvalidatedOutcome::dropped) {
    ++counters_.dropped_by_stack;
  } else {
    ++counters_.inits_answered;
  }
}

void SctpTransport::complete_handshake(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  if (peer_count_ >= options_.max_peers) {
    ++counters_.peers_refused;
    return;
  }
  auto peer = std::make_unique<RemotePeer>(*this, endpoint, datagram.from);
  peer->token = unvalidated_token(datagram.from);
  const auto outcome = host_.receive_unvalidated(peer->token, *peer, SctpHost::PeerStays::if_associated, true,
                                                 accepted_, datagram.payload, datagram.payload.size());
  if (outcome != sctp::UnvalidatedOutcome::associated) {
    ++counters_.cookies_refused;
    return;
  }
  peer->last_epoch = reaper_.epoch();
  endpoint.peers.emplace(datagram.from, std::move(peer));
  ++peer_count_;
  ++counters_.peers_created;
}

sctp::PeerToken SctpTransport::unvalidated_token(const PeerAddress& address) const {
  const std::uint64_t h = keyed_hash(
      token_key_, address.address_bytes(),
      (static_cast<std::uint64_t>(address.port()) << 8) | static_cast<std::uint64_t>(address.family()));
  return sctp::PeerToken{static_cast<std::uint32_t>(h) | sctp::Stack::kUnvalidatedTokenBit};
}

void SctpTransport::on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association) {
  if (!on_accept_) return;  // a client endpoint: nobody accepts there, dropping aborts it
  // Counted once the peer proved its address, so that forged packets cannot use up the rate.
  if (!limiter_.allow_handshake(peer.address, runtime_.now())) {
    log_limits();
    return;  // dropping it aborts it
  }
  on_accept_(std::move(association), peer.address);
}

void SctpTransport::log_limits() {
  if (auto line = limiter_.report(runtime_.now()); !line.empty()) log_.warning("sctp: " + line);
}

void SctpTransport::forget_idle_peers() {
  for (auto* endpoint : endpoints_.all()) {
    for (auto it = endpoint->peers.begin(); it != endpoint->peers.end();) {
      auto& peer = *it->second;
      if (reaper_.idle(peer.last_epoch) && host_.association_count(peer.token) == 0) {
        host_.remove_peer(peer.token);
        it = endpoint->peers.erase(it);
        --peer_count_;
        ++counters_.peers_forgotten;
      } else {
        ++it;
      }
    }
  }
}

StatusFields SctpTransport::status_fields() const {
  StatusFields fields;
  fields.emplace_back("PEERS", std::to_string(peer_count_));
  dio::IoCounters io;
  endpoints_.add_io_counters(io);
  add_io_fields(fields, io);
  add_field(fields, "DROPPED_UNKNOWN_PEER", counters_.dropped_unknown_peer);
  add_field(fields, "DROPPED_INVALID", counters_.dropped_by_stack);
  add_field(fields, "PEERS_REFUSED", counters_.peers_refused);
  add_field(fields, "DROPPED_SHORT_INIT", counters_.dropped_short_init);
  add_field(fields, "INITS_ANSWERED", counters_.inits_answered);
  add_field(fields, "COOKIES_REFUSED", counters_.cookies_refused);
  add_field(fields, "REPLIES_OVER_BUDGET", host_.counters().replies_over_budget);
  add_limiter_fields(fields, limiter_.counters());

  return fields;
}

}  // namespace hoplink::transport
