// One suite, run over every DatagramIo backend: what the interface promises, checked the same way for each.
#include <poll.h>

#include <catch2/catch.hpp>
#include <type_traits>

#include "test_support.hpp"

namespace hoplink::dio::test {
namespace {

template <class Fixture>
bool usable(const Fixture& fixture) {
  if (fixture.available()) return true;
  if constexpr (std::is_same_v<Fixture, UdpV6Backend> || std::is_same_v<Fixture, UdpV6PlainBackend>) {
    WARN("IPv6 loopback unavailable, test skipped: " << fixture.error);
    return false;
  } else {
    FAIL("backend did not open");
    return false;
  }
}

// Enqueues and flushes `count` numbered datagrams of `size` bytes from `from` to `to`, flushing whenever the
// batch is full. Requires every flush to succeed.
void send_numbered(DatagramIo& from, const PeerAddress& to, std::uint32_t first, std::size_t count,
                   std::size_t size) {
  for (std::uint32_t sequence = first; sequence < first + count; ++sequence) {
    if (from.pending_tx() == from.tx_capacity()) REQUIRE(from.flush().ok());
    REQUIRE(from.enqueue(to, numbered(sequence, size)));
  }
  REQUIRE(from.flush().ok());
  REQUIRE(from.pending_tx() == 0);
}

}  // namespace

// The UDP backends run with GSO and GRO (the default), with neither, and with GSO towards sockets without
// GRO.
#define BACKENDS                                                                                         \
  MemoryBackend, MemoryNetworkBackend, UdpV4Backend, UdpV6Backend, UdpV4PlainBackend, UdpV6PlainBackend, \
      UdpV4GsoOnlyBackend

TEMPLATE_TEST_CASE("datagrams round trip both ways with their addresses", "[dpdk_io][conformance]",
                   BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  CHECK_FALSE(a.backend_name().empty());
  CHECK(a.local_address() != b.local_address());
  CHECK(a.last_errno() == 0);

  REQUIRE(a.enqueue(b.local_address(), to_bytes("ping")));
  CHECK(a.pending_tx() == 1);
  auto flushed = a.flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 1);
  CHECK(a.pending_tx() == 0);

  auto at_b = receive_copies(b, 1);
  REQUIRE(at_b.size() == 1);
  CHECK(at_b[0].from == a.local_address());
  CHECK(at_b[0].payload == to_bytes("ping"));

  REQUIRE(b.enqueue(at_b[0].from, to_bytes("pong!")));
  REQUIRE(b.flush().ok());
  auto at_a = receive_copies(a, 1);
  REQUIRE(at_a.size() == 1);
  CHECK(at_a[0].from == b.local_address());
  CHECK(at_a[0].payload == to_bytes("pong!"));
}

TEMPLATE_TEST_CASE("receive with nothing pending returns 0, flush with nothing queued sends 0",
                   "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  std::vector<ReceivedDatagram> out(8);

  auto nothing = b.receive_burst(out);
  REQUIRE(nothing.ok());
  CHECK(*nothing == 0);
  auto empty_flush = a.flush();
  REQUIRE(empty_flush.ok());
  CHECK(*empty_flush == 0);

  send_numbered(a, b.local_address(), 0, 2, 32);
  CHECK(receive_copies(b, 2).size() == 2);
  auto drained = b.receive_burst(out);
  REQUIRE(drained.ok());
  CHECK(*drained == 0);
  // An empty output span takes nothing, even with datagrams pending.
  send_numbered(a, b.local_address(), 2, 1, 32);
  auto none = b.receive_burst(std::span<ReceivedDatagram>{});
  REQUIRE(none.ok());
  CHECK(*none == 0);
  auto later = receive_copies(b, 1);
  REQUIRE(later.size() == 1);
  CHECK(sequence_of(later[0].payload) == 2);
  CHECK(b.counters().rx_datagrams == 3);
}

