#include "sctp_transport.hpp"

#include "sctp/crc32c.hpp"

namespace hoplink::transport {

namespace {

// A UDP peer is forgotten after this many reaper periods with no datagram and no association.
constexpr std::uint64_t kIdleEpochs = 3;
constexpr std::chrono::seconds kReaperPeriod{10};

// The first chunk of a packet that starts an association (RFC 4960 3.3.2): type 1, INIT.
bool is_init(std::span<const std::byte> packet) {
  constexpr std::size_t kCommonHeader = 12;
  constexpr std::size_t kInitChunk = 20;
  return packet.size() >= kCommonHeader + kInitChunk && packet[kCommonHeader] == std::byte{1};
}

}  // namespace

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

struct SctpTransport::Endpoint {
  std::unique_ptr<DatagramPort> port;
  std::unordered_map<PeerAddress, std::unique_ptr<RemotePeer>, PeerAddressHash> peers;
  bool accepts_new_peers = false;
};

void SctpTransport::RemotePeer::send_packet(std::span<const std::byte> packet) {
  endpoint.port->send(address, packet);
}

SctpTransport::SctpTransport(asio::io_context& io, SctpHost& host, DatagramIoFactory& datagrams, Logger& log,
                             const Options& options)
    : io_(io), host_(host), datagrams_(datagrams), log_(log), options_(options), reaper_(io) {}

SctpTransport::~SctpTransport() {
  *alive_ = false;
  reaper_.cancel();
  for (auto* endpoint : {server_.get(), client_v4_.get(), client_v6_.get()}) {
    if (endpoint == nullptr) continue;
    for (auto& [address, peer] : endpoint->peers) host_.remove_peer(peer->token);
  }
}

std::unique_ptr<SctpTransport::Endpoint> SctpTransport::open_endpoint(const PeerAddress& bind,
                                                                      bool accepts_new_peers,
                                                                      std::string& error) {
  auto socket = datagrams_.open(bind);
  if (!socket.ok()) {
    error = socket.error();
    return nullptr;
  }
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->accepts_new_peers = accepts_new_peers;
  auto* raw = endpoint.get();
  endpoint->port = std::make_unique<DatagramPort>(
      io_, std::move(socket).value(),
      [this, raw](const dio::ReceivedDatagram& datagram) { on_datagram(*raw, datagram); },
      [this] { host_.settle(); });
  host_.add_flusher([raw, alive = alive_] {
    if (*alive) raw->port->flush();
  });
  endpoint->port->start();
  arm_reaper();
  return endpoint;
}

Result<PeerAddress, std::string> SctpTransport::serve(const PeerAddress& bind, const LinkOptions& link,
                                                      AcceptHandler on_accept) {
  if (server_) return fail(std::string("already serving"));
  std::string error;
  server_ = open_endpoint(bind, true, error);
  if (!server_) return fail(error);
  on_accept_ = std::move(on_accept);
  auto listening = host_.listen(link.association);
  if (!listening.ok()) return fail(listening.error());
  return server_->port->local_address();
}

void SctpTransport::set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) {
  outbound_v4_ = v4;
  outbound_v6_ = v6;
}

Result<SctpTransport::Endpoint*, std::string> SctpTransport::client_endpoint(PeerAddress::Family family) {
  auto& slot = family == PeerAddress::Family::v6 ? client_v6_ : client_v4_;
  if (!slot) {
    PeerAddress bind = family == PeerAddress::Family::v6
                           ? outbound_v6_.value_or(PeerAddress::v6({}, 0)).with_port(0)
                           : outbound_v4_.value_or(PeerAddress::v4({0, 0, 0, 0}, 0)).with_port(0);
    std::string error;
    slot = open_endpoint(bind, false, error);
    if (!slot) return fail(error);
  }
  return slot.get();
}

SctpTransport::RemotePeer* SctpTransport::create_peer(Endpoint& endpoint, const PeerAddress& address) {
  if (peer_count_ >= options_.link.max_peers) {
    ++counters_.peers_refused;
    return nullptr;
  }
  auto peer = std::make_unique<RemotePeer>(*this, endpoint, address);
  peer->token = host_.add_peer(*peer, crc32c_);
  peer->last_epoch = epoch_;
  auto* raw = peer.get();
  endpoint.peers.emplace(address, std::move(peer));
  ++peer_count_;
  ++counters_.peers_created;
  return raw;
}

