// TOR_PT_PROXY=socks5://...: client UDP sockets whose datagrams go through the proxy's UDP relay (RFC 1928
// UDP ASSOCIATE). One association per socket, since a relay forwards for one client address and port: its
// TCP control connection is the association's lifetime. When the proxy ends it, hoplink associates again
// with back-off; datagrams sent meanwhile wait in a small queue or are dropped, which links survive as loss.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"
#include "pt/environment.hpp"
#include "pt/socks5_udp.hpp"
#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"

namespace hoplink::transport {

struct ProxyCounters {
  std::uint64_t associations = 0;            // UDP ASSOCIATE handshakes that succeeded
  std::uint64_t association_failures = 0;    // handshakes that failed (each logged)
  std::uint64_t dropped_no_relay = 0;        // datagrams to send while not associated, queue full
  std::uint64_t dropped_too_big = 0;         // datagrams to send that do not fit with the header
  std::uint64_t dropped_not_from_relay = 0;  // datagrams from another address than the relay
  std::uint64_t dropped_malformed = 0;       // from the relay, but no valid SOCKS5 UDP header
};

// The proxy of one transport's client sockets, and their counters. Outlives the sockets.
struct ClientProxy {
  pt::ProxyUri uri;
  Logger& log;
  ProxyCounters counters;
};

// The control connection of one association.
class ProxyAssociation {
 public:
  // `udp_local`: the local address of the UDP socket the datagrams leave from.
  ProxyAssociation(Runtime& runtime, ClientProxy& proxy, PeerAddress udp_local);
  ~ProxyAssociation();
  ProxyAssociation(const ProxyAssociation&) = delete;
  ProxyAssociation& operator=(const ProxyAssociation&) = delete;

  // Associates in the background, and again whenever the proxy ends the association. `on_ready` runs from
  // the loop after each success.
  void start(std::function<void()> on_ready);
  // Start-up check (before the loop runs): one association, running the loop until done or `timeout`, not
  // renewed afterwards. The error is one line for PROXY-ERROR.
  Result<void, std::string> associate_blocking(std::chrono::milliseconds timeout);

  // Where datagrams go now; nullopt while (re)associating.
  const std::optional<PeerAddress>& relay() const { return relay_; }
  bool ever_associated() const { return ever_associated_; }
  ProxyCounters& counters() { return proxy_.counters; }

 private:
  void associate();
  void on_connected(const error_code& ec);
  void send_then_read();  // out_ to the proxy, then its answer
  void read_reply();
  void on_failed(const std::string& why);
  void on_associated();
  void watch_control_connection();
  void retry_later();

  Runtime& runtime_;
  ClientProxy& proxy_;
  PeerAddress udp_local_;
  tcp::socket socket_;
  Timer timer_;
  std::unique_ptr<pt::Socks5UdpAssociate> handshake_;
  std::vector<std::byte> out_;
  std::array<std::byte, 512> in_{};
  std::optional<PeerAddress> relay_;
  std::optional<std::string> last_error_;  // set when an attempt fails; read by associate_blocking
  std::function<void()> on_ready_;
  bool renew_ = false;
  bool ever_associated_ = false;
  std::chrono::milliseconds backoff_{500};
  Lifetime lifetime_;  // the control connection's operations
};

// A DatagramIo that sends and receives through the relay of its own association, over `inner` (a kernel UDP
// socket opened without GRO: every inner burst is filtered in place, so a short burst must mean "drained").
// Payloads are limited by the header (10 bytes for IPv4 destinations, 22 for IPv6). Until the first
// association completes, up to 64 datagrams wait in a queue (the first flights of a handshake).
class Socks5UdpIo final : public dio::DatagramIo {
 public:
  // Starts associating at once; `on_ready` (e.g. the owner's flush) runs after each association.
  Socks5UdpIo(Runtime& runtime, ClientProxy& proxy, std::unique_ptr<dio::DatagramIo> inner,
              std::function<void()> on_ready);

  Result<std::size_t, dio::IoError> receive_burst(std::span<dio::ReceivedDatagram> out) override;
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override;
  Result<std::size_t, dio::IoError> flush() override;
  std::size_t pending_tx() const override { return inner_->pending_tx() + waiting_.size(); }
  std::size_t tx_capacity() const override { return inner_->tx_capacity(); }
  std::size_t max_payload() const override;
  int readiness_fd() const override { return inner_->readiness_fd(); }
  PeerAddress local_address() const override { return inner_->local_address(); }
  const dio::IoCounters& counters() const override { return inner_->counters(); }
  std::string_view backend_name() const override { return "udp+socks5"; }
  int last_errno() const override { return inner_->last_errno(); }

 private:
  bool wrap_and_enqueue(const PeerAddress& relay, const PeerAddress& to, std::span<const std::byte> payload);
  void release_waiting();

  struct Waiting {
    PeerAddress to;
    std::vector<std::byte> payload;
  };

  std::unique_ptr<dio::DatagramIo> inner_;
  ProxyAssociation association_;
  std::vector<std::byte> scratch_;  // one datagram with its header, copied again by the inner socket
  std::vector<Waiting> waiting_;    // before the first association only
};

}  // namespace hoplink::transport
