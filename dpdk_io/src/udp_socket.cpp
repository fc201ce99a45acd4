#include "dpdk_io/udp_socket.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "udp_socket_syscalls.hpp"

namespace hoplink::dio {
namespace {

// recvmmsg/sendmmsg take at most UIO_MAXIOV messages per call.
constexpr std::size_t kMaxBurst = 1024;
// IPv4/IPv6 UDP payloads are at most 65535 bytes (jumbograms aside).
constexpr std::size_t kMaxPayload = 65535;
// Bounds on retries inside one call, so that a stream of signals or of truncated datagrams cannot keep
// receive_burst() or flush() from returning.
constexpr int kMaxReceiveRounds = 8;
constexpr int kMaxInterruptedSends = 8;
// GSO: at most 64 segments per message (the kernel's UDP_MAX_SEGMENTS until 6.x raised it to 128) and 65,000
// payload bytes, under the 65,507 an IPv4 UDP datagram can carry.
constexpr std::size_t kMaxGsoSegments = 64;
constexpr std::size_t kMaxGsoBytes = 65000;
// Refusals in a row (EINVAL/EMSGSIZE) after which a socket sends without GSO for good.
constexpr int kMaxGsoRefusalsInARow = 8;
// GRO: a coalesced message is up to 64 KiB, so every receive slot must be that long; a bounded number of
// them keeps the buffer at 1 MiB (instead of burst x 64 KiB) while one recvmmsg still takes up to 16
// messages, and as many as 16 x 64 datagrams when the kernel coalesces.
constexpr std::size_t kGroSlotBytes = 65536;
constexpr std::size_t kGroSlots = 16;

std::string errno_text(int error) {
  char buffer[256];
  // GNU strerror_r: returns a pointer to the message, which may or may not be `buffer`.
  return strerror_r(error, buffer, sizeof buffer);
}

std::string describe_failure(std::string_view what, int error) {
  std::string text(what);
  text += ": ";
  text += errno_text(error);
  return text;
}

// A GSO message error that means the socket cannot do GSO at all: EIO is what the kernel answers when the
// route's device cannot checksum (or an xfrm policy applies); the others would come from a kernel or shim
// without UDP_SEGMENT that the open-time probe missed.
bool is_gso_unsupported(int error) {
  return error == EIO || error == EOPNOTSUPP || error == ENOPROTOOPT;
}

// A GSO message error that may be about this message's shape only: gso_size over the path MTU, too many
// segments, too long in total.
bool is_gso_refusal(int error) {
  return error == EINVAL || error == EMSGSIZE;
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Sets SO_RCVBUF / SO_SNDBUF. The *FORCE variants pass net.core.{r,w}mem_max but need CAP_NET_ADMIN; without
// it the plain option silently caps the value at the sysctl.
bool set_buffer(int fd, int force_option, int option, std::size_t bytes) {
  // The kernel doubles the value for its bookkeeping; keep the doubled value inside int.
  const int value = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX / 2));
  if (::setsockopt(fd, SOL_SOCKET, force_option, &value, sizeof value) == 0) return true;
  return ::setsockopt(fd, SOL_SOCKET, option, &value, sizeof value) == 0;
}

// A send error that belongs to one datagram (its destination, size or family), not to the socket: that
// datagram is dropped and the rest of the batch still goes out.
bool is_per_datagram_error(int error) {
  switch (error) {
    case EBADF:
    case ENOTSOCK:
    case EFAULT:
    case ENOMEM:
    case EOPNOTSUPP:
      return false;
    default:
      return true;
  }
}

// Control space for one UDP_SEGMENT (u16, send) or UDP_GRO (int, receive) cmsg.
struct alignas(cmsghdr) UdpControl {
  unsigned char bytes[CMSG_SPACE(sizeof(int))];
};

class UdpSocket final : public DatagramIo {
 public:
  UdpSocket(int fd, PeerAddress local, const UdpSocketConfig& config, detail::UdpSyscalls syscalls, bool gso,
            bool gro)
      : fd_(fd),
        local_(local),
        burst_(config.burst),
        max_payload_(config.max_payload),
        syscalls_(std::move(syscalls)),
        gso_(gso),
        gro_(gro),
        rx_slots_(gro ? std::min(burst_, kGroSlots) : burst_),
        rx_slot_bytes_(gro ? kGroSlotBytes : max_payload_),
        // Not value-initialised: pages the kernel never writes to are never made resident.
        rx_buffers_(std::make_unique_for_overwrite<std::byte[]>(rx_slots_ * rx_slot_bytes_)),
        rx_iov_(rx_slots_),
        rx_names_(rx_slots_),
        rx_control_(gro ? rx_slots_ : 0),
        rx_messages_(rx_slots_),
        rx_held_(rx_slots_),
        tx_buffers_(burst_ * max_payload_),
        tx_iov_(burst_),
        tx_names_(burst_),
        tx_messages_(burst_),
        tx_batch_(gso ? burst_ : 0),
        tx_batch_datagrams_(gso ? burst_ : 0),
        tx_control_(gso ? burst_ : 0) {
    // Every message points at its own slot for the life of the socket; the hot paths only reset lengths.
    for (std::size_t i = 0; i < rx_slots_; ++i) {
      rx_iov_[i] = {rx_buffers_.get() + i * rx_slot_bytes_, rx_slot_bytes_};
      rx_messages_[i] = {};
      rx_messages_[i].msg_hdr.msg_name = &rx_names_[i];
      rx_messages_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_messages_[i].msg_hdr.msg_iovlen = 1;
    }
    for (std::size_t i = 0; i < burst_; ++i) {
      tx_iov_[i] = {tx_buffers_.data() + i * max_payload_, 0};
      tx_messages_[i] = {};
      tx_messages_[i].msg_hdr.msg_name = &tx_names_[i];
      tx_messages_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_messages_[i].msg_hdr.msg_iovlen = 1;
    }
    // A coalesced message always carries the same one cmsg; flush() only writes its gso_size.
    for (auto& control : tx_control_) {
      std::memset(control.bytes, 0, sizeof control.bytes);
      auto* header = reinterpret_cast<cmsghdr*>(control.bytes);
      header->cmsg_level = SOL_UDP;
      header->cmsg_type = UDP_SEGMENT;
      header->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    }
  }
  UdpSocket(const UdpSocket&) = delete;
  UdpSocket& operator=(const UdpSocket&) = delete;
  ~UdpSocket() override { ::close(fd_); }

