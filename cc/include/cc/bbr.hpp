// BBR congestion control (draft-ietf-ccwg-bbr, "BBRv3"), sans-I/O: events and time in, cwnd and pacing rate
// out. It knows nothing of SCTP or sockets: sctp/ feeds it from usrsctp's congestion-control hooks, where a
// "packet" is one SCTP DATA chunk (one TSN), and the test simulations feed it directly.
//
// Calling order for one ACK (an SCTP SACK): on_packet_acked() for every packet newly delivered (cumulative or
// gap-acked), on_packet_lost() for every packet newly declared lost, then on_ack_done() once. Every call
// takes `now`; time never goes backwards. Not thread-safe; no callbacks, so nothing re-enters.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>

namespace hoplink::cc {

// Monotonic time since an arbitrary epoch.
using Time = std::chrono::microseconds;

struct BbrConfig {
  std::uint32_t mss = 1200;  // bytes of one full packet (payload counted by the caller)
  std::uint32_t initial_cwnd_packets = 10;
  std::uint32_t min_cwnd_packets = 4;  // BBRMinPipeCwnd
};

// What BBR remembers about one packet from its send to its ACK or loss: the delivery-rate sampling state of
// the draft (P.delivered, P.delivered_time, P.first_send_time, P.is_app_limited, P.tx_in_flight, P.lost).
// The caller stores it with the packet (inside usrsctp's chunk) and hands it back; trivially copyable.
struct SentPacket {
  std::int64_t send_time_us = 0;
  std::int64_t delivered_time_us = 0;
  std::int64_t first_send_time_us = 0;
  std::uint64_t delivered = 0;     // C.delivered when the packet left
  std::uint64_t lost = 0;          // C.lost when the packet left
  std::uint32_t tx_in_flight = 0;  // bytes in flight when it left, itself included
  std::uint32_t size = 0;          // bytes
  bool is_app_limited = false;
  // Sent before (a retransmission): its ACK may be the earlier copy's, so it gives no RTT sample (Karn).
  bool is_retransmission = false;
  // Send order, assigned by on_packet_sent (the draft's P.packet_id): picks the newest of packets sent in the
  // same microsecond and tells contiguous losses from separate loss events.
  std::uint64_t packet_id = 0;
};

enum class BbrState : std::uint8_t {
  startup,
  drain,
  probe_bw_down,
  probe_bw_cruise,
  probe_bw_refill,
  probe_bw_up,
  probe_rtt
};
std::string_view to_string(BbrState state);

struct BbrStats {
  BbrState state = BbrState::startup;
  std::uint64_t max_bw_bytes_per_s = 0;  // the windowed max delivery rate (BBR.max_bw)
  std::uint64_t bw_bytes_per_s = 0;      // BBR.bw, the bandwidth the model uses (max_bw bounded by bw_lo)
  std::chrono::microseconds min_rtt{0};  // 0 until the first sample
  std::uint64_t cwnd_bytes = 0;
  std::uint64_t pacing_rate_bytes_per_s = 0;
  std::uint64_t inflight_hi = 0;  // UINT64_MAX while unset
  std::uint64_t delivered_bytes = 0;
  std::uint64_t lost_bytes = 0;
  std::uint64_t round_count = 0;
};

class Bbr {
 public:
  Bbr(const BbrConfig& config, Time now);

  // A packet of `size` bytes leaves now. `in_flight` is the bytes outstanding before it (not lost, not
  // acked). Returns the state to keep with the packet. A retransmission is sent like a new packet.
  SentPacket on_packet_sent(Time now, std::uint32_t size, std::uint64_t in_flight,
                            bool retransmission = false);

  // The sender had nothing to send (its queue is empty) while `in_flight` < cwnd: the samples taken until
  // what is in flight now is delivered are marked application-limited (the draft's C.app_limited).
  void on_app_limited(std::uint64_t in_flight);

  void on_packet_acked(Time now, const SentPacket& packet);
  void on_packet_lost(Time now, const SentPacket& packet);
  // After the packets of one ACK: `in_flight` is what is still outstanding. Updates the model, cwnd and
  // pacing rate.
  void on_ack_done(Time now, std::uint64_t in_flight);

  // A retransmission timeout: every packet in flight is considered lost (call on_packet_lost for each first,
  // or not: the timeout alone also resets cwnd as the draft's "on RTO" says).
  void on_retransmission_timeout(Time now, std::uint64_t in_flight);

  std::uint64_t cwnd() const;          // bytes
  std::uint64_t pacing_rate() const;   // bytes per second
  std::uint64_t send_quantum() const;  // bytes: the largest burst the pacer may release at once
  BbrStats stats() const;

  struct Impl;  // the model; declared in the .cpp (kept out of the header so the header stays stable)

  ~Bbr();
  Bbr(Bbr&&) noexcept;
  Bbr& operator=(Bbr&&) noexcept;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace hoplink::cc
