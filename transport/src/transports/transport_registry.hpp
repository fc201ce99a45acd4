// The transports this build offers, by the name tor uses in ClientTransportPlugin / ServerTransportPlugin.
// The one list: the usage text, --help, --transport, managed mode's "*" and App's construction all read it.
// A new transport is a DatagramTransport in its own files plus one entry in transport_registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "transports/datagram_transport.hpp"
#include "transports/transport_options.hpp"

namespace hoplink::transport {

struct TransportInfo {
  std::string_view name;
  std::string_view summary;  // one line for the usage text
  std::unique_ptr<DatagramTransport> (*make)(const TransportContext& context);
};

std::span<const TransportInfo> transports();
const TransportInfo* find_transport(std::string_view name);
// "sctp, dtls": the names, for messages.
std::string transport_names(std::string_view separator = ", ");

}  // namespace hoplink::transport