  Result<std::size_t, IoError> receive_burst(std::span<ReceivedDatagram> out) override;
  bool enqueue(const PeerAddress& to, std::span<const std::byte> payload) override;
  Result<std::size_t, IoError> flush() override;

  std::size_t pending_tx() const override { return tx_count_; }
  std::size_t tx_capacity() const override { return burst_; }
  std::size_t max_payload() const override { return max_payload_; }
  int readiness_fd() const override { return fd_; }
  PeerAddress local_address() const override { return local_; }
  const IoCounters& counters() const override { return counters_; }
  std::string_view backend_name() const override { return "udp"; }
  int last_errno() const override { return last_errno_; }

  UdpOffload offload() const {
    UdpOffload state = offload_;
    state.gso = gso_;
    state.gro = gro_;
    return state;
  }

 private:
  // A received message not yet completely handed out: one datagram, or several of `segment` bytes (GRO).
  struct HeldMessage {
    PeerAddress from;
    const std::byte* data = nullptr;
    std::size_t length = 0;
    std::size_t segment = 0;
    std::size_t offset = 0;
  };

  int call_recvmmsg(unsigned count) {
    if (syscalls_.recvmmsg) return syscalls_.recvmmsg(fd_, rx_messages_.data(), count, MSG_DONTWAIT);
    return ::recvmmsg(fd_, rx_messages_.data(), count, MSG_DONTWAIT, nullptr);
  }
  int call_sendmmsg(mmsghdr* messages, unsigned count) {
    if (syscalls_.sendmmsg) return syscalls_.sendmmsg(fd_, messages, count, MSG_DONTWAIT);
    return ::sendmmsg(fd_, messages, count, MSG_DONTWAIT);
  }
  std::size_t hand_out(std::span<ReceivedDatagram> out);
  std::size_t gro_segment_size(const msghdr& header) const;
  std::size_t gso_run(std::size_t first, std::size_t end) const;
  unsigned build_gso_batch(std::size_t run);
  // Removes `count` datagrams from the head of the tx ring.
  void pop_tx(std::size_t count) {
    tx_head_ = (tx_head_ + count) % burst_;
    tx_count_ -= count;
    tx_single_ -= std::min(tx_single_, count);
    // An empty ring restarts at slot 0 so that the next batch is contiguous: one sendmmsg instead of two.
    if (tx_count_ == 0) tx_head_ = 0;
  }

