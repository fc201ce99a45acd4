// UDP GSO on send and GRO on receive in the kernel backend: what goes into one message, what the receivers
// (with GRO, without GRO, a plain socket) get out of it, how held datagrams are handed out, and the fallbacks
// when the kernel refuses. A sendmmsg shim records the messages the kernel accepted.
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <utility>

#include "test_support.hpp"

namespace hoplink::dio::test {
namespace {

std::unique_ptr<DatagramIo> open_io(const UdpSocketConfig& config, detail::UdpSyscalls syscalls = {}) {
  auto opened = detail::open_udp_socket(config, std::move(syscalls));
  if (!opened.ok()) FAIL("open_udp_socket: " << opened.error());
  return std::move(opened).value();
}

UdpSocketConfig config_with(bool gso, bool gro, std::size_t burst = 64, std::size_t max_payload = 1200) {
  auto config = loopback_config(false, burst, max_payload);
  config.gso = gso;
  config.gro = gro;
  return config;
}

UdpOffload offload_of(const DatagramIo& io) {
  auto offload = udp_offload(io);
  REQUIRE(offload.has_value());
  return *offload;
}

std::size_t gso_size_of(const msghdr& header) {
  for (cmsghdr* control = CMSG_FIRSTHDR(&header); control != nullptr;
       control = CMSG_NXTHDR(const_cast<msghdr*>(&header), control)) {
    if (control->cmsg_level != SOL_UDP || control->cmsg_type != UDP_SEGMENT) continue;
    std::uint16_t size = 0;
    std::memcpy(&size, CMSG_DATA(control), sizeof size);
    return size;
  }
  return 0;
}

// Records what the kernel accepted, message by message. `gso_errors` answers coalesced messages that reach
// the head of a call, in order (0: pass to the kernel); a call is cut short before a later coalesced message
// while answers remain, as the kernel's short count would.
struct SendLog {
  struct Message {
    std::size_t datagrams;
    std::size_t gso_size;  // 0: no UDP_SEGMENT cmsg
  };
  std::vector<Message> accepted;
  std::size_t calls = 0;
  std::vector<int> gso_errors;
  std::size_t gso_answered = 0;
  unsigned max_per_call = 0;  // 0: no limit
  int next_error = 0;         // answers the next call whatever it carries, once

  static detail::UdpSyscalls install(const std::shared_ptr<SendLog>& self) {
    detail::UdpSyscalls calls;
    calls.sendmmsg = [self](int fd, mmsghdr* messages, unsigned count, int flags) {
      ++self->calls;
      if (const int error = std::exchange(self->next_error, 0); error != 0) {
        errno = error;
        return -1;
      }
      if (self->max_per_call != 0) count = std::min(count, self->max_per_call);
      if (self->gso_answered < self->gso_errors.size()) {
        if (datagrams_in(messages[0].msg_hdr) > 1) {
          const int error = self->gso_errors[self->gso_answered++];
          if (error != 0) {
            errno = error;
            return -1;
          }
        }
        for (unsigned i = 1; i < count; ++i) {
          if (datagrams_in(messages[i].msg_hdr) > 1) count = i;
        }
      }
      const int sent = ::sendmmsg(fd, messages, count, flags);
      for (int i = 0; i < sent; ++i) {
        self->accepted.push_back({datagrams_in(messages[i].msg_hdr), gso_size_of(messages[i].msg_hdr)});
      }
      return sent;
    };
    return calls;
  }

  std::vector<std::size_t> datagrams_per_message() const {
    std::vector<std::size_t> counts;
    for (const auto& message : accepted) counts.push_back(message.datagrams);
    return counts;
  }
};

// Enqueues numbered datagrams sequence first.. of the given sizes to `to`, and flushes them all.
void send_sizes(DatagramIo& from, const PeerAddress& to, std::uint32_t first,
                const std::vector<std::size_t>& sizes) {
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    REQUIRE(from.enqueue(to, numbered(first + static_cast<std::uint32_t>(i), sizes[i])));
  }
  auto flushed = from.flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == sizes.size());
}

// Checks that `got` is exactly sequence first.. with the given sizes, from `from`.
void check_received(const std::vector<Copied>& got, std::uint32_t first,
                    const std::vector<std::size_t>& sizes, const PeerAddress& from) {
  REQUIRE(got.size() == sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    INFO("datagram " << i);
    CHECK(sequence_of(got[i].payload) == first + i);
    CHECK(got[i].payload.size() == std::max<std::size_t>(sizes[i], 4));
    CHECK(payload_matches(got[i].payload, std::max<std::size_t>(sizes[i], 4)));
    CHECK(got[i].from == from);
  }
}

