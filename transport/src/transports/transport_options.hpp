// The settings of the transports, and what each transport is built with (the registry's factories take a
// TransportContext).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "io/datagram_io_factory.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"
#include "transports/handshake_limiter.hpp"
#include "transports/sctp_host.hpp"

namespace hoplink::transport {

// The dtls transport's process-wide settings.
struct DtlsOptions {
  std::chrono::milliseconds handshake_timeout{10000};  // from the first ClientHello to an open session
  std::size_t max_half_open = 1024;                    // server: handshakes in progress at once
};

struct TransportOptions {
  std::size_t max_peers = 65536;  // remote UDP addresses known at once, per transport
  HandshakeLimits limits;         // per transport
  DtlsOptions dtls;
};

struct TransportContext {
  Runtime& runtime;
  SctpHost& host;
  DatagramIoFactory& datagrams;
  Logger& log;
  const TransportOptions& options;
  // Where a server keeps state (the dtls certificate): TOR_PT_STATE_LOCATION or --state-dir; empty: none.
  std::string state_directory;
};

}  // namespace hoplink::transport