  const int fd_;
  const PeerAddress local_;
  const std::size_t burst_;
  const std::size_t max_payload_;
  detail::UdpSyscalls syscalls_;
  IoCounters counters_;
  UdpOffload offload_;
  int last_errno_ = 0;
  bool gso_;  // turned off for good when the kernel refuses GSO itself
  const bool gro_;
  int gso_refusals_in_a_row_ = 0;

  // Receive side: rx_slots_ slots of rx_slot_bytes_ (max_payload without GRO, 64 KiB with it: a coalesced
  // message can be that long), one iovec, source address and (GRO) control buffer each.
  const std::size_t rx_slots_;
  const std::size_t rx_slot_bytes_;
  std::unique_ptr<std::byte[]> rx_buffers_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_storage> rx_names_;
  std::vector<UdpControl> rx_control_;
  std::vector<mmsghdr> rx_messages_;
  // The messages of the last recvmmsg; [rx_held_next_, rx_held_count_) still hold datagrams to hand out. The
  // slots they point into are not read into again until all of them are handed out.
  std::vector<HeldMessage> rx_held_;
  std::size_t rx_held_next_ = 0;
  std::size_t rx_held_count_ = 0;

  // Transmit side: a ring of burst slots; [tx_head_, tx_head_ + tx_count_) modulo burst_ is queued.
  std::vector<std::byte> tx_buffers_;
  std::vector<iovec> tx_iov_;
  std::vector<sockaddr_storage> tx_names_;
  std::vector<mmsghdr> tx_messages_;
  std::size_t tx_head_ = 0;
  std::size_t tx_count_ = 0;
  // GSO: the messages of one sendmmsg, each spanning consecutive ring slots (its iovecs are those slots' own
  // iovecs in tx_iov_, so nothing is copied), the datagrams each carries, and its UDP_SEGMENT cmsg.
  std::vector<mmsghdr> tx_batch_;
  std::vector<std::size_t> tx_batch_datagrams_;
  std::vector<UdpControl> tx_control_;
  // Datagrams at the head of the ring to send one per message: a coalesced message of them was refused.
  std::size_t tx_single_ = 0;
};

std::size_t UdpSocket::hand_out(std::span<ReceivedDatagram> out) {
  std::size_t filled = 0;
  while (filled < out.size() && rx_held_next_ < rx_held_count_) {
    HeldMessage& message = rx_held_[rx_held_next_];
    const std::size_t length = std::min(message.segment, message.length - message.offset);
    const std::byte* data = message.data + message.offset;
    message.offset += length;
    if (message.offset >= message.length) ++rx_held_next_;  // also ends an empty datagram
    // Without GRO the slot is max_payload long and the kernel flags longer ones MSG_TRUNC; with GRO the slot
    // takes any datagram, so the limit is applied here, per datagram, with the same outcome.
    if (length > max_payload_) {
      ++counters_.rx_truncated;
      continue;
    }
    out[filled++] = {message.from, {data, length}};
    ++counters_.rx_datagrams;
    counters_.rx_bytes += length;
  }
  return filled;
}

std::size_t UdpSocket::gro_segment_size(const msghdr& header) const {
  if (!gro_) return 0;
  for (const cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
       control = CMSG_NXTHDR(const_cast<msghdr*>(&header), const_cast<cmsghdr*>(control))) {
    if (control->cmsg_level == SOL_UDP && control->cmsg_type == UDP_GRO &&
        control->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size = 0;
      std::memcpy(&size, CMSG_DATA(control), sizeof size);
      return size > 0 ? static_cast<std::size_t>(size) : 0;
    }
  }
  return 0;
}

Result<std::size_t, IoError> UdpSocket::receive_burst(std::span<ReceivedDatagram> out) {
  out = out.first(std::min(out.size(), burst_));
  if (out.empty()) return std::size_t{0};
  // Datagrams left from a split GRO buffer go first. A call that hands any out does not read the socket: the
  // views it returns point into slots that recvmmsg would overwrite.
  std::size_t filled = hand_out(out);
  if (filled > 0) return filled;
  const auto want = static_cast<unsigned>(std::min(out.size(), rx_slots_));
  // More than one round only when a whole round was dropped (truncated) or interrupted: returning 0 then
  // would tell the caller that nothing is pending while the socket still holds datagrams.
  for (int round = 0; filled == 0 && round < kMaxReceiveRounds; ++round) {
    for (unsigned i = 0; i < want; ++i) {
      msghdr& header = rx_messages_[i].msg_hdr;
      header.msg_namelen = sizeof(sockaddr_storage);
      header.msg_flags = 0;
      if (gro_) {
        header.msg_control = rx_control_[i].bytes;
        header.msg_controllen = sizeof rx_control_[i].bytes;
      }
      rx_messages_[i].msg_len = 0;
    }
    const int received = call_recvmmsg(want);
    if (received < 0) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) break;
      // ECONNREFUSED reports an ICMP port unreachable for an earlier send; reading it clears it, and the
      // datagrams behind it are still there.
      if (error == EINTR || error == ECONNREFUSED) continue;
      last_errno_ = error;
      return fail(IoError::system);
    }
    rx_held_next_ = 0;
    rx_held_count_ = 0;
    for (int i = 0; i < received; ++i) {
      const auto& message = rx_messages_[i];
      if ((message.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++counters_.rx_truncated;
        continue;
      }
      const auto from = PeerAddress::from_sockaddr(static_cast<const sockaddr*>(message.msg_hdr.msg_name),
                                                   message.msg_hdr.msg_namelen);
      if (!from) continue;  // not AF_INET/AF_INET6: cannot happen on a UDP socket
      const std::size_t segment = gro_segment_size(message.msg_hdr);
      if (segment != 0 && segment < message.msg_len) ++offload_.gro_messages;
      rx_held_[rx_held_count_++] = {*from, rx_buffers_.get() + i * rx_slot_bytes_, message.msg_len,
                                    segment != 0 ? segment : message.msg_len, 0};
    }
    filled = hand_out(out);
    if (received == 0) break;
  }
  return filled;
}

