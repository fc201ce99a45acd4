// One SCTP association carrying one byte stream (a Tor link) in order on stream 0, each direction ending on
// its own as TCP's do (finish_sending), or both at once (shutdown).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

namespace hoplink::sctp {

// Identifies one remote datagram endpoint (a UDP peer) to usrsctp. Never 0. The caller keeps the map
// token -> address; usrsctp only sees the number (it ends up inside SCTP state cookies).
struct PeerToken {
  std::uint32_t value = 0;
  friend auto operator<=>(const PeerToken&, const PeerToken&) = default;
};

// Per-association settings (socket options).
struct AssociationConfig {
  std::size_t mtu = 1200;  // SCTP packet size in bytes (the UDP payload, or the DTLS record payload)
  std::size_t send_buffer = 1024 * 1024;     // SO_SNDBUF: bytes accepted by send() but not yet acked
  std::size_t receive_buffer = 1024 * 1024;  // SO_RCVBUF: the advertised receive window
  // When not 0, both grow with the path toward twice its bandwidth-delay product, up to this, and return to
  // the sizes above when the association idles (sctp/buffer_tuning.hpp).
  std::size_t max_window = 16 * 1024 * 1024;
  std::chrono::milliseconds heartbeat_interval{5000};
  // A peer that answers nothing (data or heartbeats) for about this long is declared dead:
  // on_closed(peer_unreachable). Tuned through the path/association retransmission limits.
  std::chrono::milliseconds dead_peer_timeout{30000};
  std::uint16_t local_port = 0;      // SCTP port; 0 = ephemeral (clients)
  std::uint16_t remote_port = 5000;  // the listener's SCTP port
};

// The end-of-stream marker of finish_sending(): one SCTP message on stream 0 whose payload protocol
// identifier (RFC 9260 3.3.1; in network byte order on the wire) is this value, with a 1-byte payload (a
// DATA chunk may not be empty). Data messages carry PPID 0. Why a PPID: a message on the same ordered stream
// is delivered after every byte sent before it, it costs one chunk, and it needs no negotiation (an RFC 6525
// stream reset would need the RE-CONFIG extension on both sides). The value ("hles", hoplink end of stream)
// is not registered with IANA: only hoplink peers see it. A peer without half-close reads it as one byte of
// data.
inline constexpr std::uint32_t kEndOfStreamPpid = 0x686c6573;

enum class CloseReason : std::uint8_t {
  shutdown_complete,   // orderly SHUTDOWN finished (either side started it)
  peer_aborted,        // ABORT received
  peer_unreachable,    // heartbeats or data unanswered: dead peer
  connect_failed,      // INIT never answered, or refused
  local_abort,         // abort() or destruction while open
  protocol_violation,  // the peer sent data after its end-of-stream marker: aborted
  lower_layer_closed,  // what carried its packets ended (a DTLS session, RFC 8261): aborted at once
};
std::string_view to_string(CloseReason reason);

enum class AssociationState : std::uint8_t { connecting, open, shutting_down, closed };

struct ReceiveResult {
  std::size_t bytes = 0;
  // The peer ended its direction (finish_sending or shutdown) and every byte it sent has been read.
  bool end_of_stream = false;
};

// The path's state and counters. After the association closed: as they were when its socket closed.
struct AssociationStats {
  std::uint64_t bytes_sent = 0;      // accepted by send()
  std::uint64_t bytes_received = 0;  // returned by receive()
  std::uint32_t srtt_ms = 0;
  std::uint32_t last_rtt_us = 0;  // the latest RTT sample
  std::uint32_t rto_ms = 0;
  std::uint32_t cwnd_bytes = 0;
  std::uint32_t flight_bytes = 0;
  std::uint32_t peer_rwnd_bytes = 0;
  std::size_t send_buffer = 0;     // as tuned now
  std::size_t receive_buffer = 0;  // as tuned now
  std::uint32_t unacked_chunks = 0;
  std::uint32_t pending_chunks = 0;
  std::uint32_t t3_timeouts = 0;           // retransmission timeouts
  std::uint32_t fast_retransmits = 0;      // chunks declared lost by gap reports
  std::uint32_t retransmitted_chunks = 0;  // chunks sent more than once
  // Congestion control bbr only (0 / empty otherwise):
  std::uint32_t min_rtt_us = 0;
  std::uint64_t pacing_rate_bytes_per_s = 0;
  std::uint64_t bandwidth_bytes_per_s = 0;  // the model's bottleneck bandwidth estimate (BBR.max_bw)
  std::uint64_t inflight_hi_bytes = 0;      // BBR.inflight_hi, the loss-based bound (0: not set)
  std::string_view cc_state;                // "startup", "probe_bw_cruise", ... (static strings)
};

// Callbacks are run only by Stack::dispatch_events(), never from inside a usrsctp call. They may call any
// method of this association or destroy it (after on_closed, destruction is the only thing left to do).
class AssociationEvents {
 public:
  virtual void on_connected() = 0;
  virtual void on_readable() = 0;  // receive() has bytes or end_of_stream
  virtual void on_writable() = 0;  // send() may accept more after having accepted less than asked
  virtual void on_closed(CloseReason reason) = 0;

 protected:
  ~AssociationEvents() = default;
};

class Association {
 public:
  // Destroying an association that is not closed aborts it.
  ~Association();
  Association(const Association&) = delete;
  Association& operator=(const Association&) = delete;

  void set_events(AssociationEvents& events);

  // Queues bytes for in-order delivery and returns how many were accepted: 0 when the send buffer is full,
  // the association is not open yet (wait for on_connected / on_writable), or sending has finished. Never
  // blocks.
  std::size_t send(std::span<const std::byte> bytes);
  // Reads delivered bytes; {0, false} when none is ready (wait for on_readable).
  ReceiveResult receive(std::span<std::byte> out);

  // Half-close, TCP's FIN: ends this direction only. Everything accepted by send() is delivered, then the
  // end-of-stream marker (kEndOfStreamPpid), after which the peer's receive() returns end_of_stream; send()
  // accepts nothing more. The peer may go on sending, and receive() delivers it. A full send buffer (or an
  // association still connecting) delays the marker until there is room, without the caller's help. Once
  // both directions have ended (the marker sent and the peer's read), the association shuts down by itself:
  // on_closed(shutdown_complete) after receive() has returned end_of_stream. Data from the peer after its
  // marker aborts the association: on_closed(protocol_violation). Idempotent; nothing once closed.
  void finish_sending();
  // Ends both directions at once with an SCTP SHUTDOWN: everything accepted by send() is delivered, the peer
  // may send nothing new, then on_closed(shutdown_complete). What the peer had not yet handed to its send()
  // is lost, which is why a byte stream that must survive a one-sided end uses finish_sending().
  void shutdown();
  // Immediate close: ABORT to the peer, unsent bytes lost, on_closed(local_abort).
  void abort();

  AssociationState state() const;
  // The peer this association runs over (for accepted associations: the peer its INIT came from).
  PeerToken peer() const;
  AssociationStats stats() const;
  // Bytes accepted by send() and not yet acknowledged by the peer.
  std::size_t buffered_amount() const;

  struct Impl;
  explicit Association(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::sctp