// A plain blocking kernel socket without GRO.
struct PlainReceiver {
  PlainReceiver() : fd(::socket(AF_INET, SOCK_DGRAM, 0)) {
    REQUIRE(fd >= 0);
    sockaddr_storage address;
    const socklen_t length = PeerAddress::parse("127.0.0.1:0")->to_sockaddr(address);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), length) == 0);
    socklen_t bound = sizeof address;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &bound) == 0);
    local = *PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&address), bound);
  }
  ~PlainReceiver() { ::close(fd); }
  // One recv(); empty when nothing arrives within a second.
  std::vector<std::byte> receive() const {
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, 1000) != 1) return {};
    std::vector<std::byte> buffer(70000);
    const ssize_t length = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
    buffer.resize(length > 0 ? static_cast<std::size_t>(length) : 0);
    return buffer;
  }
  int fd;
  PeerAddress local;
};

std::vector<std::size_t> repeated(std::size_t count, std::size_t size) {
  return std::vector(count, size);
}

}  // namespace

TEST_CASE("gso: an equal-size run is one message and arrives as the same datagrams", "[dpdk_io][udp][gso]") {
  auto log = std::make_shared<SendLog>();
  auto a = open_io(config_with(true, true), SendLog::install(log));
  auto with_gro = open_io(config_with(true, true));
  auto without_gro = open_io(config_with(true, false));
  REQUIRE(offload_of(*a).gso);
  REQUIRE(offload_of(*with_gro).gro);
  CHECK_FALSE(offload_of(*without_gro).gro);

  auto sizes = repeated(40, 1200);
  sizes.push_back(77);  // the last of a run may be shorter
  for (DatagramIo* receiver : {with_gro.get(), without_gro.get()}) {
    log->accepted.clear();
    send_sizes(*a, receiver->local_address(), 0, sizes);
    REQUIRE(log->accepted.size() == 1);
    CHECK(log->accepted[0].datagrams == 41);
    CHECK(log->accepted[0].gso_size == 1200);
    check_received(receive_copies(*receiver, 41, 64), 0, sizes, a->local_address());
    CHECK(receiver->counters().rx_datagrams == 41);
    CHECK(receiver->counters().rx_bytes == 40 * 1200 + 77);
  }
  // The GRO receiver really got coalesced buffers; the other one got the kernel's split.
  CHECK(offload_of(*with_gro).gro_messages >= 1);
  CHECK(offload_of(*without_gro).gro_messages == 0);
  CHECK(a->counters().tx_datagrams == 82);
  CHECK(a->counters().tx_bytes == 2 * (40 * 1200 + 77));
  CHECK(offload_of(*a).gso_messages == 2);
  CHECK(offload_of(*a).gso_datagrams == 82);

  SECTION("a plain socket gets them one recv() each") {
    PlainReceiver plain;
    log->accepted.clear();
    send_sizes(*a, plain.local, 100, sizes);
    CHECK(log->accepted.size() == 1);
    for (std::uint32_t i = 0; i < sizes.size(); ++i) {
      INFO("datagram " << i);
      const auto payload = plain.receive();
      CHECK(sequence_of(payload) == 100 + i);
      CHECK(payload.size() == sizes[i]);
      CHECK(payload_matches(payload, sizes[i]));
    }
  }
}

