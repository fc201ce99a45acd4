// Socket options of one usrsctp socket.
#include "socket_options.hpp"

#include <usrsctp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sctp/packet.hpp"

// Not in usrsctp.h but handled by its getsockopt (shared with FreeBSD): the bytes queued for sending.
#ifndef SCTP_GET_SNDBUF_USE
#define SCTP_GET_SNDBUF_USE 0x00001101
struct sctp_sockstat {
  sctp_assoc_t ss_assoc_id;
  uint32_t ss_total_sndbuf;
  uint32_t ss_total_recv_buf;
};
#endif

namespace hoplink::sctp::detail {
namespace {

// How many consecutive timeouts, starting at `first` and doubling up to `cap`, add up to at least `total`.
std::uint32_t timeouts_to_cover(std::uint64_t first, std::uint64_t cap, std::uint64_t total) {
  first = std::max<std::uint64_t>(first, 1);
  cap = std::max(cap, first);
  std::uint64_t sum = 0;
  std::uint64_t rto = first;
  std::uint32_t count = 0;
  while (sum < total && count < 0xffff) {
    sum += rto;
    rto = std::min(rto * 2, cap);
    ++count;
  }
  return count;
}

bool set_option(struct socket* so, int level, int name, const void* value, socklen_t size, const char* what,
                std::string& error) {
  if (usrsctp_setsockopt(so, level, name, value, size) == 0) return true;
  error = std::string("setsockopt ") + what + ": " + std::strerror(errno);
  return false;
}

template <class T>
bool set_option(struct socket* so, int level, int name, const T& value, const char* what,
                std::string& error) {
  return set_option(so, level, name, &value, static_cast<socklen_t>(sizeof(T)), what, error);
}

std::uint32_t ms(std::chrono::milliseconds d) {
  return static_cast<std::uint32_t>(std::max<long long>(d.count(), 0));
}

}  // namespace

RetransmissionLimits retransmission_limits(const StackConfig& stack, const AssociationConfig& config) {
  const std::uint64_t dead = ms(config.dead_peer_timeout);
  RetransmissionLimits limits;
  // A live but idle peer is heard from once per heartbeat (interval + RTO): keep that well inside the
  // dead-peer timeout, or the watchdog would kill idle associations.
  limits.heartbeat_interval_ms = std::max<std::uint32_t>(
      std::min<std::uint32_t>(ms(config.heartbeat_interval), static_cast<std::uint32_t>(dead / 3)), 100);
  // usrsctp aborts after max_rxt + 1 consecutive timeouts, so max_rxt = n takes n + 1 > the covering count.
  // Unanswered heartbeats count as timeouts too, interleaved with T3-rtx ones (a heartbeat goes out when the
  // path sent nothing for a randomly jittered interval): with only the T3 count, usrsctp gave up 20% before
  // dead_peer_timeout now and then. Add one per heartbeat interval that fits in the timeout.
  const std::uint64_t t3_timeouts = timeouts_to_cover(ms(stack.rto_min), ms(stack.rto_max), dead);
  const std::uint64_t heartbeat_timeouts = dead / limits.heartbeat_interval_ms + 1;
  limits.association_max_rxt =
      static_cast<std::uint16_t>(std::clamp<std::uint64_t>(t3_timeouts + heartbeat_timeouts, 1, 0xffff));
  limits.init_max_attempts = static_cast<std::uint16_t>(std::clamp<std::uint32_t>(
      timeouts_to_cover(ms(stack.rto_initial), ms(stack.rto_max), dead) + 1, 2, 0xffff));
  limits.init_max_timeout_ms =
      static_cast<std::uint16_t>(std::clamp<std::uint32_t>(ms(stack.rto_max), 1, 0xffff));
  return limits;
}

bool apply_socket_options(struct socket* so, const StackConfig& stack, const AssociationConfig& config,
                          std::string& error) {
  if (usrsctp_set_non_blocking(so, 1) != 0) {
    error = std::string("usrsctp_set_non_blocking: ") + std::strerror(errno);
    return false;
  }
  const RetransmissionLimits limits = retransmission_limits(stack, config);

  const int one = 1;
  const int sndbuf = static_cast<int>(std::min<std::size_t>(config.send_buffer, 1u << 30));
  const int rcvbuf = static_cast<int>(std::min<std::size_t>(config.receive_buffer, 1u << 30));
  if (!set_option(so, IPPROTO_SCTP, SCTP_NODELAY, one, "SCTP_NODELAY", error)) return false;
  if (!set_option(so, SOL_SOCKET, SO_SNDBUF, sndbuf, "SO_SNDBUF", error)) return false;
  if (!set_option(so, SOL_SOCKET, SO_RCVBUF, rcvbuf, "SO_RCVBUF", error)) return false;

  sctp_initmsg init{};
  init.sinit_num_ostreams = 1;
  init.sinit_max_instreams = 1;
  init.sinit_max_attempts = limits.init_max_attempts;
  init.sinit_max_init_timeo = limits.init_max_timeout_ms;
  if (!set_option(so, IPPROTO_SCTP, SCTP_INITMSG, init, "SCTP_INITMSG", error)) return false;

  sctp_assocparams assoc{};
  assoc.sasoc_assoc_id = SCTP_FUTURE_ASSOC;
  assoc.sasoc_asocmaxrxt = limits.association_max_rxt;
  if (!set_option(so, IPPROTO_SCTP, SCTP_ASSOCINFO, assoc, "SCTP_ASSOCINFO", error)) return false;

  // No ICMP reaches an AF_CONN socket: the path MTU is fixed by configuration (0 would be EINVAL).
  sctp_paddrparams paddr{};
  paddr.spp_assoc_id = SCTP_FUTURE_ASSOC;
  // An AF_CONN wildcard (null sconn_addr): every path of an existing association, or the endpoint default.
  auto* any = reinterpret_cast<struct sockaddr_conn*>(&paddr.spp_address);
  any->sconn_family = AF_CONN;
  paddr.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_ENABLE;
  // With AF_CONN usrsctp fills spp_pathmtu with chunks and puts the 12-byte common header on top (measured:
  // 1212-byte packets for 1200), while config.mtu is the whole packet, i.e. the UDP payload.
  paddr.spp_pathmtu = static_cast<std::uint32_t>(config.mtu - kCommonHeaderBytes);
  paddr.spp_hbinterval = limits.heartbeat_interval_ms;
  paddr.spp_pathmaxrxt = limits.association_max_rxt;
  if (!set_option(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, paddr, "SCTP_PEER_ADDR_PARAMS", error))
    return false;

  // The payload protocol identifier of each message read: it tells the end-of-stream marker from data.
  if (!set_option(so, IPPROTO_SCTP, SCTP_RECVRCVINFO, one, "SCTP_RECVRCVINFO", error)) return false;

  for (std::uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_SHUTDOWN_EVENT}) {
    sctp_event event{};
    event.se_assoc_id = SCTP_FUTURE_ASSOC;
    event.se_type = type;
    event.se_on = 1;
    if (!set_option(so, IPPROTO_SCTP, SCTP_EVENT, event, "SCTP_EVENT", error)) return false;
  }
  return true;
}

