#include "dpdk_io/udp_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
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

class UdpSocket final : public DatagramIo {
 public:
  UdpSocket(int fd, PeerAddress local, const UdpSocketConfig& config, detail::UdpSyscalls syscalls)
      : fd_(fd),
        local_(local),
        burst_(config.burst),
        max_payload_(config.max_payload),
        syscalls_(std::move(syscalls)),
        rx_buffers_(burst_ * max_payload_),
        rx_iov_(burst_),
        rx_names_(burst_),
        rx_messages_(burst_),
        tx_buffers_(burst_ * max_payload_),
        tx_iov_(burst_),
        tx_names_(burst_),
        tx_messages_(burst_) {
    // Every message points at its own slot for the life of the socket; the hot paths only reset lengths.
    for (std::size_t i = 0; i < burst_; ++i) {
      rx_iov_[i] = {rx_buffers_.data() + i * max_payload_, max_payload_};
      rx_messages_[i] = {};
      rx_messages_[i].msg_hdr.msg_name = &rx_names_[i];
      rx_messages_[i].msg_hdr.msg_iov = &rx_iov_[i];
      rx_messages_[i].msg_hdr.msg_iovlen = 1;
      tx_iov_[i] = {tx_buffers_.data() + i * max_payload_, 0};
      tx_messages_[i] = {};
      tx_messages_[i].msg_hdr.msg_name = &tx_names_[i];
      tx_messages_[i].msg_hdr.msg_iov = &tx_iov_[i];
      tx_messages_[i].msg_hdr.msg_iovlen = 1;
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

 private:
  int call_recvmmsg(unsigned count) {
    if (syscalls_.recvmmsg) return syscalls_.recvmmsg(fd_, rx_messages_.data(), count, MSG_DONTWAIT);
    return ::recvmmsg(fd_, rx_messages_.data(), count, MSG_DONTWAIT, nullptr);
  }
  int call_sendmmsg(mmsghdr* messages, unsigned count) {
    if (syscalls_.sendmmsg) return syscalls_.sendmmsg(fd_, messages, count, MSG_DONTWAIT);
    return ::sendmmsg(fd_, messages, count, MSG_DONTWAIT);
  }
  // Removes `count` datagrams from the head of the tx ring.
  void pop_tx(std::size_t count) {
    tx_head_ = (tx_head_ + count) % burst_;
    tx_count_ -= count;
    // An empty ring restarts at slot 0 so that the next batch is contiguous: one sendmmsg instead of two.
    if (tx_count_ == 0) tx_head_ = 0;
  }

  const int fd_;
  const PeerAddress local_;
  const std::size_t burst_;
  const std::size_t max_payload_;
  detail::UdpSyscalls syscalls_;
  IoCounters counters_;
  int last_errno_ = 0;

  // Receive side: burst slots of max_payload bytes, one iovec and one source address each.
  std::vector<std::byte> rx_buffers_;
  std::vector<iovec> rx_iov_;
  std::vector<sockaddr_storage> rx_names_;
  std::vector<mmsghdr> rx_messages_;

  // Transmit side: a ring of burst slots; [tx_head_, tx_head_ + tx_count_) modulo burst_ is queued.
  std::vector<std::byte> tx_buffers_;
  std::vector<iovec> tx_iov_;
  std::vector<sockaddr_storage> tx_names_;
  std::vector<mmsghdr> tx_messages_;
  std::size_t tx_head_ = 0;
  std::size_t tx_count_ = 0;
};

Result<std::size_t, IoError> UdpSocket::receive_burst(std::span<ReceivedDatagram> out) {
  const auto want = static_cast<unsigned>(std::min(out.size(), burst_));
  if (want == 0) return std::size_t{0};
  std::size_t filled = 0;
  // More than one round only when a whole round was dropped (truncated) or interrupted: returning 0 then
  // would tell the caller that nothing is pending while the socket still holds datagrams.
  for (int round = 0; filled == 0 && round < kMaxReceiveRounds; ++round) {
    for (unsigned i = 0; i < want; ++i) {
      rx_messages_[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      rx_messages_[i].msg_hdr.msg_flags = 0;
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
    for (int i = 0; i < received; ++i) {
      const auto& message = rx_messages_[i];
      if ((message.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
        ++counters_.rx_truncated;
        continue;
      }
      const auto from = PeerAddress::from_sockaddr(static_cast<const sockaddr*>(message.msg_hdr.msg_name),
                                                   message.msg_hdr.msg_namelen);
      if (!from) continue;  // not AF_INET/AF_INET6: cannot happen on a UDP socket
      out[filled++] = {*from, {rx_buffers_.data() + i * max_payload_, message.msg_len}};
      ++counters_.rx_datagrams;
      counters_.rx_bytes += message.msg_len;
    }
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

Result<std::size_t, IoError> UdpSocket::flush() {
  std::size_t sent_total = 0;
  int interrupted = 0;
  bool retried_refused = false;
  while (tx_count_ > 0) {
    // The queued part of the ring is at most two contiguous runs: send the one at the head.
    const std::size_t run = std::min(tx_count_, burst_ - tx_head_);
    const int sent = call_sendmmsg(&tx_messages_[tx_head_], static_cast<unsigned>(run));
    if (sent > 0) {
      for (int i = 0; i < sent; ++i) {
        ++counters_.tx_datagrams;
        counters_.tx_bytes += tx_iov_[tx_head_ + i].iov_len;
      }
      sent_total += static_cast<std::size_t>(sent);
      pop_tx(static_cast<std::size_t>(sent));
      retried_refused = false;
      continue;
    }
    // sendmmsg reports an error only when the first datagram of the run fails; a failure further in shows up
    // as a short count, and the next call starts at the failing datagram.
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

  // fd keeps ownership until the socket object exists, so a failed allocation does not leak it.
  std::unique_ptr<DatagramIo> socket =
      std::make_unique<UdpSocket>(fd.get(), *local, config, std::move(syscalls));
  fd.release();
  return socket;
}

}  // namespace detail

Result<std::unique_ptr<DatagramIo>, std::string> open_udp_socket(const UdpSocketConfig& config) {
  return detail::open_udp_socket(config, {});
}

}  // namespace hoplink::dio
