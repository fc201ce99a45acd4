// TOR_PT_PROXY=socks5://...: a client UDP socket whose datagrams go through the proxy's UDP relay (RFC 1928
// UDP ASSOCIATE). One association per socket: its TCP control connection to the proxy is the association's
// lifetime. When the proxy ends it, datagrams are dropped (and counted) while hoplink associates again with
// back-off; links survive a short outage as they survive loss.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "asio.hpp"
#include "common/result.hpp"
#include "dpdk_io/datagram_io.hpp"
#include "logger.hpp"
#include "pt/environment.hpp"
#include "pt/socks5_udp.hpp"

namespace hoplink::transport {

struct ProxyCounters {
  std::uint64_t associations = 0;            // UDP ASSOCIATE handshakes that succeeded
  std::uint64_t association_failures = 0;    // handshakes that failed (each logged)
  std::uint64_t dropped_no_relay = 0;        // datagrams to send while not associated
  std::uint64_t dropped_too_big = 0;         // datagrams to send that do not fit with the header
  std::uint64_t dropped_not_from_relay = 0;  // datagrams from another address than the relay
  std::uint64_t dropped_malformed = 0;       // from the relay, but no valid SOCKS5 UDP header
};

// The control connection. Owned by the App; the wrapping DatagramIo reads relay() on every datagram.
class ProxyAssociation {
 public:
  // `udp_local`: the local address of the UDP socket the datagrams will leave from.
  ProxyAssociation(asio::io_context& io, Logger& log, pt::ProxyUri proxy, PeerAddress udp_local);
  ~ProxyAssociation();
  ProxyAssociation(const ProxyAssociation&) = delete;
  ProxyAssociation& operator=(const ProxyAssociation&) = delete;

  // Start-up (before the loop runs): associates, running the io_context until done or `timeout`. The error
  // is one line for PROXY-ERROR. Afterwards the association is kept, and renewed when the proxy drops it.
  Result<void, std::string> associate_blocking(std::chrono::milliseconds timeout);

  // Where datagrams go now; nullopt while (re)associating.
  const std::optional<PeerAddress>& relay() const { return relay_; }
  ProxyCounters& counters() { return counters_; }
  const ProxyCounters& counters() const { return counters_; }

 private:
  void associate();
  void on_connected(const error_code& ec);
  void send_then_read();  // out_ to the proxy, then its answer
  void read_reply();
  void on_failed(const std::string& why);
  void on_associated();
  void watch_control_connection();
  void retry_later();

  asio::io_context& io_;
  Logger& log_;
  pt::ProxyUri proxy_;
  PeerAddress udp_local_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::unique_ptr<pt::Socks5UdpAssociate> handshake_;
  std::vector<std::byte> out_;
  std::array<std::byte, 512> in_{};
  std::optional<PeerAddress> relay_;
  std::optional<std::string> last_error_;  // set when an attempt fails; read by associate_blocking
  std::chrono::milliseconds backoff_{1000};
  ProxyCounters counters_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// A DatagramIo that sends and receives through the relay of `association`, over `inner` (a kernel UDP
// socket opened without GRO: every inner burst is filtered in place, so a short burst must mean "drained").
// Payloads are limited by the header (10 bytes for IPv4 destinations, 22 for IPv6).
std::unique_ptr<dio::DatagramIo> make_socks5_udp_io(std::unique_ptr<dio::DatagramIo> inner,
                                                    ProxyAssociation& association);

}  // namespace hoplink::transport