TEST_CASE("gso: runs end at a new peer, a larger or empty datagram, and after a shorter one",
          "[dpdk_io][udp][gso]") {
  auto log = std::make_shared<SendLog>();
  auto a = open_io(config_with(true, true, 64, 1400), SendLog::install(log));
  auto b = open_io(config_with(true, true, 64, 1400));
  auto c = open_io(config_with(true, false, 64, 1400));
  struct Planned {
    DatagramIo* to;
    std::size_t size;
  };
  const std::vector<Planned> plan = {
      {b.get(), 1200}, {b.get(), 1200}, {b.get(), 1200},  // [3]
      {c.get(), 1200}, {c.get(), 1200},                   // [2] another peer
      {b.get(), 1200},                                    // [1] a larger one follows
      {b.get(), 1300}, {b.get(), 1300}, {b.get(), 700},   // [3] ends with a shorter one
      {b.get(), 700},                                     // [1] an empty one follows
      {b.get(), 0},                                       // [1] empty: never coalesced
      {b.get(), 700},                                     // [1] another peer follows
      {c.get(), 500},  {c.get(), 500},  {c.get(), 400},   // [3]
      {c.get(), 500},                                     // [1]
  };
  std::vector<std::uint32_t> to_b, to_c;
  for (std::uint32_t i = 0; i < plan.size(); ++i) {
    auto payload = numbered(i, plan[i].size);
    payload.resize(plan[i].size);  // numbered() pads to 4 bytes
    REQUIRE(a->enqueue(plan[i].to->local_address(), payload));
    (plan[i].to == b.get() ? to_b : to_c).push_back(i);
  }
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == plan.size());
  CHECK(log->datagrams_per_message() == std::vector<std::size_t>{3, 2, 1, 3, 1, 1, 1, 3, 1});
  CHECK(log->calls == 1);

  for (auto [receiver, expected] : {std::pair{b.get(), to_b}, std::pair{c.get(), to_c}}) {
    auto got = receive_copies(*receiver, expected.size());
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      INFO("datagram " << expected[i]);
      const std::size_t size = plan[expected[i]].size;
      CHECK(got[i].payload.size() == size);
      const auto want = numbered(expected[i], size);
      CHECK(same_bytes(got[i].payload, std::span(want).first(size)));
      CHECK(got[i].from == a->local_address());
    }
  }
  CHECK(a->counters().tx_datagrams == plan.size());
}

TEST_CASE("gso: a run stops at 64 datagrams and at 65,000 bytes", "[dpdk_io][udp][gso]") {
  auto log = std::make_shared<SendLog>();
  auto a = open_io(config_with(true, true, 200), SendLog::install(log));
  auto b = open_io(config_with(true, true, 200));

  send_sizes(*a, b->local_address(), 0, repeated(150, 1000));
  CHECK(log->datagrams_per_message() == std::vector<std::size_t>{64, 64, 22});
  check_received(receive_copies(*b, 150, 200), 0, repeated(150, 1000), a->local_address());

  log->accepted.clear();
  send_sizes(*a, b->local_address(), 150, repeated(120, 1200));  // 54 x 1200 = 64,800
  CHECK(log->datagrams_per_message() == std::vector<std::size_t>{54, 54, 12});
  check_received(receive_copies(*b, 120, 200), 150, repeated(120, 1200), a->local_address());
  CHECK(b->counters().rx_datagrams == 270);
}

TEST_CASE("gro: out of one entry drains a coalesced message one datagram per call, views valid",
          "[dpdk_io][udp][gro]") {
  auto a = open_io(config_with(true, true));
  auto b = open_io(config_with(true, true));
  send_sizes(*a, b->local_address(), 0, repeated(10, 1200));

  std::vector<ReceivedDatagram> out(1);
  REQUIRE(receive_views(*b, out) == 1);
  REQUIRE(offload_of(*b).gro_messages == 1);  // else this test would prove nothing
  for (std::uint32_t i = 0; i < 10; ++i) {
    INFO("datagram " << i);
    if (i > 0) REQUIRE(receive_views(*b, out) == 1);
    const std::vector<std::byte> snapshot(out[0].payload.begin(), out[0].payload.end());
    CHECK(sequence_of(out[0].payload) == i);
    CHECK(payload_matches(out[0].payload, 1200));
    // More traffic while the view is held: it queues behind the held datagrams and overwrites nothing.
    send_sizes(*a, b->local_address(), 100 + i, {1200});
    CHECK(same_bytes(out[0].payload, snapshot));
    CHECK(out[0].from == a->local_address());
  }
  CHECK(b->counters().rx_datagrams == 10);
  check_received(receive_copies(*b, 10, 1), 100, repeated(10, 1200), a->local_address());
}

