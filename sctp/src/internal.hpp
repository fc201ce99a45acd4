// Stack::Impl and Association::Impl: the state behind the public classes. Private to sctp/src.
//
// Sockets are known to usrsctp by a slot number (the upcall argument), never by a pointer. An upcall only
// marks its slot dirty; dispatch_events() then reads the socket's state and runs the callbacks. A slot's
// generation changes when it is freed, which is how dispatch notices that a callback destroyed the
// association it was called for.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sctp/association.hpp"
#include "sctp/buffer_tuning.hpp"
#include "sctp/stack.hpp"

struct socket;

namespace hoplink::sctp {

using Clock = std::chrono::steady_clock;
// How often the buffers of recently active associations are tuned (buffer_tuning.cpp).
inline constexpr std::chrono::milliseconds kTuneInterval{100};

struct Association::Impl {
  Stack::Impl* stack = nullptr;  // null once the Stack is gone
  std::uint32_t slot = 0;
  struct socket* so = nullptr;  // null once the usrsctp socket is closed
  PeerToken peer;
  AssociationConfig config;
  std::optional<std::uint64_t> port_key;  // (peer, local port, remote port), to attribute incoming packets
  AssociationEvents* events = nullptr;
  AssociationState state = AssociationState::connecting;

  bool connected_pending = false;  // on_connected not yet run
  bool writable_wanted = false;    // send() accepted less than asked: on_writable owed
  bool send_blocked = false;       // the last send failed for lack of space; no writable upcall since
  bool eos_seen = false;           // the peer's direction ended (its marker or SHUTDOWN), all data read
  bool eos_delivered = false;      // receive() has returned end_of_stream
  bool graceful_end = false;       // SHUTDOWN_COMP seen: the association is gone, nothing was lost
  std::optional<CloseReason> close_reason;
  bool close_reported = false;

  // Half-close (Association::finish_sending): how far our direction has ended. send() takes bytes only while
  // `open`.
  enum class Sending {
    open,
    marker_pending,  // finish_sending(): our end-of-stream marker waits for room or an open association
    marker_sent,     // usrsctp accepted our marker
    marker_dropped,  // shutdown() came while the marker was pending: the SHUTDOWN ends this direction instead
  };
  Sending sending = Sending::open;
  bool peer_marker_seen = false;  // the peer's marker was read: nothing may follow it
  bool shutdown_started = false;  // usrsctp_shutdown called (by shutdown() or when both directions ended)
  bool sent_all_acked = false;    // our marker and every byte before it were acknowledged by the peer

  // Bytes read from usrsctp while looking for notifications, handed out by receive() first. At most one read.
  std::vector<std::byte> stash;
  std::size_t stash_pos = 0;
  std::vector<std::byte> notification;  // a notification read in pieces, until MSG_EOR
  Clock::time_point last_heard{};       // last packet from the peer for this association (watchdog)

  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  AssociationStats closed_stats;  // the path's state when last seen alive (stats() after close)

  // Buffer tuning (sctp/buffer_tuning.hpp): config.send_buffer / receive_buffer hold the current sizes.
  BufferLimits buffer_limits;
  bool tuning_listed = false;  // in Stack::Impl::tuning
  Clock::time_point last_tuned{};
  Clock::time_point last_moved{};
  std::uint64_t sent_at_tune = 0;
  std::uint64_t received_at_tune = 0;
  void start_tuning(Clock::time_point now);
  // Returns whether to stay on the tuning list (bytes moved, or the buffers are above their start).
  bool tune_buffers(Clock::time_point now);
  void note_traffic();
  Clock::time_point stats_taken{};

  std::size_t send(std::span<const std::byte> bytes);
  ReceiveResult receive(std::span<std::byte> out);
  void finish_sending();
  void shutdown();
  void abort();
  AssociationStats stats() const;
  // The path's state from usrsctp; empty once usrsctp has freed the association.
  std::optional<AssociationStats> live_stats() const;
  std::size_t buffered_amount() const;

  // Called by dispatch_events before the callbacks: reads the socket state and the notifications that are
  // at the head of the receive queue. Runs no callback. Returns usrsctp_get_events() flags.
  int refresh();
  bool readable(int socket_events) const;
  // Enough free send buffer to be worth an on_writable (or unknown).
  bool has_send_room() const;
  // Ends the association: closes the usrsctp socket (abortively unless the association is already gone)
  // and records why. on_closed follows from dispatch_events.
  void finish(CloseReason reason, bool abortive);
  void fail_with_errno(int err);
  // The Stack is being destroyed: close abortively without any callback.
  void detach();
  // The Association object is being destroyed.
  void destroy();