TEMPLATE_TEST_CASE("bursts larger than the batch arrive complete and in order", "[dpdk_io][conformance]",
                   BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  const std::size_t batch = a.tx_capacity();
  REQUIRE(batch >= 2);
  const std::size_t total = 3 * batch + 3;

  for (std::uint32_t sequence = 0; sequence < total; ++sequence) {
    if (a.pending_tx() == batch) {
      auto flushed = a.flush();
      REQUIRE(flushed.ok());
      CHECK(*flushed == batch);
    }
    REQUIRE(a.enqueue(b.local_address(), numbered(sequence, 100 + sequence % 50)));
  }
  auto last = a.flush();
  REQUIRE(last.ok());
  CHECK(*last == 3);

  // Receive in bursts smaller than the batch, so both sides cut the stream in different places.
  auto got = receive_copies(b, total, 5);
  REQUIRE(got.size() == total);
  for (std::uint32_t i = 0; i < total; ++i) {
    INFO("datagram " << i);
    CHECK(sequence_of(got[i].payload) == i);
    CHECK(got[i].payload.size() == 100 + i % 50);
    CHECK(payload_matches(got[i].payload, 100 + i % 50));
    CHECK(got[i].from == a.local_address());
  }
  CHECK(a.counters().tx_datagrams == total);
  CHECK(b.counters().rx_datagrams == total);
}

TEMPLATE_TEST_CASE("max_payload: an exact fit passes, one byte more is dropped and counted",
                   "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  const std::size_t max = a.max_payload();
  REQUIRE(max >= 4);

  CHECK_FALSE(a.enqueue(b.local_address(), numbered(1, max + 1)));
  CHECK(a.counters().tx_dropped_too_big == 1);
  CHECK(a.pending_tx() == 0);
  REQUIRE(a.enqueue(b.local_address(), numbered(2, max)));
  CHECK(a.counters().tx_dropped_too_big == 1);
  REQUIRE(a.flush().ok());

  auto got = receive_copies(b, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].payload.size() == max);
  CHECK(sequence_of(got[0].payload) == 2);
  CHECK(payload_matches(got[0].payload, max));
  CHECK(b.counters().rx_truncated == 0);
}

TEMPLATE_TEST_CASE("a full batch drops the next datagram and counts it", "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  const std::size_t batch = a.tx_capacity();

  for (std::uint32_t i = 0; i < batch; ++i) REQUIRE(a.enqueue(b.local_address(), numbered(i, 40)));
  CHECK(a.pending_tx() == batch);
  CHECK_FALSE(a.enqueue(b.local_address(), numbered(999, 40)));
  CHECK(a.counters().tx_dropped_full == 1);
  CHECK(a.pending_tx() == batch);

  auto flushed = a.flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == batch);
  auto got = receive_copies(b, batch + 1, 16, 300ms);
  REQUIRE(got.size() == batch);
  CHECK(sequence_of(got.back().payload) == batch - 1);
  // Room again after the flush.
  CHECK(a.enqueue(b.local_address(), numbered(1000, 40)));
}

