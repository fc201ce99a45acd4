// What a link holds before it relays — tor's TCP socket, a timer for the handshake, the association — and
// the two ways that phase ends: handed over to a Link under the same registry id, or closed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "links/link.hpp"
#include "runtime/asio.hpp"
#include "runtime/lifetime.hpp"
#include "runtime/runtime.hpp"

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
  Timer timer_;
  std::unique_ptr<sctp::Association> association_;
  bool finished_ = false;  // closed, or handed over to a Link
  Lifetime lifetime_;      // tor's socket operations
};

}  // namespace hoplink::transport