bool UdpSocket::enqueue(const PeerAddress& to, std::span<const std::byte> payload) {
  if (payload.size() > max_payload_) {
    ++counters_.tx_dropped_too_big;
    return false;
  }
  if (tx_count_ == burst_) {
    ++counters_.tx_dropped_full;
    return false;
  }
  const std::size_t slot = (tx_head_ + tx_count_) % burst_;
  if (!payload.empty()) std::memcpy(tx_iov_[slot].iov_base, payload.data(), payload.size());
  tx_iov_[slot].iov_len = payload.size();
  // A Family::none address gives length 0, which the kernel answers with EDESTADDRREQ: dropped in flush().
  tx_messages_[slot].msg_hdr.msg_namelen = to.to_sockaddr(tx_names_[slot]);
  ++tx_count_;
  return true;
}

// How many datagrams from ring slot `first` (before `end`) one GSO message can carry: same destination, same
// size, the last possibly shorter; 1 when the datagram fits no run.
std::size_t UdpSocket::gso_run(std::size_t first, std::size_t end) const {
  const std::size_t size = tx_iov_[first].iov_len;
  const socklen_t name_length = tx_messages_[first].msg_hdr.msg_namelen;
  if (size == 0 || name_length == 0) return 1;
  std::size_t count = 1;
  std::size_t total = size;
  for (std::size_t slot = first + 1; slot < end && count < kMaxGsoSegments; ++slot) {
    const std::size_t length = tx_iov_[slot].iov_len;
    if (length == 0 || length > size || total + length > kMaxGsoBytes) break;
    // Byte equality of the sockaddr (to_sockaddr() zeroes the padding) is address equality.
    if (tx_messages_[slot].msg_hdr.msg_namelen != name_length ||
        std::memcmp(&tx_names_[slot], &tx_names_[first], name_length) != 0) {
      break;
    }
    total += length;
    ++count;
    if (length < size) break;
  }
  return count;
}

