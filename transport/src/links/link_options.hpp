// What every link of a transport uses: the association's settings and the timeouts of the phase before it
// relays. The command line sets them for every transport; tor's TOR_PT_SERVER_TRANSPORT_OPTIONS per
// transport.
#pragma once

#include <chrono>
#include <cstddef>

#include "sctp/association.hpp"

namespace hoplink::transport {

struct LinkOptions {
  sctp::AssociationConfig association;
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds handshake_timeout{30000};  // server: ORPort connect + Extended ORPort auth
  std::size_t max_links = 20000;
};

}  // namespace hoplink::transport
