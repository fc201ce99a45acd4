// The lines a managed PT writes on stdout, named as the spec names them. Every call writes one complete
// line and flushes, so tor sees it at once. Nothing else may ever be written to this stream.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/peer_address.hpp"
#include "pt/args.hpp"

namespace hoplink::pt {

enum class Severity : std::uint8_t { error, warning, notice, info, debug };
std::string_view to_string(Severity severity);

class Messages {
 public:
  explicit Messages(std::ostream& out) : out_(out) {}

  void version();        // VERSION 1
  void version_error();  // VERSION-ERROR no-version
  void env_error(std::string_view message);
  void proxy_done();
  void proxy_error(std::string_view message);
  void cmethod(std::string_view transport, const PeerAddress& socks_address);  // CMETHOD t socks5 a:p
  void cmethod_error(std::string_view transport, std::string_view message);
  void cmethods_done();
  // SMETHOD t a:p [ARGS:k=v,...] (ARGS left out when empty)
  void smethod(std::string_view transport, const PeerAddress& address, const Args& args);
  void smethod_error(std::string_view transport, std::string_view message);
  void smethods_done();
  // LOG SEVERITY=s MESSAGE="..." (C-style escaping inside the quotes; newlines never reach the stream)
  void log(Severity severity, std::string_view message);
  // STATUS TRANSPORT=t K=V ... (values quoted when they contain a space, '"' or '\')
  void status(std::string_view transport, const std::vector<std::pair<std::string, std::string>>& fields);
  // STATUS TYPE=version IMPLEMENTATION=i VERSION=v
  void status_version(std::string_view implementation, std::string_view version);

 private:
  void line(std::string_view text);
  std::ostream& out_;
};

}  // namespace hoplink::pt
