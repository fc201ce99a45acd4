// The `dtls` transport: SCTP inside DTLS 1.2 over UDP (RFC 8261, as WebRTC data channels). One DTLS session
// per remote UDP address (a DtlsPeer) carries every SCTP association with that address.
//
// Server: datagrams from addresses without a session go to the stateless dtls::Listener (cookie exchange);
// only a ClientHello with a valid cookie creates a session, and at most --dtls-max-half-open of them may be
// handshaking at once. The certificate (ECDSA P-256) is kept in the state directory; its SHA-256 is the
// SMETHOD argument fp=.
// Client: fp= from the bridge line is required and pinned. Every link gets its own DTLS session on its own
// UDP socket (source port), closed once the link's association is gone: a session is never shared or reused,
// so a bridge that restarted (and lost its sessions) or a session that failed cannot spoil the next link. Tor
// keeps few links per bridge, so a handshake per link is cheap. SCTP packets made during the handshake wait
// in a bounded queue.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dtls/identity.hpp"
#include "dtls/listener.hpp"
#include "io/datagram_io_factory.hpp"
#include "io/datagram_port.hpp"
#include "io/udp_sockets.hpp"
#include "runtime/idle_reaper.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/dtls_peer.hpp"
#include "transports/handshake_limiter.hpp"
#include "transports/sctp_host.hpp"
#include "transports/transport_options.hpp"

namespace hoplink::transport {

struct DtlsCounters {
  std::uint64_t cookies_sent = 0;        // HelloVerifyRequests
  std::uint64_t handshakes_started = 0;  // client sessions created, server sessions accepted
  std::uint64_t handshakes_ok = 0;
  std::uint64_t handshakes_failed = 0;  // alerts, protocol errors (fingerprint mismatches included)
  std::uint64_t handshakes_timed_out = 0;
  std::uint64_t fingerprint_mismatch = 0;
  std::uint64_t half_open_refused = 0;     // over --dtls-max-half-open
  std::uint64_t peers_refused = 0;         // over --max-peers
  std::uint64_t sessions_closed = 0;       // close_notify, fatal alert after the handshake, or retired by us
  std::uint64_t dropped_unknown_peer = 0;  // not a ClientHello, or no valid cookie and no reply
  std::uint64_t packets_dropped = 0;       // SCTP packets not sent (see DtlsPeerCounters), retired peers
};

class DtlsTransport final : public DatagramTransport, private DtlsPeerOwner {
 public:
  // context.state_directory: where the server's identity lives (TOR_PT_STATE_LOCATION, --state-dir); empty:
  // a new identity in memory for this run only.
  explicit DtlsTransport(const TransportContext& context);
  ~DtlsTransport() override;
  DtlsTransport(const DtlsTransport&) = delete;
  DtlsTransport& operator=(const DtlsTransport&) = delete;

  const std::string& name() const override { return name_; }
  Result<PeerAddress, std::string> serve(const PeerAddress& bind, const sctp::AssociationConfig& association,
                                         AcceptHandler on_accept) override;
  pt::Args smethod_args() const override;
  void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) override;
  void set_proxy(ClientProxy* proxy) override { endpoints_.set_proxy(proxy); }
  // Errors: no fp= (or not 64 hex digits) in the bridge line, no UDP socket, --max-peers.
  Result<std::unique_ptr<sctp::Association>, ConnectFailure> connect(const ConnectRequest& request) override;
  StatusFields status_fields() const override;

 private:
  using Endpoints = UdpEndpoints<DtlsPeer>;
  using Endpoint = Endpoints::Endpoint;

  void on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  // A datagram the Listener sees first; true when it was consumed (answered, accepted or dropped).
  void log_limits();
  bool offer_to_listener(Endpoint& endpoint, const dio::ReceivedDatagram& datagram, dtls::TimePoint now,
                         bool known_peer);
  void accept_handshake(Endpoint& endpoint, const PeerAddress& from, dtls::PendingHandshake&& hello,
                        dtls::TimePoint now);
  // Out of the tables now; destroyed on the next loop turn (a peer may be inside its own call).
  void retire(Endpoint& endpoint, const PeerAddress& address, const char* why);
  Endpoint* endpoint_of(const DtlsPeer& peer);
  void forget_idle_peers();
  // Client sockets whose link is gone (no association left) are closed.
  void close_finished_clients();

  DtlsPeerOwner& as_owner() { return *this; }
  void on_session_changed(DtlsPeer& peer) override;
  void on_accept(DtlsPeer& peer, std::unique_ptr<sctp::Association> association) override;

  Runtime& runtime_;
  SctpHost& host_;
  Logger& log_;
  const TransportOptions& options_;
  std::string state_directory_;
  std::string name_ = "dtls";
  std::optional<dtls::Identity> identity_;
  std::optional<dtls::Listener> listener_;
  sctp::AssociationConfig accepted_;  // the server's associations (its MTU already reduced for DTLS)
  AcceptHandler on_accept_;
  std::unordered_set<const DtlsPeer*> half_open_;  // server sessions still handshaking
  std::size_t peer_count_ = 0;
  // Client sessions, one socket each.
  std::unordered_map<const Endpoint*, std::unique_ptr<Endpoint>> clients_;
  std::vector<std::unique_ptr<DtlsPeer>> retiring_;
  std::vector<std::unique_ptr<Endpoint>> retiring_endpoints_;
  dio::IoCounters retired_io_;  // of the client sockets already closed
  Task reap_;                   // destroys the retired peers and sockets, from the loop
  IdleReaper reaper_;
  IdleReaper client_sweep_;
  DtlsCounters counters_;
  HandshakeLimiter limiter_;
  Endpoints endpoints_;  // the server socket; destroyed first: the destructor has retired every peer by then
};

}  // namespace hoplink::transport
