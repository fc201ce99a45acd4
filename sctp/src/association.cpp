// Association: one usrsctp one-to-one socket carrying a byte stream on stream 0.
//
// Notifications share the receive queue with data, in order. The ones needed while the application is not
// reading (COMM_UP before the first byte, SHUTDOWN_COMP after the last) are read by refresh() when nothing
// else is ahead of them; errors (ABORT, timeouts) are seen through the socket error at once.
//
// Each direction ends with an end-of-stream marker (kEndOfStreamPpid) behind its data on stream 0; the SCTP
// SHUTDOWN, which ends both directions, follows once both markers have passed.
#include "sctp/association.hpp"

#include <arpa/inet.h>
#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "external_cc.hpp"
#include "internal.hpp"
#include "socket_options.hpp"

namespace hoplink::sctp {
namespace {

constexpr std::size_t kProbeSize = 16 * 1024;  // one read while looking for notifications
constexpr std::size_t kMinDirectRead = 1024;   // smaller user buffers are filled through the stash
constexpr std::size_t kMaxPiece = 64 * 1024;   // bytes per usrsctp_sendv (one SCTP message)
constexpr std::size_t kMinPiece = 1024;        // below this a refused send waits for writable
constexpr std::chrono::milliseconds kStatsInterval{100};

}  // namespace

// ---- Association::Impl -----------------------------------------------------------------------------------

Association::Impl::ReadOutcome Association::Impl::read_once(std::span<std::byte> into, std::size_t& bytes) {
  bytes = 0;
  int flags = 0;
  struct sctp_rcvinfo info {};
  socklen_t info_len = sizeof info;
  unsigned int info_type = 0;
  struct sockaddr_conn from {};
  socklen_t from_len = sizeof from;
  const ssize_t r = usrsctp_recvv(so, into.data(), into.size(), reinterpret_cast<struct sockaddr*>(&from),
                                  &from_len, &info, &info_len, &info_type, &flags);
  if (r < 0) {
    const int err = errno;
    if (err == EWOULDBLOCK || err == EAGAIN) return ReadOutcome::would_block;
    if (err == ENOTCONN && state == AssociationState::connecting) return ReadOutcome::would_block;
    fail_with_errno(err);
    return ReadOutcome::error;
  }
  if (r == 0) {
    eos_seen = true;
    if (graceful_end) finish(CloseReason::shutdown_complete, false);
    return ReadOutcome::end_of_file;
  }
  if ((flags & MSG_NOTIFICATION) != 0) {
    notification.insert(notification.end(), into.begin(), into.begin() + r);
    if ((flags & MSG_EOR) != 0) {
      std::vector<std::byte> complete;
      complete.swap(notification);
      handle_notification(complete);
    }
    return ReadOutcome::notification;
  }
  if (peer_marker_seen) {
    // The peer ended its direction and sent more: its byte stream is no longer trustworthy.
    finish(CloseReason::protocol_violation, true);
    return ReadOutcome::error;
  }
  if (info_type == SCTP_RECVV_RCVINFO && info.rcv_ppid == htonl(kEndOfStreamPpid)) {
    peer_marker_seen = true;
    eos_seen = true;
    shut_down_when_both_ended();
    return ReadOutcome::end_of_file;
  }
  bytes = static_cast<std::size_t>(r);
  return ReadOutcome::data;
}

void Association::Impl::handle_notification(std::span<const std::byte> n) {
  union sctp_notification header {};
  std::memcpy(&header, n.data(), std::min(n.size(), sizeof header));
  if (n.size() < sizeof header.sn_header) return;
  switch (header.sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
      if (n.size() < sizeof(struct sctp_assoc_change)) return;
      const auto& change = header.sn_assoc_change;
      switch (change.sac_state) {
        case SCTP_COMM_UP:
          if (state == AssociationState::connecting) {
            state = AssociationState::open;
            connected_pending = true;
          }
          break;
        case SCTP_SHUTDOWN_COMP:
          graceful_end = true;
          if (eos_seen) finish(CloseReason::shutdown_complete, false);
          break;
        case SCTP_COMM_LOST:
        case SCTP_CANT_STR_ASSOC: {
          int err = so != nullptr ? detail::socket_error(so) : 0;
          if (err == 0) err = change.sac_state == SCTP_CANT_STR_ASSOC ? ECONNREFUSED : ECONNABORTED;
          fail_with_errno(err);
          break;
        }
        default:  // SCTP_RESTART: the peer restarted; the byte stream goes on
          break;
      }
      break;
    }
    case SCTP_SHUTDOWN_EVENT:
      if (state == AssociationState::open) state = AssociationState::shutting_down;
      break;
    default:
      break;
  }
}

