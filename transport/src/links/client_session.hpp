// Client side of a link before it relays: the SOCKS5 exchange with tor (or none, for a fixed --remote),
// then an association to the bridge, then the SOCKS reply. On success it becomes a Link.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "links/link.hpp"
#include "links/link_options.hpp"
#include "links/pending_link.hpp"
#include "pt/socks5_server.hpp"
#include "runtime/asio.hpp"
#include "transports/datagram_transport.hpp"

namespace hoplink::transport {

struct ClientContext {
  LinkContext link;
  DatagramTransport& transport;
  const LinkOptions& options;
  std::optional<PeerAddress> fixed_remote;  // unmanaged --remote: no SOCKS
  pt::Args fixed_args;                      // unmanaged: the bridge-line arguments (--fp) for every link
};

class ClientSession final : public PendingLink, public sctp::AssociationEvents {
 public:
  ClientSession(ClientContext& context, std::uint64_t id, tcp::socket socket);
  void start();

 private:
  void read_socks();
  void on_socks_bytes(std::size_t bytes);
  void connect(const PeerAddress& bridge, const pt::Args& args);
  void watch_tor_while_connecting();
  void reply_and_close(pt::Socks5Reply reply, const std::string& why);
  void become_link();

  void on_connected() override;
  void on_readable() override {}
  void on_writable() override {}
  void on_closed(sctp::CloseReason reason) override;

  ClientContext& context_;
  pt::Socks5Server socks_;
  std::vector<std::byte> in_;
  std::vector<std::byte> out_;
  PeerAddress bridge_;
  bool replying_ = false;  // a failure reply is being written
};

}  // namespace hoplink::transport
