#include "bridge_pair.hpp"

namespace hoplink::itest {

BridgePair::BridgePair(PairOptions options) {
  tor = std::make_unique<FakeTor>(options.tor, dir / "extorport_auth_cookie");
  ManagedServerOptions s;
  if (options.tor.extended) {
    orport_trap = std::make_unique<FakeTor>(
        FakeTorConfig{.extended = false, .auth = AuthMode::okay, .data = DataMode::echo, .okay_delay = {}});
    s.orport = orport_trap->port();
    s.ext_orport = tor->port();
    s.cookie_file = tor->cookie_file();
  } else {
    s.orport = tor->port();
  }
  s.args = options.server_args;
  s.extra_env = options.server_env;
  s.transports = options.transport;
  s.bindaddr = options.transport + "-127.0.0.1:0";
  server = start_managed_server(dir, s);
  client = start_managed_client(
      dir, {.transports = options.transport, .extra_env = options.client_env, .args = options.client_args});
}

LinkResult BridgePair::link(LinkSpec spec, std::chrono::milliseconds timeout) const {
  return run_socks_link(socks_port(), bridge(), bridge_args(), *tor, spec, timeout);
}

std::string BridgePair::describe() const {
  std::string out = "temp dir " + dir.path().string() + "\n";
  if (server.process) out += server.process->describe() + "\n";
  if (client.process) out += client.process->describe() + "\n";
  return out;
}

}  // namespace hoplink::itest
