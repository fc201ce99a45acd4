#include "transports/transport_registry.hpp"

#include <array>

#include "transports/dtls_transport.hpp"
#include "transports/sctp_transport.hpp"

namespace hoplink::transport {

namespace {

template <class Transport>
std::unique_ptr<DatagramTransport> make(const TransportContext& context) {
  return std::make_unique<Transport>(context);
}

const std::array kTransports = {
    TransportInfo{"sctp", "SCTP over UDP (RFC 6951)", &make<SctpTransport>},
    TransportInfo{"dtls", "SCTP inside DTLS 1.2 over UDP (RFC 8261), the bridge's certificate pinned by fp=",
                  &make<DtlsTransport>},
};

}  // namespace

std::span<const TransportInfo> transports() {
  return kTransports;
}

const TransportInfo* find_transport(std::string_view name) {
  for (const auto& info : kTransports) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::string transport_names(std::string_view separator) {
  std::string names;
  for (const auto& info : kTransports) {
    if (!names.empty()) names += separator;
    names += info.name;
  }
  return names;
}

}  // namespace hoplink::transport
