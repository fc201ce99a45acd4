#include "io/udp_sockets.hpp"

namespace hoplink::transport {

Result<std::unique_ptr<DatagramPort>, std::string> open_datagram_port(Runtime& runtime,
                                                                      DatagramIoFactory& datagrams,
                                                                      const PeerAddress& bind,
                                                                      DatagramPort::Handler on_datagram,
                                                                      ClientProxy* proxy) {
  auto opened = proxy != nullptr ? datagrams.open_for_proxy(bind) : datagrams.open(bind);
  if (!opened.ok()) return fail(opened.error());
  std::unique_ptr<dio::DatagramIo> backend = std::move(opened).value();
  // A proxied socket flushes what waited for the relay as soon as there is one. The port owns the socket and
  // so outlives the callback.
  auto port_slot = std::make_shared<DatagramPort*>(nullptr);
  if (proxy != nullptr) {
    backend = std::make_unique<Socks5UdpIo>(runtime, *proxy, std::move(backend), [port_slot] {
      if (*port_slot != nullptr) (*port_slot)->flush();
    });
  }
  auto port = std::make_unique<DatagramPort>(runtime, std::move(backend), std::move(on_datagram));
  *port_slot = port.get();
  port->start();
  return port;
}

PeerAddress outbound_bind_address(PeerAddress::Family family, const std::optional<PeerAddress>& v4,
                                  const std::optional<PeerAddress>& v6, const ClientProxy* proxy) {
  if (proxy != nullptr) family = proxy->uri.address.family();
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
