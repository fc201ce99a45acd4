// What a link holds before it relays — tor's TCP socket, a timer for the handshake, the association — and
// the two ways that phase ends: handed over to a Link under the same registry id, or closed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/asio.hpp"
#include "links/link.hpp"

namespace hoplink::transport {

class PendingLink : public Closable {
 public:
  void close_now() override;

 protected:
  PendingLink(LinkContext& link, std::uint64_t id, tcp::socket socket,
              std::unique_ptr<sctp::Association> association);

  // A Link takes over the socket and the association, and this session's place (and id) in the registry.
  void hand_over(std::string description, std::vector<std::byte> to_peer_first);

  LinkContext& link_;
  std::uint64_t id_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  std::unique_ptr<sctp::Association> association_;
  bool finished_ = false;  // closed, or handed over to a Link
};

}  // namespace hoplink::transport