// Fills tx_batch_ with the messages for the `run` contiguous queued slots from tx_head_; returns their count.
unsigned UdpSocket::build_gso_batch(std::size_t run) {
  unsigned messages = 0;
  for (std::size_t offset = 0; offset < run;) {
    const std::size_t slot = tx_head_ + offset;
    const std::size_t count = offset < tx_single_ ? 1 : gso_run(slot, tx_head_ + run);
    msghdr& header = tx_batch_[messages].msg_hdr;
    header.msg_name = &tx_names_[slot];
    header.msg_namelen = tx_messages_[slot].msg_hdr.msg_namelen;
    header.msg_iov = &tx_iov_[slot];
    header.msg_iovlen = count;
    header.msg_flags = 0;
    if (count > 1) {
      const auto size = static_cast<std::uint16_t>(tx_iov_[slot].iov_len);
      auto* control = reinterpret_cast<cmsghdr*>(tx_control_[messages].bytes);
      std::memcpy(CMSG_DATA(control), &size, sizeof size);
      header.msg_control = control;
      header.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
    } else {
      header.msg_control = nullptr;
      header.msg_controllen = 0;
    }
    tx_batch_[messages].msg_len = 0;
    tx_batch_datagrams_[messages] = count;
    ++messages;
    offset += count;
  }
  return messages;
}

Result<std::size_t, IoError> UdpSocket::flush() {
  std::size_t sent_total = 0;
  int interrupted = 0;
  bool retried_refused = false;
  while (tx_count_ > 0) {
    // The queued part of the ring is at most two contiguous runs: send the one at the head. (A GSO message
    // cannot span the wrap either; the ring restarts at slot 0 whenever it empties, so that is rare.)
    const std::size_t run = std::min(tx_count_, burst_ - tx_head_);
    const bool batched = gso_;
    const unsigned messages = batched ? build_gso_batch(run) : static_cast<unsigned>(run);
    const int sent = call_sendmmsg(batched ? tx_batch_.data() : &tx_messages_[tx_head_], messages);
    if (sent > 0) {
      for (int message = 0; message < sent; ++message) {
        const std::size_t count = batched ? tx_batch_datagrams_[message] : 1;
        for (std::size_t i = 0; i < count; ++i) counters_.tx_bytes += tx_iov_[tx_head_ + i].iov_len;
        counters_.tx_datagrams += count;
        if (count > 1) {
          ++offload_.gso_messages;
          offload_.gso_datagrams += count;
          gso_refusals_in_a_row_ = 0;
        }
        sent_total += count;
        pop_tx(count);
      }
      retried_refused = false;
      continue;
    }
    // sendmmsg reports an error only when the first message of the run fails; a failure further in shows up
    // as a short count, and the next call starts at the failing message.
    const int error = sent == 0 ? EAGAIN : errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) return fail(IoError::would_block);
    if (error == EINTR) {
      if (++interrupted < kMaxInterruptedSends) continue;
      return fail(IoError::would_block);
    }
    // On an unconnected socket ECONNREFUSED is a pending ICMP error left by an earlier datagram; the call
    // that reports it clears it, so the head datagram gets one more try before it is blamed.
    if (error == ECONNREFUSED && !retried_refused) {
      retried_refused = true;
      continue;
    }
    const std::size_t head_datagrams = batched ? tx_batch_datagrams_[0] : 1;
    if (head_datagrams > 1 && (is_per_datagram_error(error) || is_gso_unsupported(error))) {
      // A refused coalesced message: its datagrams go again one per message, under the rules below, so GSO
      // never costs a datagram. EIO and the like mean this socket cannot do GSO at all; EINVAL / EMSGSIZE
      // may be about this message only (gso_size over the path MTU), but a streak of them turns GSO off
      // too. Other errors (unreachable, refused) are about the destination and say nothing about GSO.
      ++offload_.gso_refused;
      if (is_gso_unsupported(error)) {
        gso_ = false;
      } else if (is_gso_refusal(error) && ++gso_refusals_in_a_row_ >= kMaxGsoRefusalsInARow) {
        gso_ = false;
      }
      tx_single_ = head_datagrams;
      continue;
    }
    if (!is_per_datagram_error(error)) {
      last_errno_ = error;
      return fail(IoError::system);
    }
    ++counters_.tx_errors;
    pop_tx(1);
    retried_refused = false;
  }
  return sent_total;
}

}  // namespace

