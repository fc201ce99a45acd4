// The transports this build offers, by the name tor uses in ClientTransportPlugin / ServerTransportPlugin.
#pragma once

#include <array>
#include <string_view>

namespace hoplink::transport {

struct TransportInfo {
  std::string_view name;
  std::string_view summary;
  bool crc32c_on_wire;  // false where an outer layer protects integrity (DTLS)
};

inline constexpr std::array kTransports = {
    TransportInfo{"sctp", "SCTP over UDP (RFC 6951)", true},
    TransportInfo{"dtls",
                  "SCTP inside DTLS 1.2 over UDP (RFC 8261), bridge certificate pinned by fp=", false},
};

inline const TransportInfo* find_transport(std::string_view name) {
  for (const auto& info : kTransports) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

}  // namespace hoplink::transport
