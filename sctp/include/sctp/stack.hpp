// The SCTP engine: usrsctp in AF_CONN mode, single-threaded, packets in and out as bytes, time passed in.
//
// Shaped like dcsctp's socket so that the engine could be swapped: the Stack never touches a socket.
// Packets leave through the PacketSink (synchronously, from inside usrsctp calls) and come in through
// receive_packet(); timers advance only in handle_timers(now). usrsctp keeps its state in process globals,
// so there is at most one Stack per process; a second create() fails. Every call must come from the thread
// that created the Stack. usrsctp.h is included by sctp/ sources only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "sctp/association.hpp"

namespace hoplink::sctp {

// rfc2581 .. rtcc: usrsctp's own modules (Reno-like, unpaced). bbr: hoplink's BBR (cc::Bbr,
// draft-ietf-ccwg-bbr) through usrsctp's SCTP_CC_EXTERNAL module, paced by the Stack (next_pacing_release /
// release_paced).
enum class CongestionControl : std::uint8_t { rfc2581, hstcp, htcp, rtcc, bbr };
std::string_view to_string(CongestionControl cc);
std::optional<CongestionControl> parse_congestion_control(std::string_view name);

// Process-wide settings (usrsctp sysctls), applied once before the first socket exists.
struct StackConfig {
  CongestionControl congestion_control = CongestionControl::bbr;
  // RFC 9260's RTO.Min. With 200 ms a loss episode on a long fat path (50 ms, 200 Mbit/s: a sender CPU-busy
  // with thousands of chunks in its sent queue, SACKs handled late) fired spurious T3 timeouts, each a
  // go-back-N of the whole flight; lost chunks are found by time before that (patch 0005), so T3 is left
  // for a silent peer and the very tail of a burst.
  std::chrono::milliseconds rto_min{1000};
  std::chrono::milliseconds rto_max{5000};
  std::chrono::milliseconds rto_initial{1000};
  std::chrono::milliseconds delayed_sack{20};
  std::uint32_t sack_frequency = 2;      // SACK every Nth packet
  std::uint32_t initial_cwnd_mtus = 10;  // initial congestion window, in packets
  std::uint32_t max_burst = 0;           // 0: no burst limit
  // The time usrsctp reads (RTT samples, cookies, congestion control), monotonic. Empty: steady_clock::now.
  // Tests hand in a simulated clock and pass the same time to handle_timers().
  std::function<std::chrono::steady_clock::time_point()> clock;
};

struct StackCounters {
  std::uint64_t packets_in = 0;
  std::uint64_t packets_out = 0;
  std::uint64_t dropped_bad_checksum = 0;
  std::uint64_t dropped_unknown_peer = 0;
  std::uint64_t dropped_malformed = 0;  // shorter than an SCTP common header
  std::uint64_t associations_opened = 0;
  std::uint64_t associations_accepted = 0;
  std::uint64_t associations_closed = 0;
  std::uint64_t unvalidated_answered = 0;    // packets from unvalidated addresses that drew an answer
  std::uint64_t unvalidated_associated = 0;  // ... that completed a handshake (a valid COOKIE ECHO)
  std::uint64_t replies_over_budget = 0;     // answers dropped for being larger than what they answered
};

// What receive_unvalidated did with a packet.
enum class UnvalidatedOutcome : std::uint8_t {
  dropped,     // refused before usrsctp (token in use, malformed, bad checksum)
  handled,     // usrsctp took it; nothing stays registered (an INIT answered, a bad cookie ignored)
  associated,  // a valid COOKIE ECHO: an association exists and the peer stays registered under the token
};

class Stack {
 public:
  // Called synchronously from inside usrsctp for every packet to send. It may modify nothing in the Stack
  // (no re-entry): copy the bytes out (DatagramIo::enqueue) and return. With CRC32c on for the peer, the
  // checksum is already filled in.
  using PacketSink = std::function<void(PeerToken to, std::span<const std::byte> packet)>;
  // Receives each association accepted by listen(). The handler must call set_events() on it (or drop it,
  // which aborts it) before returning.
  using AcceptHandler = std::function<void(std::unique_ptr<Association> association)>;

