// What App and the sessions hold of a transport: it serves SCTP associations on a UDP address and opens
// associations to bridges. `sctp` puts the SCTP packets straight into UDP (RFC 6951), `dtls` into DTLS 1.2
// records (RFC 8261); links above see an sctp::Association either way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "pt/args.hpp"
#include "pt/socks5_server.hpp"
#include "runtime/status_fields.hpp"
#include "sctp/association.hpp"

namespace hoplink::transport {

struct ClientProxy;

// Why a link to a bridge could not be made below SCTP: the SOCKS reply tor gets and the LOG line's text.
struct ConnectFailure {
  pt::Socks5Reply reply = pt::Socks5Reply::general_failure;
  std::string message;
};

struct ConnectRequest {
  PeerAddress bridge;
  const pt::Args& args;  // the bridge line's arguments (SOCKS5 per-connection args, or --fp unmanaged)
  const sctp::AssociationConfig& association;
  sctp::AssociationEvents& events;
  // Called at most once, from the event loop (never inside connect()), when the layer under the association
  // fails before the association opened (a DTLS handshake failure or timeout, a certificate that does not
  // match fp=). The association can never open then; the handler may destroy it.
  std::function<void(const ConnectFailure&)> on_failure;
};

class DatagramTransport {
 public:
  using AcceptHandler = std::function<void(std::unique_ptr<sctp::Association>, const PeerAddress& from)>;

  virtual ~DatagramTransport() = default;

  virtual const std::string& name() const = 0;

  // Server: opens the UDP socket and accepts associations arriving on it. Returns the bound address.
  virtual Result<PeerAddress, std::string> serve(const PeerAddress& bind,
                                                 const sctp::AssociationConfig& association,
                                                 AcceptHandler on_accept) = 0;
  // Server, after serve(): the SMETHOD ARGS clients need in their bridge line (dtls: fp=).
  virtual pt::Args smethod_args() const { return {}; }

  // Client: local addresses for the outgoing UDP sockets (TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6).
  virtual void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) = 0;
  // Client: TOR_PT_PROXY; sockets opened afterwards go through the proxy, which outlives the transport.
  virtual void set_proxy(ClientProxy* proxy) = 0;
  // Client: a new association to a bridge; its events arrive through request.events.
  virtual Result<std::unique_ptr<sctp::Association>, ConnectFailure> connect(
      const ConnectRequest& request) = 0;

  virtual StatusFields status_fields() const = 0;
};

}  // namespace hoplink::transport
