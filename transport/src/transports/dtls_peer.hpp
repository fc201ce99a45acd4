// One DTLS 1.2 session with one remote UDP address, carrying that address's SCTP associations (RFC 8261): its
// own SCTP peer token with CRC32c off, SCTP packets out as records, records in as SCTP packets. It drives the
// sans-I/O dtls::DtlsSession from the runtime: datagrams in from its DtlsTransport, datagrams out through
// the transport's DatagramPort, and a runtime timer at the session's next_deadline().
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/peer_address.hpp"
#include "dtls/listener.hpp"
#include "dtls/session.hpp"
#include "io/datagram_port.hpp"
#include "runtime/runtime.hpp"
#include "transports/datagram_transport.hpp"
#include "transports/sctp_host.hpp"

namespace hoplink::transport {

class DtlsPeer;

// What a DtlsPeer tells its transport. Every call is made from the event loop after the session call that
// caused it has returned, so the owner may move the peer out of its tables; it must not destroy the peer
// inside the call (destruction has to wait for the next loop turn).
class DtlsPeerOwner {
 public:
  // The session opened, failed or closed (state() tells which).
  virtual void on_session_changed(DtlsPeer& peer) = 0;
  virtual void on_accept(DtlsPeer& peer, std::unique_ptr<sctp::Association> association) = 0;

 protected:
  ~DtlsPeerOwner() = default;
};

struct DtlsPeerCounters {
  std::uint64_t records_in = 0;
  std::uint64_t records_out = 0;
  std::uint64_t packets_dropped = 0;  // SCTP packets that could not be sent (queue full, too big, not open)
};

class DtlsPeer final : public SctpHost::Peer {
 public:
  // Bounds what a client queues while its handshake runs (SCTP INITs and their retransmissions).
  static constexpr std::size_t kMaxQueuedPackets = 64;

  // The SCTP side is registered at once (CRC32c off). `accepted`: settings of associations this peer opens
  // to us (server); nullopt on a client.
  DtlsPeer(Runtime& runtime, SctpHost& host, DtlsPeerOwner& owner, DatagramPort& port, PeerAddress address,
           std::optional<sctp::AssociationConfig> accepted);
  ~DtlsPeer();
  DtlsPeer(const DtlsPeer&) = delete;
  DtlsPeer& operator=(const DtlsPeer&) = delete;

  // Starts the handshake (sends the first flight). On error the peer is unusable (drop it).
  Result<void, dtls::Error> start_client(std::string_view fingerprint, const dtls::SessionConfig& config,
                                         dtls::TimePoint now);
  Result<void, dtls::Error> start_server(dtls::PendingHandshake&& hello, dtls::TimePoint now);

  // A datagram from this peer's address.
  void receive(std::span<const std::byte> datagram, dtls::TimePoint now);
  // Aborts the associations it carries, sends close_notify when open and stops the timer; the SCTP side is
  // unregistered. Idempotent.
  void retire();

  // Client: a connect attempt to tell if the handshake fails. Dropped once the session is open.
  void add_waiter(std::function<void(const ConnectFailure&)> on_failure);
  // Client: calls and forgets the waiters with the failure the session ended with.
  void fail_waiters();

  dtls::SessionState state() const;
  const dtls::Error& error() const;
  const dtls::DtlsSession* session() const { return session_ ? &*session_ : nullptr; }
  const PeerAddress& address() const { return address_; }
  sctp::PeerToken token() const { return token_; }
  const std::string& fingerprint() const { return fingerprint_; }
  std::size_t association_count() const;
  const DtlsPeerCounters& counters() const { return counters_; }
  // When a record last arrived (or the session opened): SCTP heartbeats reach an open session at least every
  // heartbeat interval while it carries associations, so a long silence means the other end lost the session.
  dtls::TimePoint last_heard() const { return last_heard_; }
  std::uint64_t last_epoch = 0;  // the transport's reaper: when a datagram last came or went

  // SctpHost::Peer: an SCTP packet to send as one record, and an association the peer opened to us.
  void send_packet(std::span<const std::byte> packet) override;
  void accept(std::unique_ptr<sctp::Association> association) override;

 private:
  dtls::SessionCallbacks callbacks();
  // After every session call: hand the records to SCTP, react to a state change, re-arm the timer.
  void after_session_call(dtls::SessionState before);
  void deliver_records();
  void flush_queue();
  void arm_timer();

  Runtime& runtime_;
  SctpHost& host_;
  DtlsPeerOwner& owner_;
  DatagramPort& port_;
  PeerAddress address_;
  sctp::PeerToken token_;
  bool registered_ = false;
  std::string fingerprint_;  // client: the pinned fp=
  std::optional<dtls::DtlsSession> session_;
  // Records decrypted during one session call, delivered to SCTP after it returns (SCTP may answer at once,
  // and the session must not be re-entered from its own callback).
  std::vector<std::byte> inbox_;
  std::vector<std::size_t> inbox_ends_;
  std::deque<std::vector<std::byte>> queue_;  // client: SCTP packets made before the session opened
  std::vector<std::function<void(const ConnectFailure&)>> waiters_;
  Timer timer_;
  // The session failed inside usrsctp's output callback: the owner hears of it from the loop.
  Task report_failure_;
  dtls::TimePoint last_heard_{};
  DtlsPeerCounters counters_;
};

}  // namespace hoplink::transport