TEST_CASE("gro: held datagrams of several messages come out in order across calls", "[dpdk_io][udp][gro]") {
  auto a = open_io(config_with(true, true));
  auto b = open_io(config_with(true, true));
  // Two coalesced messages, and a single, in one flush; read three datagrams per call.
  std::vector<std::size_t> sizes = repeated(7, 500);
  for (std::size_t size : repeated(5, 800)) sizes.push_back(size);
  sizes.push_back(900);
  send_sizes(*a, b->local_address(), 0, sizes);

  std::vector<Copied> got;
  std::vector<ReceivedDatagram> out(3);
  std::uint32_t extra = 0;
  for (int call = 0; call < 30; ++call) {
    const std::size_t n = receive_views(*b, out, 300ms);
    if (n == 0) break;
    REQUIRE(n <= 3);
    std::vector<std::vector<std::byte>> snapshot;
    for (std::size_t i = 0; i < n; ++i) snapshot.emplace_back(out[i].payload.begin(), out[i].payload.end());
    if (extra < 4) send_sizes(*a, b->local_address(), 1000 + extra++, {600, 600});
    for (std::size_t i = 0; i < n; ++i) {
      CHECK(same_bytes(out[i].payload, snapshot[i]));
      got.push_back({out[i].from, snapshot[i]});
    }
  }
  CHECK(offload_of(*b).gro_messages >= 2);
  REQUIRE(got.size() == sizes.size() + 8);
  const std::vector<Copied> first(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(sizes.size()));
  check_received(first, 0, sizes, a->local_address());
  // The extra pairs went out as 1000+k, 1001+k: check they follow, each pair in order.
  std::vector<std::uint32_t> later;
  for (std::size_t i = sizes.size(); i < got.size(); ++i) later.push_back(sequence_of(got[i].payload));
  CHECK(later == std::vector<std::uint32_t>{1000, 1001, 1001, 1002, 1002, 1003, 1003, 1004});
}

TEST_CASE("gro: max_payload applies to each datagram of a coalesced message", "[dpdk_io][udp][gro]") {
  auto a = open_io(config_with(true, true, 64, 2000));
  for (bool gro : {true, false}) {
    INFO("receiver gro " << gro);
    auto b = open_io(config_with(true, gro, 64, 1200));
    send_sizes(*a, b->local_address(), 0, {1500, 1500, 1000});
    send_sizes(*a, b->local_address(), 3, {20});
    auto got = receive_copies(*b, 2, 16, 500ms);
    REQUIRE(got.size() == 2);
    CHECK(sequence_of(got[0].payload) == 2);
    CHECK(payload_matches(got[0].payload, 1000));
    CHECK(sequence_of(got[1].payload) == 3);
    CHECK(b->counters().rx_truncated == 2);
    CHECK(b->counters().rx_datagrams == 2);
  }
}

TEST_CASE("gso/gro off, or missing from the kernel: one datagram per message", "[dpdk_io][udp][gso]") {
  auto log = std::make_shared<SendLog>();
  auto b = open_io(config_with(true, true));
  auto check_singles = [&](DatagramIo& a) {
    log->accepted.clear();
    send_sizes(a, b->local_address(), 0, repeated(20, 1200));
    CHECK(log->datagrams_per_message() == repeated(20, 1));
    for (const auto& message : log->accepted) CHECK(message.gso_size == 0);
    check_received(receive_copies(*b, 20), 0, repeated(20, 1200), a.local_address());
    CHECK(offload_of(a).gso_messages == 0);
  };

  SECTION("turned off in the config") {
    auto a = open_io(config_with(false, false), SendLog::install(log));
    CHECK_FALSE(offload_of(*a).gso);
    CHECK_FALSE(offload_of(*a).gro);
    check_singles(*a);
  }
  SECTION("the kernel knows neither option") {
    auto calls = SendLog::install(log);
    calls.getsockopt = [](int, int, int, void*, socklen_t*) {
      errno = ENOPROTOOPT;
      return -1;
    };
    calls.setsockopt = [](int, int, int, const void*, socklen_t) {
      errno = ENOPROTOOPT;
      return -1;
    };
    auto a = open_io(config_with(true, true), std::move(calls));
    CHECK_FALSE(offload_of(*a).gso);
    CHECK_FALSE(offload_of(*a).gro);
    check_singles(*a);
    // And it still receives a coalesced message, split by the kernel.
    auto sender = open_io(config_with(true, true));
    send_sizes(*sender, a->local_address(), 0, repeated(8, 1200));
    check_received(receive_copies(*a, 8), 0, repeated(8, 1200), sender->local_address());
  }
  CHECK_FALSE(udp_offload(*MemoryBackend{}.a).has_value());
}