void Association::Impl::probe() {
  while (so != nullptr) {
    stash.resize(kProbeSize);
    stash_pos = 0;
    std::size_t got = 0;
    const ReadOutcome outcome = read_once(stash, got);
    if (outcome == ReadOutcome::data) {
      stash.resize(got);
      return;
    }
    stash.clear();
    if (outcome != ReadOutcome::notification) return;
  }
}

int Association::Impl::refresh() {
  if (so == nullptr) return 0;
  // usrsctp frees an association that ends (SHUTDOWN-COMPLETE, ABORT, dead peer) before we see it end:
  // keep its path's state from time to time for stats() after the close.
  if (stack != nullptr && state == AssociationState::open && stack->now - stats_taken >= kStatsInterval) {
    stats_taken = stack->now;
    if (const auto last = live_stats()) closed_stats = *last;
  }
  note_sent_acked();
  int events = usrsctp_get_events(so);
  if ((events & SCTP_EVENT_ERROR) != 0) {
    if (const int err = detail::socket_error(so); err != 0) {
      fail_with_errno(err);
      return 0;
    }
  }
  if (send_blocked && has_send_room()) send_blocked = false;
  if (stash_pos >= stash.size() && (state == AssociationState::connecting || eos_seen)) {
    probe();
    if (so == nullptr) return 0;
    events = usrsctp_get_events(so);
  }
  // Every packet from the peer marks a writable socket, so a marker refused for lack of room is retried as
  // the peer's SACKs free some.
  if (sending == Sending::marker_pending) {
    send_marker();
    if (so == nullptr) return 0;
    events = usrsctp_get_events(so);
  }
  return events;
}

bool Association::Impl::readable(int socket_events) const {
  if (close_reason && *close_reason != CloseReason::shutdown_complete) return false;
  if (eos_delivered || state == AssociationState::connecting) return false;
  return stash_pos < stash.size() || eos_seen || (socket_events & SCTP_EVENT_READ) != 0;
}

bool Association::Impl::has_send_room() const {
  if (so == nullptr) return false;
  const std::optional<std::size_t> queued = detail::send_queue_bytes(so);
  if (!queued) return true;
  const std::size_t limit = config.send_buffer;
  const std::size_t wanted = std::min(kMaxPiece, limit / 4);
  return *queued < limit && limit - *queued >= wanted;
}

void Association::Impl::fail_with_errno(int err) {
  const bool connecting = state == AssociationState::connecting;
  CloseReason reason;
  switch (err) {
    case ECONNREFUSED:
      reason = CloseReason::connect_failed;
      break;
    case ETIMEDOUT:
    case ECONNABORTED:  // our own retransmission limit
      reason = connecting ? CloseReason::connect_failed : CloseReason::peer_unreachable;
      break;
    default:  // ECONNRESET: the peer's ABORT
      reason = connecting ? CloseReason::connect_failed : CloseReason::peer_aborted;
      break;
  }
  finish(reason, false);
}

// Once both markers have passed and ours is acknowledged, every byte of both directions is with its reader:
// only the SCTP teardown is left, and reordering or loss can still cut it short (an ABORT that answers a
// late duplicate after the peer freed the association, a SHUTDOWN-COMPLETE lost for good, a DTLS session
// closed right after). Such an end loses nothing, so it is reported as the orderly end it is.
void Association::Impl::note_sent_acked() {
  if (sent_all_acked || sending != Sending::marker_sent || so == nullptr) return;
  // usrsctp counts a chunk in the send buffer until the peer acknowledges it, not just until it is sent.
  const std::optional<std::size_t> queued = detail::send_queue_bytes(so);
  sent_all_acked = queued && *queued == 0;
}

void Association::Impl::finish(CloseReason reason, bool abortive) {
  if (close_reason) return;
  note_sent_acked();
  if (ended_whole() && (reason == CloseReason::peer_aborted || reason == CloseReason::peer_unreachable ||
                        reason == CloseReason::lower_layer_closed)) {
    reason = CloseReason::shutdown_complete;
  }
  close_reason = reason;
  state = AssociationState::closed;
  writable_wanted = false;
  if (so != nullptr) {
    if (const auto last = live_stats()) closed_stats = *last;
    if (abortive) detail::set_abortive_close(so);
    detail::ExternalCc::unbind(so);
    usrsctp_close(so);
    so = nullptr;
  }
  if (stack != nullptr) {
    stack->association_ended(*this);
    stack->mark(slot);
  }
}

