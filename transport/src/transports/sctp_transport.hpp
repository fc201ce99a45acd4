// The `sctp` transport: SCTP packets as UDP payloads (RFC 6951) on one UDP socket per role. Keeps the
// UDP peers (address <-> SCTP peer token), creates them on demand and forgets idle ones.
//
// A bridge keeps nothing for an address until it proves that it receives what the bridge sends, and never
// answers an unproven address with more bytes than it sent:
// - an INIT from an unknown address must be padded to kMinInitBytes (clients pad theirs: sctp::pad_init);
//   the padding is stripped and usrsctp answers statelessly with an INIT ACK whose state cookie is signed
//   over a token derived from the address, and no answer larger than the INIT leaves;
// - a COOKIE ECHO from an unknown address creates its peer only when usrsctp accepts the cookie, which it
//   does only from the address the INIT ACK went to.
// Answers to unproven addresses and new associations are rate-limited (HandshakeLimiter).
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
#include "transports/handshake_limiter.hpp"
#include "transports/sctp_host.hpp"
#include "transports/transport_options.hpp"

namespace hoplink::transport {

struct TransportCounters {
  std::uint64_t peers_created = 0;
  std::uint64_t peers_forgotten = 0;
  std::uint64_t peers_refused = 0;         // over --max-peers
  std::uint64_t dropped_unknown_peer = 0;  // not an INIT from an address we do not know
  std::uint64_t dropped_by_stack = 0;      // bad checksum, malformed
  std::uint64_t dropped_short_init = 0;    // an INIT from an unknown address not padded to kMinInitBytes
  std::uint64_t inits_answered = 0;        // INIT ACKs sent to unknown addresses (statelessly)
  std::uint64_t cookies_refused = 0;       // COOKIE ECHOs from unknown addresses that usrsctp refused
};

// An INIT from an address the bridge does not know must be at least this long. usrsctp's INIT ACK to a
// hoplink client is 208 bytes (its state cookie holds the INIT and the INIT ACK's parameters): 512 leaves
// room for more parameters, and with the 22 bytes of a SOCKS5 UDP header (TOR_PT_PROXY, IPv6) it still
// fits the smallest --mtu (576), so padding never makes an INIT the largest datagram of a link.
inline constexpr std::size_t kMinInitBytes = 512;

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

  struct StatelessResponder;

  RemotePeer* create_peer(Endpoint& endpoint, const PeerAddress& address);
  void on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  void on_unknown_address(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  void answer_init(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  void complete_handshake(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  sctp::PeerToken unvalidated_token(const PeerAddress& address) const;
  void log_limits();
  void on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association);
  void forget_idle_peers();

  Runtime& runtime_;
  SctpHost& host_;
  Logger& log_;
  const TransportOptions& options_;
  std::string name_ = "sctp";
  std::optional<sctp::AssociationConfig> accepted_;  // this transport's settings for accepted associations
  AcceptHandler on_accept_;
  std::size_t peer_count_ = 0;
  IdleReaper reaper_;
  TransportCounters counters_;
  HandshakeLimiter limiter_;
  std::uint64_t token_key_;
  std::vector<std::byte> scratch_;  // an INIT without its padding
  Endpoints endpoints_;             // last: its ports and peers go first
};

}  // namespace hoplink::transport
