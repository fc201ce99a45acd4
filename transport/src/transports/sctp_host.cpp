#include "transports/sctp_host.hpp"

#include <stdexcept>

namespace hoplink::transport {

SctpHost::SctpHost(asio::io_context& io, const sctp::StackConfig& config)
    : io_(io), timer_(io), pacing_timer_(io) {
  auto stack = sctp::Stack::create(config, [this](sctp::PeerToken to, std::span<const std::byte> packet) {
    // Called from inside usrsctp: only hand the bytes on.
    auto found = peers_.find(to.value);
    if (found != peers_.end()) found->second->send_packet(packet);
  });
  if (!stack.ok()) throw std::runtime_error("SCTP stack: " + stack.error());
  stack_ = std::move(stack).value();
}

SctpHost::~SctpHost() {
  *alive_ = false;
  timer_.cancel();
  pacing_timer_.cancel();
  // Destroying the stack closes what is left, and usrsctp sends ABORTs through the sink: the routing table
  // must still exist then.
  stack_.reset();
}

sctp::PeerToken SctpHost::add_peer(Peer& peer, bool crc32c, std::optional<sctp::AssociationConfig> accepted) {
  const auto token = stack_->register_peer(crc32c, std::move(accepted));
  peers_[token.value] = &peer;
  return token;
}

void SctpHost::remove_peer(sctp::PeerToken token) {
  stack_->unregister_peer(token);
  peers_.erase(token.value);
}

Result<void, std::string> SctpHost::listen(const sctp::AssociationConfig& config) {
  if (listening_) return {};
  auto result = stack_->listen(config, [this](std::unique_ptr<sctp::Association> association) {
    auto found = peers_.find(association->peer().value);
    // An association from a peer removed meanwhile is dropped, which aborts it.
    if (found != peers_.end()) found->second->accept(std::move(association));
  });
  if (result.ok()) listening_ = true;
  return result;
}

Result<std::unique_ptr<sctp::Association>, std::string> SctpHost::connect(
    sctp::PeerToken peer, const sctp::AssociationConfig& config, sctp::AssociationEvents& events) {
  auto association = stack_->connect(peer, config, events);
  arm_timer();
  settle_soon();
  return association;
}

bool SctpHost::receive(sctp::PeerToken from, std::span<const std::byte> packet) {
  const bool accepted = stack_->receive_packet(from, packet);
  if (accepted) arm_timer();
  return accepted;
}

void SctpHost::settle() {
  settle_posted_ = false;
  stack_->dispatch_events();
  for (auto& [id, flush] : flushers_) flush();
  arm_pacing_timer();
}

void SctpHost::arm_pacing_timer() {
  const auto next = stack_->next_pacing_release();
  if (!next || (pacing_armed_ && pacing_deadline_ <= *next)) return;
  pacing_armed_ = true;
  pacing_deadline_ = *next;
  pacing_timer_.expires_at(*next);
  pacing_timer_.async_wait([this, alive = alive_](const error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    pacing_armed_ = false;
    stack_->release_paced(std::chrono::steady_clock::now());
    settle();  // the released packets go out, and the timer is armed for the next release
  });
}

void SctpHost::settle_soon() {
  if (settle_posted_) return;
  settle_posted_ = true;
  asio::post(io_, [this, alive = alive_] {
    if (*alive) settle();
  });
}

std::uint64_t SctpHost::add_flusher(std::function<void()> flush) {
  flushers_.emplace(++next_flusher_, std::move(flush));
  return next_flusher_;
}

void SctpHost::remove_flusher(std::uint64_t id) {
  flushers_.erase(id);
}

void SctpHost::arm_timer() {
  if (timer_armed_) return;
  timer_armed_ = true;
  timer_.expires_after(sctp::Stack::timer_tick);
  timer_.async_wait([this, alive = alive_](const error_code& ec) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    timer_armed_ = false;
    stack_->handle_timers(std::chrono::steady_clock::now());
    settle();
    // usrsctp has no "next deadline": tick while any association (or a listener's handshake) may need it.
    if (stack_->has_associations()) arm_timer();
  });
}

}  // namespace hoplink::transport