namespace detail {

Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config,
                                                                 UdpSyscalls syscalls) {
  const auto family = config.bind.family();
  if (family == PeerAddress::Family::none) return fail(std::string("bind address: no address family"));
  if (config.burst == 0 || config.burst > kMaxBurst) {
    return fail("burst " + std::to_string(config.burst) + ": must be 1.." + std::to_string(kMaxBurst));
  }
  if (config.max_payload == 0 || config.max_payload > kMaxPayload) {
    return fail("max_payload " + std::to_string(config.max_payload) + ": must be 1.." +
                std::to_string(kMaxPayload));
  }

  const int domain = family == PeerAddress::Family::v4 ? AF_INET : AF_INET6;
  FileDescriptor fd(::socket(domain, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP));
  if (fd.get() < 0) return fail(describe_failure("socket", errno));

  const int one = 1;
  // v6 sockets take only v6 traffic: a v4 peer then shows up with its v4 address on a v4 socket, never as a
  // v4-mapped ::ffff: address that would compare unequal to the same peer elsewhere.
  if (domain == AF_INET6 && ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    return fail(describe_failure("setsockopt IPV6_V6ONLY", errno));
  }
  if (config.reuse_address && ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    return fail(describe_failure("setsockopt SO_REUSEADDR", errno));
  }
  if (config.socket_buffer_bytes > 0) {
    if (!set_buffer(fd.get(), SO_RCVBUFFORCE, SO_RCVBUF, config.socket_buffer_bytes)) {
      return fail(describe_failure("setsockopt SO_RCVBUF", errno));
    }
    if (!set_buffer(fd.get(), SO_SNDBUFFORCE, SO_SNDBUF, config.socket_buffer_bytes)) {
      return fail(describe_failure("setsockopt SO_SNDBUF", errno));
    }
  }

  sockaddr_storage address;
  const socklen_t length = config.bind.to_sockaddr(address);
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    const int error = errno;  // before to_string() allocates
    return fail(describe_failure("bind " + config.bind.to_string(), error));
  }
  socklen_t local_length = sizeof address;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &local_length) != 0) {
    return fail(describe_failure("getsockname", errno));
  }
  const auto local = PeerAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&address), local_length);
  if (!local) return fail(std::string("getsockname: unexpected address family"));

  // The offloads are optional: a kernel without them gets one datagram per message, as before.
  // UDP_SEGMENT is a per-message cmsg, but a kernel that does not know it ignores the cmsg and would send the
  // whole run as one big datagram; the socket option of the same name came with it (4.18), so probe that.
  bool gso = false;
  if (config.gso) {
    int segment = 0;
    socklen_t segment_length = sizeof segment;
    gso =
        (syscalls.getsockopt ? syscalls.getsockopt(fd.get(), SOL_UDP, UDP_SEGMENT, &segment, &segment_length)
                             : ::getsockopt(fd.get(), SOL_UDP, UDP_SEGMENT, &segment, &segment_length)) == 0;
  }
  bool gro = false;
  if (config.gro) {
    gro = (syscalls.setsockopt ? syscalls.setsockopt(fd.get(), SOL_UDP, UDP_GRO, &one, sizeof one)
                               : ::setsockopt(fd.get(), SOL_UDP, UDP_GRO, &one, sizeof one)) == 0;
  }

  // fd keeps ownership until the socket object exists, so a failed allocation does not leak it.
  std::unique_ptr<DatagramIo> socket =
      std::make_unique<UdpSocket>(fd.get(), *local, config, std::move(syscalls), gso, gro);
  fd.release();
  return socket;
}

}  // namespace detail

Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config) {
  return detail::open_udp_socket(config, {});
}

std::optional<UdpOffload> udp_offload(const DatagramIo& io) {
  // UdpSocket is the only backend named "udp" (and final): no RTTI needed.
  if (io.backend_name() != "udp") return std::nullopt;
  return static_cast<const UdpSocket&>(io).offload();
}

}  // namespace hoplink::dio
