// The usual set-up of a test: a fake tor on the bridge side, a managed hoplink server handing links to it,
// and a managed hoplink client whose SOCKS port the test uses as tor would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "fake_tor.hpp"
#include "hoplink.hpp"
#include "link.hpp"
#include "temp_dir.hpp"

namespace hoplink::itest {

struct PairOptions {
  std::string transport = "sctp";  // sctp or dtls, on both sides
  FakeTorConfig tor;               // tor.extended false: plain ORPort (TOR_PT_EXTENDED_SERVER_PORT empty)
  std::vector<std::string> client_args;
  std::vector<std::string> server_args;
  Env client_env;
  Env server_env;
};

// An Extended ORPort that answers OKAY and treats link bytes as `data` says.
inline FakeTorConfig ext_tor(DataMode data) {
  FakeTorConfig config;
  config.data = data;
  return config;
}

inline PairOptions pair_options(FakeTorConfig tor, std::vector<std::string> client_args = {},
                                std::vector<std::string> server_args = {}, std::string transport = "sctp") {
  PairOptions options;
  options.transport = std::move(transport);
  options.tor = tor;
  options.client_args = std::move(client_args);
  options.server_args = std::move(server_args);
  return options;
}

// The usual options for `transport` (sctp or dtls).
inline PairOptions over(std::string transport) {
  PairOptions options;
  options.transport = std::move(transport);
  return options;
}

class BridgePair {
 public:
  explicit BridgePair(PairOptions options = {});

  TempDir dir;
  std::unique_ptr<FakeTor> tor;
  // In extended mode TOR_PT_ORPORT points here; hoplink must never use it.
  std::unique_ptr<FakeTor> orport_trap;
  Running server;
  Running client;

  std::uint16_t socks_port() const { return client.method.address.port; }
  const Endpoint& bridge() const { return server.method.address; }
  // What the bridge line carries: the SMETHOD ARGS (dtls: fp=).
  const KeyValues& bridge_args() const { return server.method.args; }
  Process& server_process() { return *server.process; }
  Process& client_process() { return *client.process; }

  LinkResult link(LinkSpec spec, std::chrono::milliseconds timeout) const;
  // Both processes' stdout and stderr, for INFO.
  std::string describe() const;
};

}  // namespace hoplink::itest
