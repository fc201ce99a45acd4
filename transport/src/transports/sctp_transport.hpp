// The `sctp` transport: SCTP packets as UDP payloads (RFC 6951) on one UDP socket per role. Keeps the
// UDP peers (address <-> SCTP peer token), creates them on demand and forgets idle ones.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "io/datagram_io_factory.hpp"
#include "io/datagram_port.hpp"
#include "io/udp_sockets.hpp"
#include "runtime/idle_reaper.hpp"
#include "runtime/logger.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/sctp_host.hpp"
#include "transports/transport_options.hpp"

namespace hoplink::transport {

struct TransportCounters {
  std::uint64_t peers_created = 0;
  std::uint64_t peers_forgotten = 0;
  std::uint64_t peers_refused = 0;         // over --max-peers
  std::uint64_t dropped_unknown_peer = 0;  // not an INIT from an address we do not know
  std::uint64_t dropped_by_stack = 0;      // bad checksum, malformed
};

class SctpTransport final : public DatagramTransport {
 public:
  explicit SctpTransport(const TransportContext& context);
  ~SctpTransport() override;
  SctpTransport(const SctpTransport&) = delete;
  SctpTransport& operator=(const SctpTransport&) = delete;

  const std::string& name() const override { return name_; }
  Result<PeerAddress, std::string> serve(const PeerAddress& bind, const sctp::AssociationConfig& association,
                                         AcceptHandler on_accept) override;
  void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) override;
  void set_proxy(ClientProxy* proxy) override { endpoints_.set_proxy(proxy); }
  // Bridge-line arguments are not used by sctp.
  Result<std::unique_ptr<sctp::Association>, ConnectFailure> connect(const ConnectRequest& request) override;
  StatusFields status_fields() const override;

 private:
  struct RemotePeer;
  using Endpoints = UdpEndpoints<RemotePeer>;
  using Endpoint = Endpoints::Endpoint;

  RemotePeer* create_peer(Endpoint& endpoint, const PeerAddress& address);
  void on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  void on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association);
  void forget_idle_peers();

  SctpHost& host_;
  Logger& log_;
  const TransportOptions& options_;
  std::string name_ = "sctp";
  std::optional<sctp::AssociationConfig> accepted_;  // this transport's settings for accepted associations
  AcceptHandler on_accept_;
  std::size_t peer_count_ = 0;
  IdleReaper reaper_;
  TransportCounters counters_;
  Endpoints endpoints_;  // last: its ports and peers go first
};

}  // namespace hoplink::transport