Result<std::unique_ptr<sctp::Association>, std::string> SctpTransport::connect(
    const PeerAddress& bridge, const LinkOptions& link, sctp::AssociationEvents& events) {
  if (bridge.port() == 0 || bridge.is_unspecified()) {
    return fail("bridge address " + bridge.to_string() + " is not usable");
  }
  auto endpoint = client_endpoint(bridge.family());
  if (!endpoint.ok()) return fail("cannot open a UDP socket: " + endpoint.error());
  auto& peers = endpoint.value()->peers;
  auto found = peers.find(bridge);
  RemotePeer* peer = found != peers.end() ? found->second.get() : create_peer(*endpoint.value(), bridge);
  if (peer == nullptr) return fail(std::string("too many peers (--max-peers)"));
  peer->last_epoch = epoch_;
  return host_.connect(peer->token, link.association, events);
}

void SctpTransport::on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram) {
  auto found = endpoint.peers.find(datagram.from);
  RemotePeer* peer = nullptr;
  if (found != endpoint.peers.end()) {
    peer = found->second.get();
  } else {
    // No state for an address until it sends a well-formed INIT; usrsctp answers INIT statelessly (cookie).
    const bool valid = endpoint.accepts_new_peers && is_init(datagram.payload) &&
                       (!crc32c_ || sctp::sctp_checksum_valid(datagram.payload));
    if (!valid) {
      ++counters_.dropped_unknown_peer;
      return;
    }
    peer = create_peer(endpoint, datagram.from);
    if (peer == nullptr) return;
  }
  peer->last_epoch = epoch_;
  if (!host_.receive(peer->token, datagram.payload)) ++counters_.dropped_by_stack;
}

void SctpTransport::on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association) {
  if (!on_accept_) return;  // a client endpoint: nobody accepts there, dropping aborts it
  on_accept_(std::move(association), peer.address);
}

void SctpTransport::arm_reaper() {
  if (reaper_armed_) return;
  reaper_armed_ = true;
  reaper_.expires_after(kReaperPeriod);
  reaper_.async_wait([this, alive = alive_](const error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    reaper_armed_ = false;
    ++epoch_;
    forget_idle_peers();
    arm_reaper();
  });
}

void SctpTransport::forget_idle_peers() {
  for (auto* endpoint : {server_.get(), client_v4_.get(), client_v6_.get()}) {
    if (endpoint == nullptr) continue;
    for (auto it = endpoint->peers.begin(); it != endpoint->peers.end();) {
      auto& peer = *it->second;
      if (epoch_ - peer.last_epoch >= kIdleEpochs && host_.association_count(peer.token) == 0) {
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
  dio::IoCounters io;
  for (const auto* endpoint : {server_.get(), client_v4_.get(), client_v6_.get()}) {
    if (endpoint == nullptr) continue;
    const auto& c = endpoint->port->io().counters();
    io.rx_datagrams += c.rx_datagrams;
    io.rx_bytes += c.rx_bytes;
    io.rx_truncated += c.rx_truncated;
    io.tx_datagrams += c.tx_datagrams;
    io.tx_bytes += c.tx_bytes;
    io.tx_dropped_full += c.tx_dropped_full + c.tx_dropped_too_big;
    io.tx_errors += c.tx_errors;
  }
  auto add = [&fields](const char* key, std::uint64_t value) {
    fields.emplace_back(key, std::to_string(value));
  };
  add("PEERS", peer_count_);
  add("RX_DATAGRAMS", io.rx_datagrams);
  add("RX_BYTES", io.rx_bytes);
  add("TX_DATAGRAMS", io.tx_datagrams);
  add("TX_BYTES", io.tx_bytes);
  add("RX_TRUNCATED", io.rx_truncated);
  add("TX_DROPPED", io.tx_dropped_full);
  add("TX_ERRORS", io.tx_errors);
  add("DROPPED_UNKNOWN_PEER", counters_.dropped_unknown_peer);
  add("DROPPED_INVALID", counters_.dropped_by_stack);
  add("PEERS_REFUSED", counters_.peers_refused);
  return fields;
}

}  // namespace hoplink::transport