  static Result<std::unique_ptr<Stack>, std::string> create(const StackConfig& config, PacketSink sink);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // A new peer. crc32c: compute and verify the RFC 4960 checksum for this peer's packets (RFC 6951, sctp
  // transport); false when an outer layer protects integrity (DTLS, RFC 8261). `accepted`: the settings of
  // associations accepted from this peer, when they differ from the listener's (another transport on the same
  // Stack, e.g. a smaller MTU inside DTLS); remote_port is always the listener's.
  PeerToken register_peer(bool crc32c, std::optional<AssociationConfig> accepted = std::nullopt);
  // Forget a peer once none of its associations is left; packets for it are dropped afterwards.
  void unregister_peer(PeerToken peer);
  // What carries the peer's packets has ended (its DTLS session closed or failed): nothing of its
  // associations can reach the other end any more, so each is aborted now, with on_closed(lower_layer_closed)
  // from dispatch_events(), rather than left to die at the dead-peer timeout. The ABORTs leave through the
  // sink, for a lower layer that can still carry them. Returns how many were aborted.
  std::size_t abort_associations(PeerToken peer);
  std::size_t association_count(PeerToken peer) const;

  // Opens an association to the peer's listener. Events arrive through dispatch_events(): on_connected, or
  // on_closed(connect_failed) when the peer never answers within the INIT retransmission limit.
  Result<std::unique_ptr<Association>, std::string> connect(PeerToken peer, const AssociationConfig& config,
                                                            AssociationEvents& events);

  // Accept associations from any registered peer. One listener per Stack. It binds config.remote_port (the
  // listener's port, 5000 by default, so both sides can share one AssociationConfig); local_port is ignored.
  Result<void, std::string> listen(const AssociationConfig& config, AcceptHandler on_accept);

  // One received packet from `from`. Returns false when it was dropped (and counted): unknown peer, too
  // short, or a bad CRC32c. Never throws, whatever the bytes.
  bool receive_packet(PeerToken from, std::span<const std::byte> packet);

  // A packet from an address that has not proven it receives what is sent to it: no peer is kept for it
  // unless the packet completes a handshake. usrsctp answers an INIT statelessly with a state cookie signed
  // over the peer's token, so `token` must be the same for every packet from one address and differ between
  // addresses (derive it from the address with a secret key): a COOKIE ECHO is then accepted only from the
  // address its INIT ACK went to. Tokens of this kind have the top bit set (register_peer's never do).
  // Answers leave through the sink during the call, and only while their bytes fit in `reply_budget` in all
  // (the others are dropped and counted): no amplification. On `associated` the peer stays registered as by
  // register_peer(crc32c, accepted) under `token`, and its association is accepted by dispatch_events().
  UnvalidatedOutcome receive_unvalidated(PeerToken token, bool crc32c,
                                         std::optional<AssociationConfig> accepted,
                                         std::span<const std::byte> packet, std::size_t reply_budget);
  static constexpr std::uint32_t kUnvalidatedTokenBit = 0x80000000u;

  // Advances usrsctp's timers, the dead-peer watchdog and buffer tuning to `now`. Call it at (or after)
  // next_timer_deadline(), and again after calls that may have moved that deadline earlier (any call into the
  // Stack or an Association); calling it when nothing is due is harmless.
  void handle_timers(std::chrono::steady_clock::time_point now);
  // When handle_timers() next has work: the earliest of usrsctp's pending timers, the watchdog and buffer
  // tuning; possibly early (a timer stopped since), never late. None when nothing is pending: an idle Stack
  // needs no wake-ups. Before the first handle_timers() it is due at once (that call starts the clock).
  std::optional<std::chrono::steady_clock::time_point> next_timer_deadline() const;
  // The finest granularity worth waking for: callers batch deadlines closer than this to their last call.
  static constexpr std::chrono::milliseconds timer_tick{10};

  // Pacing (congestion control bbr): the earliest time at which an association held back by its pacer may
  // send again, and the call that lets it (packets leave through the PacketSink; then dispatch_events()).
  // Finer than timer_tick: the loop arms a timer of its own for it.
  std::optional<std::chrono::steady_clock::time_point> next_pacing_release() const;
  // Sends for the paths whose release time is at or before `now`; the others wait (cheap when none is due).
  void release_paced(std::chrono::steady_clock::time_point now);
  bool has_associations() const;

  // Runs the AssociationEvents callbacks and accept handlers for everything usrsctp signalled since the last
  // call. Call it after each round of receive_packet / handle_timers / Association calls; it loops until no
  // event is left. Handlers may call any Association or Stack method, including destroying associations.
  void dispatch_events();

  const StackCounters& counters() const;

  struct Impl;

 private:
  explicit Stack(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::sctp