TEMPLATE_TEST_CASE("would_block keeps datagrams queued in order and delivers them later",
                   "[dpdk_io][conformance]", BACKENDS) {
  if constexpr (requires { TestType::kNeverBlocks; }) return;
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;

  // Sizes vary so that a backend coalescing equal-size runs (UDP GSO: a whole run is taken or refused at
  // once) still sends several messages per flush, and the budget can cut one in the middle.
  auto size_of = [](std::uint32_t sequence) -> std::size_t { return 60 + sequence % 7; };
  fixture.limit_tx();
  std::uint32_t sequence = 0;
  bool blocked = false;
  for (int round = 0; round < 100 && !blocked; ++round) {
    while (a.pending_tx() < a.tx_capacity()) {
      REQUIRE(a.enqueue(b.local_address(), numbered(sequence, size_of(sequence))));
      ++sequence;
    }
    auto flushed = a.flush();
    if (!flushed.ok()) {
      REQUIRE(flushed.error() == IoError::would_block);
      blocked = true;
    }
  }
  REQUIRE(blocked);
  const std::size_t queued = a.pending_tx();
  REQUIRE(queued > 0);
  const std::size_t delivered_early = sequence - queued;
  CHECK(a.counters().tx_datagrams == delivered_early);

  // Still blocked: nothing lost, nothing reordered, nothing counted as an error.
  auto again = a.flush();
  REQUIRE_FALSE(again.ok());
  CHECK(again.error() == IoError::would_block);
  CHECK(a.pending_tx() == queued);
  CHECK(a.counters().tx_errors == 0);
  CHECK(a.counters().tx_dropped_full == 0);
  // Top the batch up while blocked: the transmit ring wraps, and the new ones must follow the queued ones.
  REQUIRE(queued < a.tx_capacity());
  while (a.pending_tx() < a.tx_capacity()) {
    REQUIRE(a.enqueue(b.local_address(), numbered(sequence, size_of(sequence))));
    ++sequence;
  }

  auto got = receive_copies(b, delivered_early);
  REQUIRE(got.size() == delivered_early);
  std::vector<ReceivedDatagram> out(4);
  CHECK(receive_views(b, out, 50ms) == 0);  // the queued ones have not left

  fixture.relieve();
  for (int round = 0; round < 100 && (a.pending_tx() > 0 || got.size() < sequence); ++round) {
    auto flushed = a.flush();
    if (!flushed.ok()) REQUIRE(flushed.error() == IoError::would_block);
    auto more = receive_copies(b, sequence - got.size(), 16, 500ms);
    got.insert(got.end(), more.begin(), more.end());
  }
  CHECK(a.pending_tx() == 0);
  REQUIRE(got.size() == sequence);
  for (std::uint32_t i = 0; i < sequence; ++i) {
    INFO("datagram " << i);
    CHECK(sequence_of(got[i].payload) == i);
    CHECK(payload_matches(got[i].payload, size_of(i)));
  }
  CHECK(a.counters().tx_datagrams == sequence);
  CHECK(a.counters().tx_errors == 0);
}

TEMPLATE_TEST_CASE("a datagram the network refuses is dropped and counted, the rest still go",
                   "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;

  REQUIRE(a.enqueue(b.local_address(), numbered(1, 50)));
  REQUIRE(a.enqueue(fixture.unroutable(), numbered(2, 50)));
  REQUIRE(a.enqueue(fixture.unroutable(), numbered(3, 50)));
  REQUIRE(a.enqueue(b.local_address(), numbered(4, 50)));
  auto flushed = a.flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 2);
  CHECK(a.pending_tx() == 0);
  CHECK(a.counters().tx_errors == 2);
  CHECK(a.counters().tx_datagrams == 2);

  auto got = receive_copies(b, 3, 16, 300ms);
  REQUIRE(got.size() == 2);
  CHECK(sequence_of(got[0].payload) == 1);
  CHECK(sequence_of(got[1].payload) == 4);
}

