// hoplink_bridgeline.txt: the Bridge lines an operator hands to clients, written like obfs4's
// obfs4_bridgeline.txt.
#pragma once

#include <string>
#include <vector>

#include "common/peer_address.hpp"
#include "common/result.hpp"
#include "pt/args.hpp"

namespace hoplink::transport {

inline constexpr const char* kBridgeLineFile = "hoplink_bridgeline.txt";

struct ServedTransport {
  std::string name;
  PeerAddress address;  // as bound; an unspecified address becomes "<IP ADDRESS>"
  pt::Args args;        // bridge-line arguments, k=v separated by spaces
};

// "Bridge sctp 192.0.2.1:4433 <FINGERPRINT>[ k=v ...]"
std::string bridge_line(const ServedTransport& served);
// The whole file: explanatory comment lines, then one Bridge line per transport.
std::string bridge_line_file(const std::vector<ServedTransport>& served);
// Writes the file atomically (temporary file, then rename), mode 0600.
Result<std::string, std::string> write_bridge_line_file(const std::string& directory,
                                                        const std::vector<ServedTransport>& served);

}  // namespace hoplink::transport