void set_abortive_close(struct socket* so) {
  linger l{};
  l.l_onoff = 1;
  l.l_linger = 0;
  usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &l, sizeof l);
}

int socket_error(struct socket* so) {
  int err = 0;
  socklen_t len = sizeof err;
  if (usrsctp_getsockopt(so, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return 0;
  return err;
}

std::optional<AssociationStatus> association_status(struct socket* so) {
  sctp_status st{};
  socklen_t len = sizeof st;
  if (usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_STATUS, &st, &len) != 0) return std::nullopt;
  AssociationStatus out;
  out.srtt_ms = st.sstat_primary.spinfo_srtt;
  out.rto_ms = st.sstat_primary.spinfo_rto;
  out.cwnd_bytes = st.sstat_primary.spinfo_cwnd;
  out.peer_rwnd_bytes = st.sstat_rwnd;
  out.unacked_chunks = st.sstat_unackdata;
  out.pending_chunks = st.sstat_penddata;
  return out;
}

std::optional<std::size_t> send_queue_bytes(struct socket* so) {
  sctp_sockstat st{};
  socklen_t len = sizeof st;
  if (usrsctp_getsockopt(so, IPPROTO_SCTP, SCTP_GET_SNDBUF_USE, &st, &len) != 0) return std::nullopt;
  return st.ss_total_sndbuf;
}

}  // namespace hoplink::sctp::detail
