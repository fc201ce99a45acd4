// What only the kernel UDP backend does: real sockets on loopback, socket options, truncation, ICMP errors,
// open() errors, and the kernel's rare send answers produced on demand through the syscall shim.
#include "dpdk_io/udp_socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <fstream>
#include <functional>

#include "test_support.hpp"

namespace hoplink::dio::test {
namespace {

std::unique_ptr<DatagramIo> open_or_fail(const UdpSocketConfig& config, detail::UdpSyscalls syscalls = {}) {
  auto opened = detail::open_udp_socket(config, std::move(syscalls));
  if (!opened.ok()) FAIL("open_udp_socket: " << opened.error());
  return std::move(opened).value();
}

bool ipv6_loopback_available() {
  auto opened = open_udp_socket(loopback_config(true));
  if (!opened.ok()) WARN("IPv6 loopback unavailable, skipped: " << opened.error());
  return opened.ok();
}

// A plain kernel socket, to send what DatagramIo would refuse to.
struct RawSocket {
  explicit RawSocket(int family) : fd(::socket(family, SOCK_DGRAM, 0)) { REQUIRE(fd >= 0); }
  ~RawSocket() { ::close(fd); }
  void send_to(const PeerAddress& to, std::span<const std::byte> payload) const {
    sockaddr_storage address;
    const socklen_t length = to.to_sockaddr(address);
    REQUIRE(::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&address), length) ==
            static_cast<ssize_t>(payload.size()));
  }
  int fd;
};

int int_option(int fd, int level, int option) {
  int value = -1;
  socklen_t length = sizeof value;
  REQUIRE(::getsockopt(fd, level, option, &value, &length) == 0);
  return value;
}

// A sendmmsg shim that fails each call with the next errno of a script (0: pass the call to the kernel),
// then passes everything through.
struct SendScript {
  std::vector<int> errors;
  std::size_t calls = 0;
  unsigned max_per_call = 0;  // 0: no limit; otherwise the kernel sees at most this many per call
  // The batch ring as the backend hands it over: the first call starts at slot 0, and no call may reach past
  // slot `ring_size` (the kernel would read whatever lies behind the array).
  const mmsghdr* ring = nullptr;
  std::size_t ring_size = 8;
  bool overran = false;

  static detail::UdpSyscalls install(const std::shared_ptr<SendScript>& self) {
    detail::UdpSyscalls calls;
    calls.sendmmsg = [self](int fd, mmsghdr* messages, unsigned count, int flags) {
      const std::size_t call = self->calls++;
      if (self->ring == nullptr) self->ring = messages;
      if (static_cast<std::size_t>(messages - self->ring) + count > self->ring_size) self->overran = true;
      if (call < self->errors.size() && self->errors[call] != 0) {
        errno = self->errors[call];
        return -1;
      }
      if (self->max_per_call != 0) count = std::min(count, self->max_per_call);
      return ::sendmmsg(fd, messages, count, flags);
    };
    return calls;
  }
};

}  // namespace

TEST_CASE("udp: port 0 is replaced by the real port, v4 and v6", "[dpdk_io][udp]") {
  auto v4 = open_or_fail(loopback_config(false));
  CHECK(v4->backend_name() == "udp");
  CHECK(v4->local_address().family() == PeerAddress::Family::v4);
  CHECK(v4->local_address().host_string() == "127.0.0.1");
  CHECK(v4->local_address().port() != 0);
  CHECK(v4->tx_capacity() == 8);
  CHECK(v4->max_payload() == 1200);

  sockaddr_storage address;
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(v4->readiness_fd(), reinterpret_cast<sockaddr*>(&address), &length) == 0);
  CHECK(PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&address), length) == v4->local_address());

  if (!ipv6_loopback_available()) return;
  auto v6 = open_or_fail(loopback_config(true));
  CHECK(v6->local_address().family() == PeerAddress::Family::v6);
  CHECK(v6->local_address().host_string() == "::1");
  CHECK(v6->local_address().port() != 0);
}

