// Command line and config file options (Boost.Program_options), gathered into each component's own settings
// (DatagramOptions, sctp::StackConfig, LinkOptions, TransportOptions); only app/ sees the whole. Start-up
// configuration: errors are thrown as OptionsError with a message for the operator.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/peer_address.hpp"
#include "io/datagram_options.hpp"
#include "links/link_options.hpp"
#include "pt/messages.hpp"
#include "sctp/stack.hpp"
#include "transports/transport_options.hpp"

namespace hoplink::transport {

struct OptionsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

enum class Mode { managed, client, server };

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
  std::string state_dir;    // server: hoplink_bridgeline.txt and the dtls identity (managed: from tor)
  std::string fingerprint;  // client with --remote, dtls: the bridge's fp= for every link

  // Every mode.
  DatagramOptions datagrams;  // --io and its backend's settings
  sctp::StackConfig stack;
  LinkOptions link;  // every transport's; tor's TOR_PT_SERVER_TRANSPORT_OPTIONS may change them per transport
  TransportOptions transports;
  pt::Severity log_level = pt::Severity::notice;
  std::chrono::seconds status_interval{60};
};

// Parses argv (argv[1] may be the mode: client, server or managed; without one the mode is managed).
// Throws OptionsError.
Options parse_options(int argc, const char* const* argv);

// Applies "key=value" pairs (from TOR_PT_SERVER_TRANSPORT_OPTIONS) to the per-link options; the keys are
// the long option names of the link settings (mtu, send-buffer, ...). The result is checked as the command
// line's is, against the datagram backend too (check_link_fits). Throws OptionsError.
void apply_transport_options(LinkOptions& link, const std::vector<std::pair<std::string, std::string>>& kv,
                             const DatagramOptions& datagrams);

// The links' packets must fit the datagram backend (--mtu within --dpdk-mtu less the IP and UDP headers).
// Throws OptionsError.
void check_link_fits(const LinkOptions& link, const DatagramOptions& datagrams);

// The --help text.
std::string help_text();

}  // namespace hoplink::transport
