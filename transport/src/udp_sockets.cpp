#include "udp_sockets.hpp"

#include "dpdk_io/udp_socket.hpp"

namespace hoplink::transport {

Result<std::unique_ptr<DatagramPort>, std::string> open_datagram_port(asio::io_context& io, SctpHost& host,
                                                                      const Options& options,
                                                                      const PeerAddress& bind,
                                                                      DatagramPort::Handler on_datagram) {
  dio::UdpSocketConfig config;
  config.bind = bind;
  config.socket_buffer_bytes = options.udp_socket_buffer;
  auto socket = dio::open_udp_socket(config);
  if (!socket.ok()) return fail(socket.error());
  auto port = std::make_unique<DatagramPort>(io, std::move(socket).value(), std::move(on_datagram),
                                             [&host] { host.settle(); });
  port->start();
  return port;
}

PeerAddress outbound_bind_address(PeerAddress::Family family, const std::optional<PeerAddress>& v4,
                                  const std::optional<PeerAddress>& v6) {
  return family == PeerAddress::Family::v6 ? v6.value_or(PeerAddress::v6({}, 0)).with_port(0)
                                           : v4.value_or(PeerAddress::v4({0, 0, 0, 0}, 0)).with_port(0);
}

void add_io_counters(dio::IoCounters& sum, const DatagramPort& port) {
  const auto& c = port.io().counters();
  sum.rx_datagrams += c.rx_datagrams;
  sum.rx_bytes += c.rx_bytes;
  sum.rx_truncated += c.rx_truncated;
  sum.tx_datagrams += c.tx_datagrams;
  sum.tx_bytes += c.tx_bytes;
  sum.tx_dropped_full += c.tx_dropped_full + c.tx_dropped_too_big;
  sum.tx_errors += c.tx_errors;
}

void add_io_fields(StatusFields& fields, const dio::IoCounters& io) {
  add_field(fields, "RX_DATAGRAMS", io.rx_datagrams);
  add_field(fields, "RX_BYTES", io.rx_bytes);
  add_field(fields, "TX_DATAGRAMS", io.tx_datagrams);
  add_field(fields, "TX_BYTES", io.tx_bytes);
  add_field(fields, "RX_TRUNCATED", io.rx_truncated);
  add_field(fields, "TX_DROPPED", io.tx_dropped_full);
  add_field(fields, "TX_ERRORS", io.tx_errors);
}

}  // namespace hoplink::transport
