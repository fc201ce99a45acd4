// The process's one sctp::Stack, driven by the runtime: its clock, one timer at its next deadline, the pacing
// timer, and the routing of packets between peer tokens and their owners. At the end of every round of the
// runtime the stack's events are dispatched (the round hook); the packets they make leave with the round's
// flush.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "common/result.hpp"
#include "runtime/runtime.hpp"
#include "sctp/stack.hpp"

namespace hoplink::transport {

class SctpHost {
 public:
  // The owner of one peer token: where its packets go, and who takes the associations it opens to us.
  class Peer {
   public:
    virtual void send_packet(std::span<const std::byte> packet) = 0;
    virtual void accept(std::unique_ptr<sctp::Association> association) = 0;

   protected:
    ~Peer() = default;
  };

  // Throws std::runtime_error when usrsctp cannot be initialised (start-up). The stack reads the runtime's
  // clock.
  SctpHost(Runtime& runtime, sctp::StackConfig config);
  ~SctpHost();
  SctpHost(const SctpHost&) = delete;
  SctpHost& operator=(const SctpHost&) = delete;

  // `accepted`: settings of associations this peer opens to us, when not the listener's (sctp::Stack).
  sctp::PeerToken add_peer(Peer& peer, bool crc32c,
                           std::optional<sctp::AssociationConfig> accepted = std::nullopt);
  void remove_peer(sctp::PeerToken token);
  // The peer's lower layer ended: its associations are aborted now (sctp::Stack::abort_associations) and
  // their links hear it at the end of this round.
  void abort_associations(sctp::PeerToken token);
  std::size_t association_count(sctp::PeerToken token) const { return stack_->association_count(token); }

  // Starts accepting associations from every peer (once; later calls do nothing).
  Result<void, std::string> listen(const sctp::AssociationConfig& config);
  Result<std::unique_ptr<sctp::Association>, std::string> connect(sctp::PeerToken peer,
                                                                  const sctp::AssociationConfig& config,
                                                                  sctp::AssociationEvents& events);
  bool receive(sctp::PeerToken from, std::span<const std::byte> packet);
  // Whether the `peer` of receive_unvalidated may stay the owner of its token after the call.
  enum class PeerStays {
    never,          // it lives for the call only (a stateless responder to an INIT)
    if_associated,  // the caller keeps it when the packet opened an association (a COOKIE ECHO)
  };
  // A packet from an address nobody validated (sctp::Stack::receive_unvalidated): `peer` takes the answers
  // during the call and, on `associated` with PeerStays::if_associated only, stays the owner of `token`.
  // With PeerStays::never an association the packet opened anyway is forgotten with its token (it is
  // aborted when accepted) and the outcome is `handled`: nothing may keep pointing at `peer`.
  sctp::UnvalidatedOutcome receive_unvalidated(sctp::PeerToken token, Peer& peer, PeerStays stays,
                                               bool crc32c, std::optional<sctp::AssociationConfig> accepted,
                                               std::span<const std::byte> packet, std::size_t reply_budget);

  const sctp::StackCounters& counters() const { return stack_->counters(); }

 private:
  // The round hook: events are dispatched, then the pacing timer is armed for the next held-back path.
  void settle();
  void arm_timer();
  // Congestion control bbr: a microsecond timer for the next association its pacer holds back (tick_ batches
  // usrsctp's timers to 10 ms, far too coarse: 200 Mbit/s is a packet every 48 us).
  void arm_pacing_timer();

  Runtime& runtime_;
  Timer tick_;
  TimePoint last_timers_{};  // the last handle_timers() call
  Timer pacing_;
  std::unique_ptr<sctp::Stack> stack_;
  std::unordered_map<std::uint32_t, Peer*> peers_;
  std::uint64_t round_hook_ = 0;
  bool listening_ = false;
};

}  // namespace hoplink::transport