TEST_CASE("udp: socket is non-blocking, v6-only on v6, with the requested buffers", "[dpdk_io][udp]") {
  auto config = loopback_config(false);
  config.socket_buffer_bytes = 1024 * 1024;
  auto io = open_or_fail(config);
  const int fd = io->readiness_fd();
  CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

  // The kernel reports twice what was set; without CAP_NET_ADMIN the plain option caps it at *mem_max.
  auto sysctl = [](const char* path) {
    std::ifstream file(path);
    long value = 0;
    file >> value;
    return value;
  };
  const bool forced = ::geteuid() == 0;
  const long want = static_cast<long>(config.socket_buffer_bytes);
  const long rcv_floor = forced ? want : std::min(want, sysctl("/proc/sys/net/core/rmem_max"));
  const long snd_floor = forced ? want : std::min(want, sysctl("/proc/sys/net/core/wmem_max"));
  CHECK(int_option(fd, SOL_SOCKET, SO_RCVBUF) >= rcv_floor);
  CHECK(int_option(fd, SOL_SOCKET, SO_SNDBUF) >= snd_floor);

  if (!ipv6_loopback_available()) return;
  auto v6 = open_or_fail(loopback_config(true));
  CHECK(int_option(v6->readiness_fd(), IPPROTO_IPV6, IPV6_V6ONLY) == 1);
}

TEST_CASE("udp: open() errors name the call and the errno text", "[dpdk_io][udp]") {
  auto first = open_or_fail(loopback_config(false));
  auto config = loopback_config(false);
  config.bind = first->local_address();

  auto second = open_udp_socket(config);
  REQUIRE_FALSE(second.ok());
  CHECK(second.error() == "bind " + first->local_address().to_string() + ": Address already in use");

  SECTION("SO_REUSEADDR on both sockets lets UDP share the port") {
    auto shared_config = loopback_config(false);
    shared_config.reuse_address = true;
    auto one = open_or_fail(shared_config);
    shared_config.bind = one->local_address();
    auto two = open_udp_socket(shared_config);
    CHECK(two.ok());
  }
  SECTION("an address this host does not have") {
    config.bind = *PeerAddress::parse("192.0.2.1:0");
    auto foreign = open_udp_socket(config);
    REQUIRE_FALSE(foreign.ok());
    CHECK(foreign.error() == "bind 192.0.2.1:0: Cannot assign requested address");
  }
  SECTION("configuration out of range") {
    UdpSocketConfig bad = loopback_config(false);
    bad.bind = PeerAddress{};
    CHECK(open_udp_socket(bad).error() == "bind address: no address family");
    bad = loopback_config(false, 0);
    CHECK(open_udp_socket(bad).error() == "burst 0: must be 1..1024");
    bad = loopback_config(false, 8, 70000);
    CHECK(open_udp_socket(bad).error() == "max_payload 70000: must be 1..65535");
  }
}

TEST_CASE("udp: a datagram larger than max_payload is counted as truncated and dropped", "[dpdk_io][udp]") {
  auto io = open_or_fail(loopback_config(false, 2, 1200));
  RawSocket raw(AF_INET);
  // Four oversized datagrams fill two whole bursts: receive_burst must look past them, not report "nothing".
  for (std::uint32_t i = 0; i < 4; ++i) raw.send_to(io->local_address(), numbered(i, 1201));
  raw.send_to(io->local_address(), numbered(10, 1200));
  raw.send_to(io->local_address(), numbered(11, 1));

  auto got = receive_copies(*io, 2);
  REQUIRE(got.size() == 2);
  CHECK(sequence_of(got[0].payload) == 10);
  CHECK(payload_matches(got[0].payload, 1200));
  CHECK(got[1].payload.size() == 4);  // numbered() pads to 4 bytes
  CHECK(io->counters().rx_truncated == 4);
  CHECK(io->counters().rx_datagrams == 2);
  CHECK(io->counters().rx_bytes == 1204);
}