TEST_CASE("gso: a refused coalesced message goes out one datagram at a time", "[dpdk_io][udp][gso]") {
  auto log = std::make_shared<SendLog>();
  auto a = open_io(config_with(true, true, 64, 1400), SendLog::install(log));
  auto b = open_io(config_with(true, true, 64, 1400));
  std::vector<std::size_t> sizes = repeated(10, 1200);
  for (std::size_t size : repeated(5, 1300)) sizes.push_back(size);  // two runs: [10] [5]

  SECTION("EIO: GSO is off for the socket from then on") {
    log->gso_errors = {EIO};
    send_sizes(*a, b->local_address(), 0, sizes);
    CHECK(log->datagrams_per_message() == repeated(15, 1));
    CHECK_FALSE(offload_of(*a).gso);
    CHECK(offload_of(*a).gso_refused == 1);
    check_received(receive_copies(*b, 15), 0, sizes, a->local_address());
    log->accepted.clear();
    send_sizes(*a, b->local_address(), 15, repeated(4, 1200));
    CHECK(log->datagrams_per_message() == repeated(4, 1));
  }
  SECTION("EINVAL: that message only; GSO stays on until a streak of refusals") {
    log->gso_errors = {EINVAL};
    send_sizes(*a, b->local_address(), 0, sizes);
    auto expected = repeated(10, 1);
    expected.push_back(5);
    CHECK(log->datagrams_per_message() == expected);
    CHECK(offload_of(*a).gso);
    CHECK(offload_of(*a).gso_refused == 1);
    CHECK(offload_of(*a).gso_messages == 1);
    check_received(receive_copies(*b, 15), 0, sizes, a->local_address());
    CHECK(a->counters().tx_errors == 0);

    log->gso_errors.assign(log->gso_answered + 8, EMSGSIZE);
    for (std::uint32_t round = 0; round < 8; ++round) {
      REQUIRE(offload_of(*a).gso);
      send_sizes(*a, b->local_address(), 100 + 3 * round, repeated(3, 100));
    }
    CHECK_FALSE(offload_of(*a).gso);
    CHECK(log->gso_answered == log->gso_errors.size());
    check_received(receive_copies(*b, 24), 100, repeated(24, 100), a->local_address());
  }
  SECTION("an unreachable peer: each datagram gets its own verdict, GSO stays on") {
    send_sizes(*a, b->local_address(), 0, {50});
    REQUIRE(a->enqueue(*PeerAddress::parse("[::1]:9"), numbered(1, 50)));
    REQUIRE(a->enqueue(*PeerAddress::parse("[::1]:9"), numbered(2, 50)));
    REQUIRE(a->enqueue(*PeerAddress::parse("[::1]:9"), numbered(3, 50)));
    REQUIRE(a->enqueue(b->local_address(), numbered(4, 50)));
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 1);
    CHECK(a->counters().tx_errors == 3);
    CHECK(offload_of(*a).gso_refused == 1);
    CHECK(offload_of(*a).gso);
    auto got = receive_copies(*b, 3, 16, 300ms);
    REQUIRE(got.size() == 2);
    CHECK(sequence_of(got[0].payload) == 0);
    CHECK(sequence_of(got[1].payload) == 4);
  }
  SECTION("EAGAIN keeps the run queued, whole and in order") {
    log->gso_errors = {EAGAIN};
    for (std::uint32_t i = 0; i < sizes.size(); ++i)
      REQUIRE(a->enqueue(b->local_address(), numbered(i, sizes[i])));
    auto blocked = a->flush();
    REQUIRE_FALSE(blocked.ok());
    CHECK(blocked.error() == IoError::would_block);
    CHECK(a->pending_tx() == 15);
    auto flushed = a->flush();
    REQUIRE(flushed.ok());
    CHECK(*flushed == 15);
    CHECK(log->datagrams_per_message() == std::vector<std::size_t>{10, 5});
    CHECK(offload_of(*a).gso_refused == 0);
    check_received(receive_copies(*b, 15), 0, sizes, a->local_address());
  }
  SECTION("a socket-level errno is system and keeps the batch") {
    log->next_error = EBADF;
    for (std::uint32_t i = 0; i < sizes.size(); ++i)
      REQUIRE(a->enqueue(b->local_address(), numbered(i, sizes[i])));
    auto failed = a->flush();
    REQUIRE_FALSE(failed.ok());
    CHECK(failed.error() == IoError::system);
    CHECK(a->pending_tx() == 15);
    CHECK(offload_of(*a).gso);
    REQUIRE(a->flush().ok());
    check_received(receive_copies(*b, 15), 0, sizes, a->local_address());
  }
  SECTION("partial sends count datagrams, not messages") {
    log->max_per_call = 1;
    sizes.push_back(3);
    sizes.push_back(1100);
    send_sizes(*a, b->local_address(), 0, sizes);
    CHECK(log->datagrams_per_message() == std::vector<std::size_t>{10, 6, 1});
    CHECK(log->calls == 3);
    CHECK(a->counters().tx_datagrams == 17);
    check_received(receive_copies(*b, 17), 0, sizes, a->local_address());
  }
}

}  // namespace hoplink::dio::test