 private:
  enum class ReadOutcome { data, notification, end_of_file, would_block, error };
  ReadOutcome read_once(std::span<std::byte> into, std::size_t& bytes);
  void handle_notification(std::span<const std::byte> n);
  void probe();
  void note_sent_acked();
  bool ended_whole() const { return sent_all_acked && peer_marker_seen; }
  // Sends the end-of-stream marker if the association is open and has room; stays marker_pending otherwise.
  void send_marker();
  // Starts the SCTP SHUTDOWN once our marker is sent and the peer's read: both directions have ended.
  void shut_down_when_both_ended();
};

struct Stack::Impl {
  struct Peer {
    bool crc32c = false;
    std::size_t associations = 0;
    bool unregister_pending = false;
    std::optional<AssociationConfig> accepted;  // overrides listener_config for this peer's associations
    // Set while a packet from an address nobody has validated is handled (receive_unvalidated): the bytes
    // the answer may still take, and whether it completed a handshake.
    std::optional<std::size_t> reply_budget;
    bool cookie_acknowledged = false;
  };
  struct Slot {
    struct socket* so = nullptr;
    Association::Impl* association = nullptr;  // null for the listener
    std::uint32_t generation = 0;
    bool in_use = false;
    bool listener = false;
    bool dirty = false;
  };

  bool owns_library = false;
  StackConfig config;
  PacketSink sink;
  StackCounters counters;
  std::unordered_map<std::uint32_t, Peer> peers;
  std::uint32_t next_token = 1;
  std::vector<Slot> slots;
  std::vector<std::uint32_t> free_slots;
  std::vector<std::uint32_t> dirty;  // slots marked by upcalls or by our own state changes
  std::unordered_map<std::uint64_t, std::uint32_t> slot_by_ports;
  std::size_t live_associations = 0;
  // The earliest time at which check_dead_peers() may find a dead peer (a lower bound: last_heard only moves
  // on), or none while no association is watched. next_timer_deadline() waits for it instead of a tick.
  std::optional<Clock::time_point> watchdog_due;
  std::vector<std::uint32_t> tuning;  // slots whose buffers are tuned: recently active, or grown
  Clock::time_point last_tuning_round{};

  std::optional<std::uint32_t> listener_slot;
  AssociationConfig listener_config;
  AcceptHandler on_accept;

  bool clock_started = false;
  Clock::time_point now{};
  Clock::time_point last_timer_call{};
  Clock::duration timer_remainder{};

  ~Impl();

  std::uint32_t allocate_slot(struct socket* so, Association::Impl* association, bool listener);
  void free_slot(std::uint32_t slot);
  void mark(std::uint32_t slot);
  bool alive(std::uint32_t slot, std::uint32_t generation) const;
  static std::uint64_t port_key(std::uint32_t token, std::uint16_t local_port, std::uint16_t remote_port);

  void on_output(std::uint32_t token, std::byte* packet, std::size_t length);
  Result<std::unique_ptr<Association>, std::string> connect(PeerToken peer, const AssociationConfig& config,
                                                            AssociationEvents& events);
  Result<void, std::string> listen(const AssociationConfig& config, AcceptHandler handler);
  // A non-blocking usrsctp socket with the per-association options, bound to `port` and the AF_CONN
  // `address` (a peer token, or null for every peer).
  Result<struct socket*, std::string> open_bound_socket(const AssociationConfig& config, std::uint16_t port,
                                                        void* address);
  bool receive_packet(PeerToken from, std::span<const std::byte> packet);
  void handle_timers(Clock::time_point t);
  void dispatch_events();

  // Bookkeeping when an association ends (its usrsctp association is gone).
  void association_ended(Association::Impl& a);
  void forget_peer(std::uint32_t token);

 private:
  void accept_pending();
  void run_association(std::uint32_t slot);
  void check_dead_peers();
  void tune_buffers();

 public:
  // A new association is watched from now: its peer is dead after dead_peer_timeout of silence.
  void watch(const Association::Impl& a);
  std::optional<Clock::time_point> next_timer_deadline() const;
};

}  // namespace hoplink::sctp