void Association::Impl::detach() {
  if (so != nullptr) {
    detail::set_abortive_close(so);
    detail::ExternalCc::unbind(so);
    usrsctp_close(so);
    so = nullptr;
  }
  if (!close_reason) close_reason = CloseReason::local_abort;
  close_reported = true;
  state = AssociationState::closed;
  stack = nullptr;
}

void Association::Impl::destroy() {
  if (stack == nullptr) return;
  if (so != nullptr) finish(CloseReason::local_abort, true);
  stack->free_slot(slot);
  stack = nullptr;
}

std::size_t Association::Impl::send(std::span<const std::byte> bytes) {
  if (bytes.empty() || so == nullptr || state != AssociationState::open || sending != Sending::open) return 0;
  if (send_blocked) {
    writable_wanted = true;
    return 0;
  }
  std::size_t piece = std::min(kMaxPiece, bytes.size());
  // Non-blocking usrsctp takes a message whole or not at all: size it to the free buffer when known.
  if (const std::optional<std::size_t> queued = detail::send_queue_bytes(so)) {
    const std::size_t room = *queued < config.send_buffer ? config.send_buffer - *queued : 0;
    piece = std::min(piece, room);
  }
  std::size_t total = 0;
  if (piece == 0) send_blocked = true;
  while (total < bytes.size() && piece > 0) {
    const std::size_t length = std::min(piece, bytes.size() - total);
    const ssize_t r =
        usrsctp_sendv(so, bytes.data() + total, length, nullptr, 0, nullptr, 0, SCTP_SENDV_NOINFO, 0);
    if (r > 0) {
      total += static_cast<std::size_t>(r);
      continue;
    }
    const int err = r == 0 ? EWOULDBLOCK : errno;
    if (err == EWOULDBLOCK || err == EAGAIN || err == EMSGSIZE) {
      if (length > kMinPiece) {
        piece = length / 2;
        continue;
      }
      send_blocked = true;
    }
    break;  // other errors (the association is going away) arrive as events
  }
  if (total < bytes.size()) writable_wanted = true;
  bytes_sent += total;
  if (total > 0) note_traffic();
  return total;
}

ReceiveResult Association::Impl::receive(std::span<std::byte> out) {
  if (out.empty()) return {};
  std::size_t n = 0;
  auto take_stash = [&] {
    const std::size_t count = std::min(out.size() - n, stash.size() - stash_pos);
    std::memcpy(out.data() + n, stash.data() + stash_pos, count);
    stash_pos += count;
    n += count;
    if (stash_pos >= stash.size()) {
      stash.clear();
      stash_pos = 0;
    }
  };
  if (stash_pos < stash.size()) take_stash();
  while (n < out.size() && so != nullptr && !eos_seen && stash_pos >= stash.size()) {
    std::size_t got = 0;
    ReadOutcome outcome;
    if (out.size() - n >= kMinDirectRead) {
      outcome = read_once(out.subspan(n), got);
      n += got;
    } else {
      stash.resize(kProbeSize);
      outcome = read_once(stash, got);
      stash.resize(got);
      stash_pos = 0;
      if (got > 0) take_stash();
    }
    if (outcome != ReadOutcome::data && outcome != ReadOutcome::notification) break;
  }
  if (n > 0) {
    bytes_received += n;
    note_traffic();
    if (eos_seen && stack != nullptr) stack->mark(slot);  // end_of_stream is owed: on_readable again
    return {n, false};
  }
  if (eos_seen && stash_pos >= stash.size()) {
    if (!eos_delivered) {
      eos_delivered = true;
      if (close_reason && stack != nullptr) stack->mark(slot);  // on_closed can follow now
    }
    return {0, true};
  }
  return {};
}

void Association::Impl::finish_sending() {
  if (sending != Sending::open || so == nullptr || close_reason) return;
  sending = Sending::marker_pending;
  writable_wanted = false;
  send_marker();
}

void Association::Impl::send_marker() {
  // send_blocked: send() found no room and no SACK came since; usrsctp would refuse the marker too.
  if (so == nullptr || close_reason || state != AssociationState::open || send_blocked) return;
  struct sctp_sndinfo info {};
  info.snd_sid = 0;
  info.snd_ppid = htonl(kEndOfStreamPpid);
  const std::byte payload{0};  // a DATA chunk may not be empty
  const ssize_t r =
      usrsctp_sendv(so, &payload, sizeof payload, nullptr, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0);
  if (r != static_cast<ssize_t>(sizeof payload)) return;  // no room yet: refresh() tries again
  sending = Sending::marker_sent;
  note_traffic();
  shut_down_when_both_ended();
}

