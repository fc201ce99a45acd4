// The managed-proxy environment tor sets for a PT (pt-spec.txt, "Managed proxy environment variables").
// Parsing only: the environment is passed in as a map, nothing is read from the process here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "pt/args.hpp"

namespace hoplink::pt {

using Environment = std::map<std::string, std::string, std::less<>>;
// Copies a process environment (envp / environ) into a map.
Environment environment_from(char** envp);

struct ProxyUri {
  enum class Scheme : std::uint8_t { socks5, socks4a, http };
  Scheme scheme = Scheme::socks5;
  PeerAddress address;
  std::string username;
  std::string password;
};

struct ClientEnvironment {
  std::vector<std::string> transports;  // TOR_PT_CLIENT_TRANSPORTS ("*" kept as is)
  std::optional<ProxyUri> proxy;        // TOR_PT_PROXY
};

struct ServerEnvironment {
  std::vector<std::string> transports;                       // TOR_PT_SERVER_TRANSPORTS
  std::map<std::string, Args> options;                       // TOR_PT_SERVER_TRANSPORT_OPTIONS
  std::map<std::string, PeerAddress> bind_addresses;         // TOR_PT_SERVER_BINDADDR
  std::optional<PeerAddress> orport;                         // TOR_PT_ORPORT
  std::optional<PeerAddress> extended_orport;                // TOR_PT_EXTENDED_SERVER_PORT (empty: none)
  std::string auth_cookie_file;                              // TOR_PT_AUTH_COOKIE_FILE
};

struct ManagedEnvironment {
  std::string state_location;           // TOR_PT_STATE_LOCATION
  bool exit_on_stdin_close = false;     // TOR_PT_EXIT_ON_STDIN_CLOSE=1
  std::optional<PeerAddress> outbound_bind_v4;  // TOR_PT_OUTBOUND_BIND_ADDRESS_V4 (port 0)
  std::optional<PeerAddress> outbound_bind_v6;  // TOR_PT_OUTBOUND_BIND_ADDRESS_V6 (bracketed; port 0)
  std::optional<ClientEnvironment> client;
  std::optional<ServerEnvironment> server;
};

struct EnvironmentError {
  enum class Kind : std::uint8_t {
    version,  // print "VERSION-ERROR no-version"
    env,      // print "ENV-ERROR <message>"
    proxy,    // TOR_PT_PROXY malformed: print "PROXY-ERROR <message>"
  };
  Kind kind = Kind::env;
  std::string message;
};

// Validates everything tor must have set, for the client side, the server side, or both.
Result<ManagedEnvironment, EnvironmentError> parse_environment(const Environment& environment);

}  // namespace hoplink::pt
