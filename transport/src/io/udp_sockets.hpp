// What the transports share about their UDP sockets: opening one (the one place a transport gets a datagram
// backend, so a new --io backend is added here only), the set of sockets a transport holds with the peers
// known on each, and the datagram counters in STATUS lines.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/result.hpp"
#include "io/datagram_io_factory.hpp"
#include "io/datagram_port.hpp"
#include "io/socks5_proxy.hpp"
#include "runtime/asio.hpp"
#include "runtime/runtime.hpp"
#include "runtime/status_fields.hpp"

namespace hoplink::transport {

// A started DatagramPort on `bind` (port 0: any free port), from the --io backend. With `proxy` (client
// sockets under TOR_PT_PROXY) every datagram goes through the proxy's UDP relay.
Result<std::unique_ptr<DatagramPort>, std::string> open_datagram_port(Runtime& runtime,
                                                                      DatagramIoFactory& datagrams,
                                                                      const PeerAddress& bind,
                                                                      DatagramPort::Handler on_datagram,
                                                                      ClientProxy* proxy = nullptr);

// Where an outgoing socket for a peer of `family` binds: TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6 when given,
// else the unspecified address; always port 0. Through a proxy the socket reaches the relay, so it takes
// the proxy's family.
PeerAddress outbound_bind_address(PeerAddress::Family family, const std::optional<PeerAddress>& v4,
                                  const std::optional<PeerAddress>& v6, const ClientProxy* proxy = nullptr);

// Adds a port's datagram counters to `sum` (TX_DROPPED: queue full or too big).
void add_io_counters(dio::IoCounters& sum, const DatagramPort& port);
// The datagram counters as STATUS fields.
void add_io_fields(StatusFields& fields, const dio::IoCounters& io);

// The UDP sockets of one transport and the peers known on each: at most one it serves on, and one per
// address family for connecting out. `Peer` is the transport's state per remote address.
template <class Peer>
class UdpEndpoints {
 public:
  // One socket.
  struct Endpoint {
    explicit Endpoint(bool server) : server(server) {}
    Endpoint(const Endpoint&) = delete;
    Endpoint& operator=(const Endpoint&) = delete;

    std::unique_ptr<DatagramPort> port;
    std::unordered_map<PeerAddress, std::unique_ptr<Peer>, PeerAddressHash> peers;  // destroyed before port
    bool server = false;
  };
  using Handler = std::function<void(Endpoint& endpoint, const dio::ReceivedDatagram& datagram)>;

  UdpEndpoints(Runtime& runtime, DatagramIoFactory& datagrams, Handler on_datagram)
      : runtime_(runtime), datagrams_(datagrams), on_datagram_(std::move(on_datagram)) {}

  Result<Endpoint*, std::string> serve(const PeerAddress& bind) {
    if (server_) return fail(std::string("already serving"));
    auto endpoint = open(bind, true);
    if (!endpoint.ok()) return fail(endpoint.error());
    server_ = std::move(endpoint).value();
    return server_.get();
  }

  // The outgoing socket for `family`, opened on first use.
  Result<Endpoint*, std::string> client(PeerAddress::Family family) {
    auto& slot = family == PeerAddress::Family::v6 ? client_v6_ : client_v4_;
    if (!slot) {
      auto endpoint = open(outbound_bind_address(family, outbound_v4_, outbound_v6_, proxy_), false);
      if (!endpoint.ok()) return fail(endpoint.error());
      slot = std::move(endpoint).value();
    }
    return slot.get();
  }

  // A new outgoing socket for `family` that the caller owns (a transport with one socket per peer).
  Result<std::unique_ptr<Endpoint>, std::string> open_client(PeerAddress::Family family) {
    return open(outbound_bind_address(family, outbound_v4_, outbound_v6_, proxy_), false);
  }

  // TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6, for sockets opened afterwards.
  void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6) {
    outbound_v4_ = v4;
    outbound_v6_ = v6;
  }

  // TOR_PT_PROXY: client sockets opened afterwards go through this proxy (which outlives them).
  void set_proxy(ClientProxy* proxy) { proxy_ = proxy; }
  const ClientProxy* proxy() const { return proxy_; }

  Endpoint* server() const { return server_.get(); }
  // Every open endpoint, the served one first.
  std::vector<Endpoint*> all() const {
    std::vector<Endpoint*> out;
    for (auto* endpoint : {server_.get(), client_v4_.get(), client_v6_.get()}) {
      if (endpoint != nullptr) out.push_back(endpoint);
    }
    return out;
  }
  // Adds the datagram counters of every open endpoint to `sum`.
  void add_io_counters(dio::IoCounters& sum) const {
    for (auto* endpoint : all()) transport::add_io_counters(sum, *endpoint->port);
  }

 private:
  Result<std::unique_ptr<Endpoint>, std::string> open(const PeerAddress& bind, bool server) {
    auto endpoint = std::make_unique<Endpoint>(server);
    auto* raw = endpoint.get();
    auto port = open_datagram_port(
        runtime_, datagrams_, bind,
        [this, raw](const dio::ReceivedDatagram& datagram) { on_datagram_(*raw, datagram); },
        server ? nullptr : proxy_);
    if (!port.ok()) return fail(port.error());
    endpoint->port = std::move(port).value();
    return endpoint;
  }

  Runtime& runtime_;
  DatagramIoFactory& datagrams_;
  Handler on_datagram_;
  std::unique_ptr<Endpoint> server_;
  std::unique_ptr<Endpoint> client_v4_;
  std::unique_ptr<Endpoint> client_v6_;
  std::optional<PeerAddress> outbound_v4_;
  std::optional<PeerAddress> outbound_v6_;
  ClientProxy* proxy_ = nullptr;
};

}  // namespace hoplink::transport
