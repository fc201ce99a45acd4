#include "transports/sctp_host.hpp"

#include <algorithm>
#include <stdexcept>

namespace hoplink::transport {

SctpHost::SctpHost(Runtime& runtime, sctp::StackConfig config)
    : runtime_(runtime), tick_(runtime), pacing_(runtime) {
  config.clock = [&runtime] { return runtime.now(); };
  auto stack = sctp::Stack::create(config, [this](sctp::PeerToken to, std::span<const std::byte> packet) {
    // Called from inside usrsctp: only hand the bytes on.
    auto found = peers_.find(to.value);
    if (found != peers_.end()) found->second->send_packet(packet);
  });
  if (!stack.ok()) throw std::runtime_error("SCTP stack: " + stack.error());
  stack_ = std::move(stack).value();
  last_timers_ = runtime_.now();
  stack_->handle_timers(last_timers_);  // starts the Stack's clock
  round_hook_ = runtime_.add_round_hook([this] { settle(); });
}

SctpHost::~SctpHost() {
  runtime_.remove_round_hook(round_hook_);
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
  runtime_.end_round_soon();
  return association;
}

void SctpHost::abort_associations(sctp::PeerToken token) {
  if (stack_->abort_associations(token) > 0) runtime_.end_round_soon();
}

bool SctpHost::receive(sctp::PeerToken from, std::span<const std::byte> packet) {
  const bool accepted = stack_->receive_packet(from, packet);
  if (accepted) arm_timer();
  return accepted;
}

sctp::UnvalidatedOutcome SctpHost::receive_unvalidated(sctp::PeerToken token, Peer& peer, PeerStays stays,
                                                       bool crc32c,
                                                       std::optional<sctp::AssociationConfig> accepted,
                                                       std::span<const std::byte> packet,
                                                       std::size_t reply_budget) {
  if (peers_.contains(token.value)) return sctp::UnvalidatedOutcome::dropped;
  peers_[token.value] = &peer;
  auto outcome = stack_->receive_unvalidated(token, crc32c, std::move(accepted), packet, reply_budget);
  if (outcome == sctp::UnvalidatedOutcome::associated) {
    if (stays == PeerStays::if_associated) {
      arm_timer();
      return outcome;
    }
    // The fuzzer found INITs that came out `associated`. Had the token stayed, the association would have
    // been handed, when accepted, to a responder long gone (a remote crash). Forgotten, it is aborted then.
    stack_->unregister_peer(token);
    outcome = sctp::UnvalidatedOutcome::handled;
  }
  peers_.erase(token.value);
  return outcome;
}

void SctpHost::settle() {
  stack_->dispatch_events();
  arm_timer();  // whatever ran since the last round may have started a usrsctp timer
  arm_pacing_timer();
}

void SctpHost::arm_pacing_timer() {
  const auto next = stack_->next_pacing_release();
  if (!next || (pacing_.armed() && pacing_.deadline() <= *next)) return;
  pacing_.arm_at(*next, [this] {
    stack_->release_paced(runtime_.now());
    runtime_.end_round();  // the released packets go out, and the timer is armed for the next release
  });
}

// One timer at the Stack's next deadline, not a periodic tick: an idle bridge sleeps, and a busy one wakes at
// most every timer_tick (deadlines closer than that to the last call are batched into one call).
void SctpHost::arm_timer() {
  const auto due = stack_->next_timer_deadline();
  if (!due) return;  // an armed timer stays: it fires once, early, and finds nothing to do
  const auto at = std::max(*due, last_timers_ + sctp::Stack::timer_tick);
  if (tick_.armed() && tick_.deadline() <= at) return;
  tick_.arm_at(at, [this] {
    last_timers_ = runtime_.now();
    stack_->handle_timers(last_timers_);
    runtime_.end_round();  // its round hook (settle) arms the timer for the next deadline
    arm_timer();
  });
}

}  // namespace hoplink::transport
