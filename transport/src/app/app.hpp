// The running hoplink: on one Runtime (its event loop and clock), the SCTP host, the transports, the TCP
// listeners for tor, the links, signals, stdin and the STATUS timer. The modes build one on SystemRuntime;
// the in-process tests build one on ManualRuntime with the memory network, serving and connecting to itself.
#pragma once

#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "app/options.hpp"
#include "io/datagram_io_factory.hpp"
#include "io/socks5_proxy.hpp"
#include "links/client_session.hpp"
#include "links/link_registry.hpp"
#include "links/server_session.hpp"
#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"
#include "runtime/logger.hpp"
#include "runtime/runtime.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/sctp_host.hpp"

namespace hoplink::transport {

struct OrPortTarget {
  PeerAddress address;
  bool extended = false;
  std::string auth_cookie_file;
};

class App {
 public:
  // Throws std::runtime_error if the SCTP stack cannot start. `options` and `runtime` outlive the App.
  App(const Options& options, pt::Messages& messages, Runtime& runtime);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  Logger& log() { return log_; }

  // A TCP listener for tor: SOCKS5, or with `remote` a plain forwarder to that bridge whose links all carry
  // `remote_args` (what a bridge line would: fp= for dtls). Returns its address.
  Result<PeerAddress, std::string> add_client(const std::string& transport, const PeerAddress& listen,
                                              std::optional<PeerAddress> remote, pt::Args remote_args = {});
  // TOR_PT_OUTBOUND_BIND_ADDRESS_V4/_V6: client sockets bind there; applies to every transport, made or not.
  void set_outbound_bind(std::optional<PeerAddress> v4, std::optional<PeerAddress> v6);
  // TOR_PT_PROXY=socks5://: the links of `transports` go through the proxy's UDP relay, one association per
  // client socket. Checks now that the proxy grants one (runs the loop for at most `timeout`); the error is
  // one line for PROXY-ERROR.
  Result<void, std::string> use_proxy(const std::vector<std::string>& transports, const pt::ProxyUri& proxy,
                                      std::chrono::milliseconds timeout);
  // Serves `transport` on a UDP address; links go to tor at `target`. Returns the bound address.
  Result<PeerAddress, std::string> add_server(const std::string& transport, const PeerAddress& bind,
                                              const LinkOptions& link, const OrPortTarget& target);
  // After add_server: the SMETHOD ARGS (and bridge-line arguments) of `transport`.
  pt::Args smethod_args(const std::string& transport);
  // Where servers keep state (the dtls certificate): TOR_PT_STATE_LOCATION or --state-dir. Before add_server.
  void set_state_directory(std::string directory) { state_directory_ = std::move(directory); }

  // tor's TOR_PT_EXIT_ON_STDIN_CLOSE=1: end when stdin reaches end of file.
  void exit_on_stdin_close();
  // Runs until SIGTERM, a second SIGINT (the first one stops accepting and lets links drain), or stdin EOF.
  int run();

  // The fields of the periodic STATUS line of `transport` (opened by add_client or add_server).
  StatusFields status_fields(const std::string& transport);

 private:
  DatagramTransport& transport(const std::string& name);
  void accept_tcp(tcp::acceptor& acceptor, ClientContext& context);
  void watch_stdin();
  void on_signal(int number);
  void drain();
  void report_status();
  void arm_status_timer();
  void stop();

  const Options& options_;
  Logger log_;
  Runtime& runtime_;
  DatagramIoFactory datagrams_;  // outlives the transports, whose endpoints it opened
  SctpHost host_;
  LinkRegistry registry_;
  std::string state_directory_;
  std::optional<PeerAddress> outbound_v4_;
  std::optional<PeerAddress> outbound_v6_;
  std::map<std::string, std::unique_ptr<ClientProxy>> proxies_;  // outlive the transports' sockets
  std::map<std::string, std::unique_ptr<DatagramTransport>> transports_;
  std::list<tcp::acceptor> acceptors_;
  std::list<ClientContext> client_contexts_;
  std::list<ServerContext> server_contexts_;
  std::list<LinkOptions> server_link_options_;
  asio::signal_set signals_;
  std::optional<asio::posix::stream_descriptor> stdin_;
  std::array<char, 256> stdin_buffer_{};
  Timer status_timer_;
  Timer drain_timer_;
  bool accepting_ = true;
  Lifetime lifetime_;  // acceptors, stdin, signals
};

}  // namespace hoplink::transport