TEST_CASE("udp: ICMP port unreachable does not break receive", "[dpdk_io][udp]") {
  auto a = open_or_fail(loopback_config(false));
  auto b = open_or_fail(loopback_config(false));
  PeerAddress closed;
  {
    auto gone = open_or_fail(loopback_config(false));
    closed = gone->local_address();
  }
  // Several datagrams into a closed port: each draws an ICMP port unreachable back to `a`.
  for (std::uint32_t i = 0; i < 3; ++i) {
    REQUIRE(a->enqueue(closed, numbered(i, 20)));
    REQUIRE(a->flush().ok());
  }
  REQUIRE(b->enqueue(a->local_address(), numbered(7, 20)));
  REQUIRE(b->flush().ok());
  auto got = receive_copies(*a, 1);
  REQUIRE(got.size() == 1);
  CHECK(sequence_of(got[0].payload) == 7);
  // And sending still works.
  REQUIRE(a->enqueue(b->local_address(), numbered(8, 20)));
  REQUIRE(a->flush().ok());
  CHECK(receive_copies(*b, 1).size() == 1);
  CHECK(a->last_errno() == 0);

  SECTION("an ECONNREFUSED returned by recvmmsg is skipped within the same call") {
    detail::UdpSyscalls syscalls;
    auto refusals = std::make_shared<int>(2);
    syscalls.recvmmsg = [refusals](int fd, mmsghdr* messages, unsigned count, int flags) {
      if ((*refusals)-- > 0) {
        errno = ECONNREFUSED;
        return -1;
      }
      return ::recvmmsg(fd, messages, count, flags, nullptr);
    };
    auto shimmed = open_or_fail(loopback_config(false), std::move(syscalls));
    REQUIRE(b->enqueue(shimmed->local_address(), numbered(9, 20)));
    REQUIRE(b->flush().ok());
    pollfd ready{shimmed->readiness_fd(), POLLIN, 0};
    REQUIRE(::poll(&ready, 1, 2000) == 1);
    std::vector<ReceivedDatagram> out(4);
    auto received = shimmed->receive_burst(out);
    REQUIRE(received.ok());
    REQUIRE(*received == 1);
    CHECK(sequence_of(out[0].payload) == 9);
    CHECK(shimmed->last_errno() == 0);
  }
}

TEST_CASE("udp: an unexpected receive errno is reported as system", "[dpdk_io][udp]") {
  detail::UdpSyscalls syscalls;
  syscalls.recvmmsg = [](int, mmsghdr*, unsigned, int) {
    errno = ENOMEM;
    return -1;
  };
  auto io = open_or_fail(loopback_config(false), std::move(syscalls));
  std::vector<ReceivedDatagram> out(4);
  auto received = io->receive_burst(out);
  REQUIRE_FALSE(received.ok());
  CHECK(received.error() == IoError::system);
  CHECK(io->last_errno() == ENOMEM);
  CHECK(to_string(received.error()) == "system error");
}

TEST_CASE("udp: the kernel's send answers", "[dpdk_io][udp]") {
  auto b = open_or_fail(loopback_config(false));
  auto script = std::make_shared<SendScript>();
  // One datagram per message, so that the script's counts are datagrams; udp_gso_test.cpp has the same
  // answers to coalesced messages.
  auto make_sender = [&] {
    auto config = loopback_config(false);
    config.gso = false;
    return open_or_fail(config, SendScript::install(script));
  };

  SECTION("EAGAIN and ENOBUFS are would_block; the batch stays queued in order") {
    script->errors = {EAGAIN, ENOBUFS};
    auto a = make_sender();
    for (std::uint32_t i = 0; i < 5; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto blocked = a->flush();
      REQUIRE_FALSE(blocked.ok());
      CHECK(blocked.error() == IoError::would_block);
      CHECK(a->pending_tx() == 5);
    }
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 5);
    auto got = receive_copies(*b, 5);
    REQUIRE(got.size() == 5);
    for (std::uint32_t i = 0; i < 5; ++i) CHECK(sequence_of(got[i].payload) == i);
    CHECK(a->counters().tx_errors == 0);
  }
  SECTION("partial sends continue from where the kernel stopped") {
    script->max_per_call = 3;
    auto a = make_sender();
    for (std::uint32_t i = 0; i < 8; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 8);
    CHECK(script->calls == 3);
    auto got = receive_copies(*b, 8);
    REQUIRE(got.size() == 8);
    for (std::uint32_t i = 0; i < 8; ++i) CHECK(sequence_of(got[i].payload) == i);
  }
  SECTION("the batch ring wraps without reading past its end, and restarts at slot 0 when empty") {
    script->errors = {0, EAGAIN};
    script->max_per_call = 3;
    auto a = make_sender();
    for (std::uint32_t i = 0; i < 8; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    REQUIRE_FALSE(a->flush().ok());
    REQUIRE(a->pending_tx() == 5);
    for (std::uint32_t i = 8; i < 11; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 8);
    CHECK_FALSE(script->overran);
    auto got = receive_copies(*b, 11);
    REQUIRE(got.size() == 11);
    for (std::uint32_t i = 0; i < 11; ++i) CHECK(sequence_of(got[i].payload) == i);

    script->max_per_call = 0;
    const auto calls_before = script->calls;
    for (std::uint32_t i = 0; i < 8; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    REQUIRE(a->flush().ok());
    CHECK(script->calls == calls_before + 1);  // one contiguous run: one sendmmsg
    CHECK_FALSE(script->overran);
    CHECK(receive_copies(*b, 8).size() == 8);
  }
  SECTION("a stale ECONNREFUSED gets the head datagram one more try; a repeated one drops it") {
    script->errors = {ECONNREFUSED, 0, ECONNREFUSED, ECONNREFUSED};
    script->max_per_call = 1;
    auto a = make_sender();
    for (std::uint32_t i = 0; i < 3; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 2);
    CHECK(a->counters().tx_errors == 1);
    auto got = receive_copies(*b, 3, 16, 300ms);
    REQUIRE(got.size() == 2);
    CHECK(sequence_of(got[0].payload) == 0);
    CHECK(sequence_of(got[1].payload) == 2);
  }
  SECTION("EINTR is retried, but not forever") {
    script->errors = {EINTR, EINTR};
    auto a = make_sender();
    REQUIRE(a->enqueue(b->local_address(), numbered(0, 30)));
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 1);

    script->errors.assign(script->calls + 100, EINTR);
    REQUIRE(a->enqueue(b->local_address(), numbered(1, 30)));
    auto interrupted = a->flush();
    REQUIRE_FALSE(interrupted.ok());
    CHECK(interrupted.error() == IoError::would_block);
    CHECK(a->pending_tx() == 1);
  }
  SECTION("a socket-level errno is system and keeps the batch") {
    script->errors = {EBADF};
    auto a = make_sender();
    REQUIRE(a->enqueue(b->local_address(), numbered(0, 30)));
    auto flushed = a->flush();
    REQUIRE_FALSE(flushed.ok());
    CHECK(flushed.error() == IoError::system);
    CHECK(a->last_errno() == EBADF);
    CHECK(a->pending_tx() == 1);
    REQUIRE(a->flush().ok());
    CHECK(receive_copies(*b, 1).size() == 1);
  }
}

