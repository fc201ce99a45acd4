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

#include "asio.hpp"
#include "common/result.hpp"
#include "datagram_io_factory.hpp"
#include "datagram_port.hpp"
#include "logger.hpp"
#include "options.hpp"
#include "sctp_host.hpp"

namespace hoplink::transport {

using StatusFields = std::vector<std::pair<std::string, std::string>>;

struct TransportCounters {
  std::uint64_t peers_created = 0;
  std::uint64_t peers_forgotten = 0;
  std::uint64_t peers_refused = 0;         // over --max-peers
  std::uint64_t dropped_unknown_peer = 0;  // not an INIT from an address we do not know
  std::uint64_t dropped_by_stack = 0;      // bad checksum, malformed
};

class SctpTransport {
 public:
  using AcceptHandler = std::function<void(std::unique_ptr<sctp::Association>, const PeerAddress& from)>;

  SctpTransport(asio::io_context& io, SctpHost& host, DatagramIoFactory& datagrams, Logger& log,
                const Options& options);
  ~SctpTransport();
  SctpTransport(const SctpTransport&) = delete;
  SctpTransport& operator=(const SctpTransport&) = delete;

  const std::string& name() const { return name_; }

  // Server: opens the UDP socket and accepts associations arriving on it. Returns the bound address.
  Result<PeerAddress, std::string> serve(const PeerAddress& bind, const LinkOptions& link,
                                         AcceptHandler on_accept);

  // Client: local addresses for the outgoing UDP sockets (TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6).
  void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6);
  // Client: a new association to a bridge. Events arrive through `events`.
  Result<std::unique_ptr<sctp::Association>, std::string> connect(const PeerAddress& bridge,
                                                                  const LinkOptions& link,
                                                                  sctp::AssociationEvents& events);

  StatusFields status_fields() const;

 private:
  struct Endpoint;
  struct RemotePeer;

  Result<Endpoint*, std::string> client_endpoint(PeerAddress::Family family);
  RemotePeer* create_peer(Endpoint& endpoint, const PeerAddress& address);
  void on_datagram(Endpoint& endpoint, const dio::ReceivedDatagram& datagram);
  void on_accept(RemotePeer& peer, std::unique_ptr<sctp::Association> association);
  void arm_reaper();
  void forget_idle_peers();
  std::unique_ptr<Endpoint> open_endpoint(const PeerAddress& bind, bool accepts_new_peers,
                                          std::string& error);

  asio::io_context& io_;
  SctpHost& host_;
  DatagramIoFactory& datagrams_;
  Logger& log_;
  const Options& options_;
  std::string name_ = "sctp";
  bool crc32c_ = true;
  std::unique_ptr<Endpoint> server_;
  std::unique_ptr<Endpoint> client_v4_;
  std::unique_ptr<Endpoint> client_v6_;
  std::optional<PeerAddress> outbound_v4_;
  std::optional<PeerAddress> outbound_v6_;
  AcceptHandler on_accept_;
  std::size_t peer_count_ = 0;
  std::uint64_t epoch_ = 0;
  asio::steady_timer reaper_;
  bool reaper_armed_ = false;
  TransportCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace hoplink::transport