void Association::Impl::shut_down_when_both_ended() {
  if (sending != Sending::marker_sent || !peer_marker_seen || shutdown_started || so == nullptr ||
      close_reason)
    return;
  shutdown_started = true;
  // Both sides may get here at once; SCTP resolves crossing SHUTDOWNs (RFC 9260 9.2) and both see
  // SHUTDOWN_COMP. Nothing is lost: the peer's marker was read, so all its data is with us.
  usrsctp_shutdown(so, SHUT_WR);
  if (state == AssociationState::open) state = AssociationState::shutting_down;
  if (stack != nullptr) stack->mark(slot);
}

void Association::Impl::shutdown() {
  if (so == nullptr || close_reason) return;
  if (state == AssociationState::open || state == AssociationState::connecting ||
      state == AssociationState::shutting_down) {
    usrsctp_shutdown(so, SHUT_WR);
    shutdown_started = true;
    if (state == AssociationState::open) state = AssociationState::shutting_down;
  }
  writable_wanted = false;
  if (sending == Sending::marker_pending) sending = Sending::marker_dropped;  // the SHUTDOWN ends it instead
  if (stack != nullptr) stack->mark(slot);
}

void Association::Impl::abort() {
  if (close_reason) return;
  finish(CloseReason::local_abort, true);
}

AssociationStats Association::Impl::stats() const {
  AssociationStats s = so != nullptr ? live_stats().value_or(closed_stats) : closed_stats;
  s.send_buffer = config.send_buffer;
  s.receive_buffer = config.receive_buffer;
  s.bytes_sent = bytes_sent;
  s.bytes_received = bytes_received;
  return s;
}

std::optional<AssociationStats> Association::Impl::live_stats() const {
  struct usrsctp_cc_info info {};
  if (so == nullptr || usrsctp_get_cc_info(so, &info) != 0) return std::nullopt;  // no association any more
  AssociationStats s;
  s.last_rtt_us = info.last_rtt_us;
  s.flight_bytes = info.flight;
  s.t3_timeouts = info.t3_timeouts;
  s.fast_retransmits = info.fast_retransmits;
  s.retransmitted_chunks = info.retransmitted_chunks;
  if (const auto status = detail::association_status(so)) {
    s.srtt_ms = status->srtt_ms;
    s.rto_ms = status->rto_ms;
    s.cwnd_bytes = status->cwnd_bytes;
    s.peer_rwnd_bytes = status->peer_rwnd_bytes;
    s.unacked_chunks = status->unacked_chunks;
    s.pending_chunks = status->pending_chunks;
  }
  if (const auto bbr = detail::ExternalCc::stats(so)) {
    s.min_rtt_us = static_cast<std::uint32_t>(bbr->min_rtt.count());
    s.pacing_rate_bytes_per_s = bbr->pacing_rate_bytes_per_s;
    s.bandwidth_bytes_per_s = bbr->max_bw_bytes_per_s;
    s.inflight_hi_bytes = bbr->inflight_hi == UINT64_MAX ? 0 : bbr->inflight_hi;
    s.cc_state = cc::to_string(bbr->state);
  }
  return s;
}

std::size_t Association::Impl::buffered_amount() const {
  if (so == nullptr) return 0;
  return detail::send_queue_bytes(so).value_or(0);
}

// ---- Association -----------------------------------------------------------------------------------------

Association::Association(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Association::~Association() {
  if (impl_) impl_->destroy();
}

void Association::set_events(AssociationEvents& events) {
  impl_->events = &events;
  if (impl_->stack != nullptr) impl_->stack->mark(impl_->slot);
}

std::size_t Association::send(std::span<const std::byte> bytes) {
  return impl_->send(bytes);
}
ReceiveResult Association::receive(std::span<std::byte> out) {
  return impl_->receive(out);
}
void Association::finish_sending() {
  impl_->finish_sending();
}
void Association::shutdown() {
  impl_->shutdown();
}
void Association::abort() {
  impl_->abort();
}
AssociationState Association::state() const {
  return impl_->state;
}
PeerToken Association::peer() const {
  return impl_->peer;
}
AssociationStats Association::stats() const {
  return impl_->stats();
}
std::size_t Association::buffered_amount() const {
  return impl_->buffered_amount();
}

}  // namespace hoplink::sctp