TEST_CASE("udp: EMSGSIZE from the kernel drops that datagram only", "[dpdk_io][udp]") {
  // IPv4 UDP carries at most 65507 bytes; max_payload allows more, so the kernel is the one refusing.
  auto a = open_or_fail(loopback_config(false, 8, 65535));
  auto b = open_or_fail(loopback_config(false));
  REQUIRE(a->enqueue(b->local_address(), numbered(0, 10)));
  REQUIRE(a->enqueue(b->local_address(), numbered(1, 65535)));
  REQUIRE(a->enqueue(b->local_address(), numbered(2, 20)));
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 2);
  CHECK(a->counters().tx_errors == 1);
  CHECK(a->counters().tx_bytes == 30);
  auto got = receive_copies(*b, 3, 16, 300ms);
  REQUIRE(got.size() == 2);
  CHECK(sequence_of(got[0].payload) == 0);
  CHECK(sequence_of(got[1].payload) == 2);
}

TEST_CASE("udp: receive_burst takes at most one burst per call", "[dpdk_io][udp]") {
  auto a = open_or_fail(loopback_config(false));
  auto b = open_or_fail(loopback_config(false, 4));
  for (std::uint32_t i = 0; i < 8; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 30)));
  REQUIRE(a->flush().ok());
  pollfd ready{b->readiness_fd(), POLLIN, 0};
  REQUIRE(::poll(&ready, 1, 2000) == 1);
  std::vector<ReceivedDatagram> out(16);
  auto received = b->receive_burst(out);
  REQUIRE(received.ok());
  CHECK(*received <= 4);
  CHECK(*received >= 1);
  CHECK(receive_copies(*b, 8 - *received).size() == 8 - *received);
}

TEST_CASE("udp: v4 and v6 sockets do not cross families", "[dpdk_io][udp]") {
  if (!ipv6_loopback_available()) return;
  auto v4 = open_or_fail(loopback_config(false));
  auto v6 = open_or_fail(loopback_config(true));
  // [::ffff:127.0.0.1] would reach a dual-stack socket; IPV6_V6ONLY makes the kernel refuse it.
  auto mapped = *PeerAddress::parse("[::ffff:127.0.0.1]:" + std::to_string(v4->local_address().port()));
  REQUIRE(v6->enqueue(mapped, numbered(0, 10)));
  REQUIRE(v6->enqueue(v4->local_address(), numbered(1, 10)));
  auto flushed = v6->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 0);
  CHECK(v6->counters().tx_errors == 2);
  std::vector<ReceivedDatagram> out(4);
  CHECK(receive_views(*v4, out, 100ms) == 0);
}

}  // namespace hoplink::dio::test