TEMPLATE_TEST_CASE("counters are exact", "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;

  REQUIRE(a.enqueue(b.local_address(), numbered(0, 10)));
  REQUIRE(a.enqueue(b.local_address(), numbered(1, 20)));
  CHECK_FALSE(a.enqueue(b.local_address(), numbered(2, a.max_payload() + 7)));
  REQUIRE(a.enqueue(fixture.unroutable(), numbered(3, 7)));
  REQUIRE(a.enqueue(b.local_address(), numbered(4, 30)));
  REQUIRE(a.flush().ok());
  REQUIRE(receive_copies(b, 3).size() == 3);
  REQUIRE(b.enqueue(a.local_address(), numbered(5, 5)));
  REQUIRE(b.flush().ok());
  REQUIRE(receive_copies(a, 1).size() == 1);

  const IoCounters& ca = a.counters();
  CHECK(ca.rx_datagrams == 1);
  CHECK(ca.rx_bytes == 5);
  CHECK(ca.rx_truncated == 0);
  CHECK(ca.tx_datagrams == 3);
  CHECK(ca.tx_bytes == 60);
  CHECK(ca.tx_dropped_full == 0);
  CHECK(ca.tx_dropped_too_big == 1);
  CHECK(ca.tx_errors == 1);
  const IoCounters& cb = b.counters();
  CHECK(cb.rx_datagrams == 3);
  CHECK(cb.rx_bytes == 60);
  CHECK(cb.rx_truncated == 0);
  CHECK(cb.tx_datagrams == 1);
  CHECK(cb.tx_bytes == 5);
  CHECK(cb.tx_dropped_full == 0);
  CHECK(cb.tx_dropped_too_big == 0);
  CHECK(cb.tx_errors == 0);
}

TEMPLATE_TEST_CASE("payload views stay valid until the next receive", "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;

  send_numbered(a, b.local_address(), 0, 6, 300);
  std::vector<ReceivedDatagram> out(3);
  const std::size_t n = receive_views(b, out);
  REQUIRE(n >= 1);
  std::vector<std::vector<std::byte>> snapshot;
  for (std::size_t i = 0; i < n; ++i) snapshot.emplace_back(out[i].payload.begin(), out[i].payload.end());

  // Traffic in both directions while the views are held: none of it may land in their buffers.
  send_numbered(a, b.local_address(), 100, 6, 300);
  send_numbered(b, a.local_address(), 200, 4, 300);
  CHECK(receive_copies(a, 4).size() == 4);

  for (std::size_t i = 0; i < n; ++i) {
    INFO("view " << i);
    CHECK(same_bytes(out[i].payload, snapshot[i]));
    CHECK(sequence_of(out[i].payload) == i);
    CHECK(out[i].from == a.local_address());
  }
  auto rest = receive_copies(b, 12 - n);
  REQUIRE(rest.size() == 12 - n);
  CHECK(sequence_of(rest.front().payload) == n);
  CHECK(sequence_of(rest.back().payload) == 105);
}

TEMPLATE_TEST_CASE("enqueue copies the payload, empty datagrams pass", "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;

  auto payload = numbered(7, 80);
  const auto original = payload;
  REQUIRE(a.enqueue(b.local_address(), payload));
  std::fill(payload.begin(), payload.end(), std::byte{0xee});
  REQUIRE(a.enqueue(b.local_address(), std::span<const std::byte>{}));
  REQUIRE(a.flush().ok());

  auto got = receive_copies(b, 2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].payload == original);
  CHECK(got[1].payload.empty());
  CHECK(got[1].from == a.local_address());
  CHECK(b.counters().rx_datagrams == 2);
  CHECK(b.counters().rx_bytes == 80);
}

TEMPLATE_TEST_CASE("readiness_fd polls readable when datagrams wait", "[dpdk_io][conformance]", BACKENDS) {
  TestType fixture;
  if (!usable(fixture)) return;
  auto& a = *fixture.a;
  auto& b = *fixture.b;
  const int fd = b.readiness_fd();
  if (fd < 0) {
    CHECK(fd == -1);  // the caller polls instead
    return;
  }
  pollfd idle{fd, POLLIN | POLLOUT, 0};
  REQUIRE(::poll(&idle, 1, 0) == 1);
  CHECK((idle.revents & POLLOUT) != 0);
  CHECK((idle.revents & POLLIN) == 0);

  send_numbered(a, b.local_address(), 0, 1, 10);
  pollfd ready{fd, POLLIN, 0};
  REQUIRE(::poll(&ready, 1, 2000) == 1);
  CHECK((ready.revents & POLLIN) != 0);
  CHECK(receive_copies(b, 1).size() == 1);
}

}  // namespace hoplink::dio::test
