// Command line and config file options (Boost.Program_options). Start-up configuration: errors are thrown
// as OptionsError with a message for the operator.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/peer_address.hpp"
#include "dpdk_io/dpdk_port.hpp"
#include "pt/messages.hpp"
#include "sctp/association.hpp"
#include "sctp/stack.hpp"

namespace hoplink::transport {

struct OptionsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Mode { managed, client, server };

// What every link of every transport uses; the process-wide SCTP settings are in `stack`.
struct LinkOptions {
  sctp::AssociationConfig association;
  std::chrono::milliseconds connect_timeout{15000};
  std::chrono::milliseconds handshake_timeout{30000};  // server: ORPort connect + Extended ORPort auth
  std::size_t max_links = 20000;
  std::size_t max_peers = 65536;
};

// The dtls transport's process-wide settings.
struct DtlsOptions {
  std::chrono::milliseconds handshake_timeout{10000};  // from the first ClientHello to an open session
  std::size_t max_half_open = 1024;                    // server: handshakes in progress at once
  std::string fingerprint;                             // unmanaged client: the bridge's fp= for every link
};

struct Options {
  Mode mode = Mode::managed;
  bool help = false;
  bool version = false;

  // Unmanaged modes.
  std::string transport = "sctp";
  std::optional<PeerAddress> listen;
  std::optional<PeerAddress> remote;      // client: forward every TCP connection to this bridge, no SOCKS
  std::optional<PeerAddress> orport;      // server: plain TCP
  std::optional<PeerAddress> ext_orport;  // server: Extended ORPort
  std::string auth_cookie;                // server: Extended ORPort cookie file
  std::string state_dir;  // server: hoplink_bridgeline.txt and the dtls identity (managed: from tor)

  // Every mode.
  std::string io = "udp";
  std::size_t udp_socket_buffer = 4 * 1024 * 1024;
  dio::DpdkConfig dpdk;  // --io dpdk: the port, our address, the idle policy
  sctp::StackConfig stack;
  LinkOptions link;
  DtlsOptions dtls;
  pt::Severity log_level = pt::Severity::notice;
  std::chrono::seconds status_interval{60};
};

// Parses argv (argv[1] may be the mode: client, server or managed; without one the mode is managed).
// Throws OptionsError.
Options parse_options(int argc, const char* const* argv);

// Applies "key=value" pairs (from TOR_PT_SERVER_TRANSPORT_OPTIONS) to the per-link options; the keys are
// the long option names of the link settings (mtu, send-buffer, ...). Throws OptionsError.
void apply_transport_options(LinkOptions& link, const std::vector<std::pair<std::string, std::string>>& kv);

// The --help text.
std::string help_text();

}  // namespace hoplink::transport
