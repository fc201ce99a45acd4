// Socket options of one usrsctp socket, and the retransmission limits derived from the configuration.
// Private to sctp/src.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sctp/association.hpp"
#include "sctp/stack.hpp"

struct socket;

namespace hoplink::sctp::detail {

// usrsctp's own give-up points. They are a backstop: the Stack's watchdog declares a silent peer dead after
// dead_peer_timeout; these are chosen so that usrsctp's exponential backoff (from rto_min, or rto_initial for
// INIT, capped at rto_max) needs at least that long before it gives up by itself.
struct RetransmissionLimits {
  std::uint16_t association_max_rxt = 0;  // SCTP_ASSOCINFO sasoc_asocmaxrxt and spp_pathmaxrxt
  std::uint16_t init_max_attempts = 0;    // SCTP_INITMSG sinit_max_attempts
  std::uint16_t init_max_timeout_ms = 0;  // SCTP_INITMSG sinit_max_init_timeo
  std::uint32_t heartbeat_interval_ms = 0;
};
RetransmissionLimits retransmission_limits(const StackConfig& stack, const AssociationConfig& config);

// Non-blocking, SCTP_NODELAY, buffers, one stream each way, fixed path MTU without PMTU discovery, heartbeat
// interval, retransmission limits, and the notifications and receive info (PPIDs) the Association reads. On
// the listener they are the defaults accepted associations start with; on accepted sockets they are applied
// again.
bool apply_socket_options(struct socket* so, const StackConfig& stack, const AssociationConfig& config,
                          std::string& error);

// SO_LINGER {1, 0}: the next usrsctp_close sends ABORT and frees the association at once.
void set_abortive_close(struct socket* so);

// Pending socket error (ECONNRESET, ETIMEDOUT, ...), 0 when none.
int socket_error(struct socket* so);

struct AssociationStatus {
  std::uint32_t srtt_ms = 0;
  std::uint32_t rto_ms = 0;
  std::uint32_t cwnd_bytes = 0;
  std::uint32_t peer_rwnd_bytes = 0;
  std::uint32_t unacked_chunks = 0;
  std::uint32_t pending_chunks = 0;
};
std::optional<AssociationStatus> association_status(struct socket* so);

// Bytes accepted by usrsctp_sendv and not yet acknowledged (the association's output queue).
std::optional<std::size_t> send_queue_bytes(struct socket* so);

}  // namespace hoplink::sctp::detail
