// Server side of a link before it relays: an accepted association waits while we connect to tor's
// ORPort, or to its Extended ORPort and authenticate (SAFE_COOKIE, USERADDR, TRANSPORT, OKAY). On success it
// becomes a Link. Bytes the client sends meanwhile wait in the association (its window closes if needed).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "links/link.hpp"
#include "links/link_options.hpp"
#include "links/pending_link.hpp"
#include "pt/ext_or_client.hpp"
#include "runtime/asio.hpp"

namespace hoplink::transport {

struct ServerContext {
  LinkContext link;
  const LinkOptions& options;
  PeerAddress orport;            // where tor listens
  bool extended = false;         // Extended ORPort protocol on `orport`
  std::string auth_cookie_file;  // re-read for every connection: tor rewrites it when it restarts
};

class ServerSession final : public PendingLink, public sctp::AssociationEvents {
 public:
  ServerSession(ServerContext& context, std::uint64_t id, std::unique_ptr<sctp::Association> association,
                const PeerAddress& from);
  void start();

 private:
  void on_tcp_connected();
  void read_ext_or();
  void write_then_read();
  void fail(const std::string& why);
  void become_link(std::vector<std::byte> leftover);

  void on_connected() override {}
  void on_readable() override {}
  void on_writable() override {}
  void on_closed(sctp::CloseReason reason) override;

  ServerContext& context_;
  PeerAddress from_;
  std::unique_ptr<pt::ExtOrClient> ext_or_;
  std::vector<std::byte> in_;
  std::vector<std::byte> out_;
};

}  // namespace hoplink::transport
