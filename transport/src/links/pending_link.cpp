#include "links/pending_link.hpp"

namespace hoplink::transport {

PendingLink::PendingLink(LinkContext& link, std::uint64_t id, tcp::socket socket,
                         std::unique_ptr<sctp::Association> association)
    : link_(link),
      id_(id),
      socket_(std::move(socket)),
      timer_(link.runtime),
      association_(std::move(association)) {}

void PendingLink::hand_over(std::string description, std::vector<std::byte> to_peer_first) {
  finished_ = true;
  timer_.cancel();
  // This session leaves the registry (destroyed from the loop) and the Link takes its id.
  auto& link =
      link_.registry.add(id_, std::make_unique<Link>(link_, id_, std::move(socket_), std::move(association_),
                                                     std::move(description), std::move(to_peer_first)));
  link.start();
}

void PendingLink::close_now() {
  if (finished_) return;
  finished_ = true;
  error_code ignored;
  timer_.cancel();
  socket_.close(ignored);
  if (association_) {
    association_.reset();
    link_.runtime.end_round_soon();
  }
  link_.registry.remove(id_);
}

}  // namespace hoplink::transport
