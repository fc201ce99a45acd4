#include "transports/sctp_transport.hpp"

#include "io/udp_sockets.hpp"
#include "sctp/crc32c.hpp"
#include "sctp/packet.hpp"

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
  endpoint.port->send(address, packet);
}

SctpTransport::SctpTransport(const TransportContext& context)
    : host_(context.host),
      log_(context.log),
      options_(context.options),
      reaper_(context.runtime, [this] { forget_idle_peers(); }),
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
  RemotePeer* peer = nullptr;
  if (found != endpoint.peers.end()) {
    peer = found->second.get();
  } else {
    // No state for an address until it sends a well-formed INIT; usrsctp answers INIT statelessly (cookie).
    const bool valid = endpoint.server && sctp::is_init_packet(datagram.payload) &&
                       sctp::sctp_checksum_valid(datagram.payload);
    if (!valid) {
      ++counters_.dropped_unknown_peer;
      return;
    }
    peer = create_peer(endpoint, datagram.from);
    if (peer == nullptr) return;
  }
  peer->last_epoch = reaper_.epoch();
  if (!host_.receive(peer->token, datagram.payload)) ++counters_.dropped_by_stack;
}

void SctpTransport::on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association) {
  if (!on_accept_) return;  // a client endpoint: nobody accepts there, dropping aborts it
  on_accept_(std::move(association), peer.address);
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
  return fields;
}

}  // namespace hoplink::transport
