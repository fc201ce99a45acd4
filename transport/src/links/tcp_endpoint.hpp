// Conversions between PeerAddress and Asio's TCP endpoints.
#pragma once

#include <algorithm>

#include "common/peer_address.hpp"
#include "runtime/asio.hpp"

namespace hoplink::transport {

inline tcp::endpoint to_tcp_endpoint(const PeerAddress& address) {
  const auto bytes = address.address_bytes();
  if (address.family() == PeerAddress::Family::v6) {
    asio::ip::address_v6::bytes_type v6;
    std::copy(bytes.begin(), bytes.end(), v6.begin());
    return {asio::ip::address_v6(v6), address.port()};
  }
  asio::ip::address_v4::bytes_type v4;
  std::copy(bytes.begin(), bytes.end(), v4.begin());
  return {asio::ip::address_v4(v4), address.port()};
}

inline PeerAddress from_tcp_endpoint(const tcp::endpoint& endpoint) {
  if (endpoint.address().is_v6())
    return PeerAddress::v6(endpoint.address().to_v6().to_bytes(), endpoint.port());
  return PeerAddress::v4(endpoint.address().to_v4().to_bytes(), endpoint.port());
}

}  // namespace hoplink::transport
