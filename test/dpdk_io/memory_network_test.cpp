// What only the memory network does: addresses and routing, bind rules, eventfd readiness, bounded queues,
// the impairments under a hand-advanced clock, and the lifetimes of endpoints and views. The interface
// itself is checked by the conformance suite (MemoryNetworkBackend).
#include "dpdk_io/memory_network.hpp"

#include <fcntl.h>
#include <poll.h>

#include <catch2/catch.hpp>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include "test_support.hpp"

namespace hoplink::dio::test {
namespace {

using Clock = MemoryNetwork::Clock;

PeerAddress at(std::string_view text) {
  return *PeerAddress::parse(text);
}

std::unique_ptr<DatagramIo> open(MemoryNetwork& network, std::string_view bind) {
  auto opened = network.open(at(bind));
  INFO(bind);
  REQUIRE(opened.ok());
  return std::move(opened).value();
}

void send(DatagramIo& from, const PeerAddress& to, std::uint32_t sequence, std::size_t size = 32) {
  REQUIRE(from.enqueue(to, numbered(sequence, size)));
  auto flushed = from.flush();
  REQUIRE(flushed.ok());
}

// Everything waiting at `io` now (delivery is synchronous: never waits).
std::vector<Copied> take_all(DatagramIo& io) {
  return receive_copies(io, std::numeric_limits<std::size_t>::max(), 64, 0ms);
}

std::vector<std::uint32_t> sequences(const std::vector<Copied>& copies) {
  std::vector<std::uint32_t> result;
  for (const auto& copy : copies) result.push_back(sequence_of(copy.payload));
  return result;
}

// The source address `to` sees on a datagram from `from`, sent to `address` (its local address by default).
PeerAddress seen_from(DatagramIo& from, DatagramIo& to, std::optional<PeerAddress> address = std::nullopt) {
  send(from, address.value_or(to.local_address()), 1);
  auto got = take_all(to);
  REQUIRE(got.size() == 1);
  return got[0].from;
}

bool readable(int fd) {
  pollfd descriptor{fd, POLLIN, 0};
  return ::poll(&descriptor, 1, 0) == 1 && (descriptor.revents & POLLIN) != 0;
}

// A network on a clock that moves only when the test says so (`now`), with endpoints a and b.
struct Simulated {
  explicit Simulated(MemoryNetworkConfig config = {}) : network(on_own_clock(std::move(config))) {
    a = open(network, "10.0.0.1:1");
    b = open(network, "10.0.0.2:2");
  }
  Simulated(const Simulated&) = delete;
  Simulated& operator=(const Simulated&) = delete;

  Clock::time_point now{};
  MemoryNetwork network;
  std::unique_ptr<DatagramIo> a;
  std::unique_ptr<DatagramIo> b;

 private:
  MemoryNetworkConfig on_own_clock(MemoryNetworkConfig config) {
    config.clock = [this] { return now; };
    return config;
  }
};

}  // namespace

TEST_CASE("memory network: exact binds win over wildcard binds and unbound destinations are dropped",
          "[dpdk_io][memory_network]") {
  MemoryNetwork network;
  auto a = open(network, "10.0.0.1:1000");
  auto exact = open(network, "10.0.0.3:3000");
  auto wildcard = open(network, "0.0.0.0:3000");
  CHECK(a->backend_name() == "memory");
  CHECK(a->local_address() == at("10.0.0.1:1000"));
  CHECK(wildcard->local_address() == at("0.0.0.0:3000"));

  send(*a, at("10.0.0.3:3000"), 1);
  send(*a, at("10.0.0.9:3000"), 2);
  send(*a, at("127.0.0.1:3000"), 3);
  send(*a, at("10.0.0.3:3001"), 4);  // nothing bound to that port
  CHECK(sequences(take_all(*exact)) == std::vector<std::uint32_t>{1});
  auto at_wildcard = take_all(*wildcard);
  CHECK(sequences(at_wildcard) == std::vector<std::uint32_t>{2, 3});
  CHECK(at_wildcard[0].from == a->local_address());
  CHECK(a->counters().tx_datagrams == 4);  // a sender cannot tell
  CHECK(network.counters().delivered == 3);
  CHECK(network.counters().dropped_no_endpoint == 1);

  // IPv6 routes the same way, within its own family; a v4 endpoint cannot send to a v6 address.
  auto six = open(network, "[fd00::1]:1000");
  auto six_wildcard = open(network, "[::]:3000");
  send(*six, at("[fd00::9]:3000"), 5);
  CHECK(sequences(take_all(*six_wildcard)) == std::vector<std::uint32_t>{5});
  CHECK(take_all(*wildcard).empty());
  REQUIRE(a->enqueue(at("[fd00::9]:3000"), numbered(6, 10)));
  REQUIRE(a->enqueue(at("10.0.0.3:0"), numbered(7, 10)));
  auto refused = a->flush();
  REQUIRE(refused.ok());
  CHECK(*refused == 0);
  CHECK(a->counters().tx_errors == 2);
  CHECK(take_all(*six_wildcard).empty());
}

TEST_CASE("memory network: endpoints bound to an unspecified address send from the host address",
          "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.host_v4 = at("192.0.2.7:0");
  MemoryNetwork network(config);
  auto bridge = open(network, "0.0.0.0:4443");
  auto client = open(network, "10.0.0.2:0");
  const auto bridge_seen = seen_from(*bridge, *client);
  CHECK(bridge_seen == at("192.0.2.7:4443"));
  // The answer to that address finds the bridge through its wildcard bind.
  CHECK(seen_from(*client, *bridge, bridge_seen) == client->local_address());

  // IPv6 uses ::1 unless told otherwise.
  auto six_bridge = open(network, "[::]:4443");
  auto six_client = open(network, "[fd00::2]:0");
  CHECK(seen_from(*six_bridge, *six_client) == at("[::1]:4443"));
}

TEST_CASE("memory network: port 0 picks an unused ephemeral port", "[dpdk_io][memory_network]") {
  MemoryNetwork network;
  auto taken = open(network, "10.0.0.9:40001");
  std::set<std::uint16_t> ports;
  std::vector<std::unique_ptr<DatagramIo>> endpoints;
  for (int i = 0; i < 5; ++i) {
    endpoints.push_back(open(network, i % 2 == 0 ? "10.0.0.1:0" : "0.0.0.0:0"));
    const auto port = endpoints.back()->local_address().port();
    CHECK(port >= 40000);
    CHECK(port != 40001);  // used by another endpoint of the family, on another address
    ports.insert(port);
  }
  CHECK(ports.size() == 5);
  auto six = open(network, "[::1]:0");
  CHECK(six->local_address().port() >= 40000);

  // A picked port works like any other.
  send(*taken, endpoints[0]->local_address(), 9);
  CHECK(take_all(*endpoints[0]).size() == 1);
}

TEST_CASE("memory network: a bind to an address in use fails until its endpoint is gone",
          "[dpdk_io][memory_network]") {
  MemoryNetwork network;
  auto first = open(network, "10.0.0.1:5000");
  auto again = network.open(at("10.0.0.1:5000"));
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().find("10.0.0.1:5000") != std::string::npos);
  CHECK(again.error().find("in use") != std::string::npos);

  // Another address, the wildcard and the other family may share the port.
  CHECK(network.open(at("10.0.0.2:5000")).ok());
  auto wildcard = open(network, "0.0.0.0:5000");
  CHECK_FALSE(network.open(at("0.0.0.0:5000")).ok());
  CHECK(network.open(at("[::]:5000")).ok());
  CHECK_FALSE(network.open(PeerAddress{}).ok());

  first.reset();
  CHECK(network.open(at("10.0.0.1:5000")).ok());
}

TEST_CASE("memory network: readiness_fd is a non-blocking eventfd readable while datagrams wait",
          "[dpdk_io][memory_network]") {
  Simulated simulated;
  auto& [now, network, a, b] = simulated;
  const int fd = b->readiness_fd();
  REQUIRE(fd >= 0);
  CHECK(fd != a->readiness_fd());
  CHECK((::fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
  CHECK((::fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);

  pollfd idle{fd, POLLIN | POLLOUT, 0};
  REQUIRE(::poll(&idle, 1, 0) == 1);
  CHECK(idle.revents == POLLOUT);

  for (std::uint32_t i = 0; i < 3; ++i) send(*a, b->local_address(), i);
  CHECK(readable(fd));
  std::vector<ReceivedDatagram> out(2);
  REQUIRE(*b->receive_burst(out) == 2);
  CHECK(readable(fd));  // one still waits
  REQUIRE(*b->receive_burst(out) == 1);
  CHECK_FALSE(readable(fd));
  REQUIRE(*b->receive_burst(out) == 0);
  CHECK_FALSE(readable(fd));

  send(*a, b->local_address(), 3);
  CHECK(readable(fd));
  REQUIRE(*b->receive_burst(out) == 1);
  CHECK_FALSE(readable(fd));
  pollfd writable{a->readiness_fd(), POLLOUT, 0};
  CHECK(::poll(&writable, 1, 0) == 1);
}

TEST_CASE("memory network: a full receive queue drops and flush never pushes back",
          "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.queue_capacity = 8;
  config.tx_batch = 32;
  Simulated simulated(config);
  auto& [now, network, a, b] = simulated;
  for (std::uint32_t i = 0; i < 20; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 50)));
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 20);
  CHECK(a->counters().tx_datagrams == 20);
  CHECK(network.counters().delivered == 8);
  CHECK(network.counters().dropped_queue_full == 12);
  CHECK(sequences(take_all(*b)) == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7});

  // Read datagrams leave the queue: there is room again.
  send(*a, b->local_address(), 20);
  CHECK(sequences(take_all(*b)) == std::vector<std::uint32_t>{20});
}

TEST_CASE("memory network: the filter can black-hole a peer and count", "[dpdk_io][memory_network]") {
  MemoryNetwork network;
  auto bridge = open(network, "10.0.0.1:443");
  auto good = open(network, "10.0.0.2:1");
  auto bad = open(network, "10.0.0.3:1");
  std::size_t seen = 0;
  network.set_filter([&](const PeerAddress& from, const PeerAddress& to, std::span<const std::byte> payload) {
    ++seen;
    CHECK(payload.size() == 32);
    return from != bad->local_address() && to != bad->local_address();
  });
  send(*good, bridge->local_address(), 1);
  send(*bad, bridge->local_address(), 2);
  send(*bridge, bad->local_address(), 3);
  send(*bridge, good->local_address(), 4);
  CHECK(seen == 4);
  CHECK(network.counters().filtered == 2);
  CHECK(sequences(take_all(*bridge)) == std::vector<std::uint32_t>{1});
  CHECK(sequences(take_all(*good)) == std::vector<std::uint32_t>{4});
  CHECK(take_all(*bad).empty());

  network.set_filter(nullptr);
  send(*bad, bridge->local_address(), 5);
  CHECK(sequences(take_all(*bridge)) == std::vector<std::uint32_t>{5});
}

TEST_CASE("memory network: loss and duplication happen at about their rates and repeat with the seed",
          "[dpdk_io][memory_network]") {
  constexpr std::uint32_t kCount = 10000;
  auto run = [&](std::uint64_t seed) {
    MemoryNetworkConfig config;
    config.seed = seed;
    config.queue_capacity = 2 * kCount;
    config.impairment.loss = 0.1;
    config.impairment.duplicate = 0.05;
    Simulated simulated(config);
    auto& [now, network, a, b] = simulated;
    for (std::uint32_t i = 0; i < kCount; ++i) {
      if (a->pending_tx() == a->tx_capacity()) REQUIRE(a->flush().ok());
      REQUIRE(a->enqueue(b->local_address(), numbered(i, 20)));
    }
    REQUIRE(a->flush().ok());
    const auto got = sequences(take_all(*b));
    const MemoryNetworkCounters counters = network.counters();

    CHECK(counters.lost > kCount * 8 / 100);
    CHECK(counters.lost < kCount * 12 / 100);
    const std::uint64_t kept = kCount - counters.lost;
    CHECK(counters.duplicated > kept * 4 / 100);
    CHECK(counters.duplicated < kept * 6 / 100);
    CHECK(got.size() == kept + counters.duplicated);
    CHECK(counters.delivered == got.size());
    // Every copy arrives, in order: without delay a duplicate follows its original at once.
    std::map<std::uint32_t, int> copies;
    for (auto sequence : got) ++copies[sequence];
    std::uint64_t twice = 0;
    for (const auto& [sequence, count] : copies) {
      CHECK(count <= 2);
      if (count == 2) ++twice;
    }
    CHECK(copies.size() == kept);
    CHECK(twice == counters.duplicated);
    CHECK(std::is_sorted(got.begin(), got.end()));
    return std::pair{counters.lost, got};
  };
  const auto first = run(7);
  CHECK(run(7) == first);
  CHECK(run(8) != first);
}

TEST_CASE("memory network: reordered datagrams are overtaken by the ones sent after them",
          "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.seed = 3;
  config.impairment.reorder = 0.1;
  config.impairment.reorder_delay = 1ms;
  Simulated simulated(config);
  auto& [now, network, a, b] = simulated;

  // One datagram every 10 us; the last 200 without reordering, so that every held-back one is overtaken.
  std::vector<std::uint32_t> got;
  constexpr std::uint32_t kCount = 2000;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    if (i == kCount - 200) network.set_impairment({});
    send(*a, b->local_address(), i);
    now += 10us;
    network.deliver_due();
    for (auto sequence : sequences(take_all(*b))) got.push_back(sequence);
  }
  now += 2ms;
  network.deliver_due();
  for (auto sequence : sequences(take_all(*b))) got.push_back(sequence);

  REQUIRE(got.size() == kCount);
  const auto reordered = network.counters().reordered;
  CHECK(reordered > (kCount - 200) * 7 / 100);
  CHECK(reordered < (kCount - 200) * 13 / 100);
  // A datagram arrives late when one sent after it arrived first; those are exactly the held-back ones.
  std::uint64_t late = 0;
  std::uint32_t highest = 0;
  for (auto sequence : got) {
    if (sequence < highest) ++late;
    highest = std::max(highest, sequence);
  }
  CHECK(late == reordered);
  CHECK(network.counters().delivered == kCount);
}

TEST_CASE("memory network: delay and jitter hold datagrams in flight until deliver_due",
          "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.impairment.delay = 5ms;
  config.impairment.jitter = 2ms;
  Simulated simulated(config);
  auto& [now, network, a, b] = simulated;

  const auto start = now;
  constexpr std::uint32_t kCount = 1000;
  for (std::uint32_t i = 0; i < kCount; ++i) {
    if (a->pending_tx() == a->tx_capacity()) REQUIRE(a->flush().ok());
    REQUIRE(a->enqueue(b->local_address(), numbered(i, 20)));
  }
  REQUIRE(a->flush().ok());
  CHECK(network.in_flight() == kCount);
  CHECK(take_all(*b).empty());
  CHECK_FALSE(readable(b->readiness_fd()));
  REQUIRE(network.next_delivery());
  CHECK(*network.next_delivery() >= start + 5ms);

  // Step through time, noting when each datagram arrives.
  std::vector<std::uint32_t> order;
  std::vector<Clock::duration> arrival;
  while (auto next = network.next_delivery()) {
    now = *next;
    network.deliver_due();
    for (auto sequence : sequences(take_all(*b))) {
      order.push_back(sequence);
      arrival.push_back(now - start);
    }
  }
  REQUIRE(order.size() == kCount);
  CHECK(*std::min_element(arrival.begin(), arrival.end()) >= 5ms);
  CHECK(*std::max_element(arrival.begin(), arrival.end()) <= 7ms);
  Clock::duration total{};
  for (auto time : arrival) total += time;
  const auto mean = total / kCount;
  CHECK(mean > 5800us);
  CHECK(mean < 6200us);
  // Datagrams sent together arrive spread over the jitter: out of order.
  CHECK_FALSE(std::is_sorted(order.begin(), order.end()));
  CHECK(network.counters().reordered == 0);  // the counter is for Impairment::reorder alone
}

TEST_CASE("memory network: the schedule hook names each new earliest due time", "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.impairment.delay = 10ms;
  Simulated simulated(config);
  auto& [now, network, a, b] = simulated;
  std::vector<Clock::time_point> hooked;
  network.set_schedule_hook([&](Clock::time_point due) { hooked.push_back(due); });
  CHECK(hooked.empty());
  CHECK_FALSE(network.next_delivery());

  const auto t0 = now;
  send(*a, b->local_address(), 0);
  CHECK(hooked == std::vector{t0 + 10ms});
  now += 1ms;
  send(*a, b->local_address(), 1);  // due later: the timer already armed comes first
  CHECK(hooked.size() == 1);
  network.set_impairment({.delay = 2ms});
  send(*a, b->local_address(), 2);  // due at t0 + 3 ms: a new earliest
  CHECK(hooked == std::vector{t0 + 10ms, t0 + 3ms});
  CHECK(network.next_delivery() == t0 + 3ms);

  // Too early: nothing moves and the hook is not called again.
  now = t0 + 3ms - 1us;
  network.deliver_due();
  CHECK(take_all(*b).empty());
  CHECK(hooked.size() == 2);
  now = t0 + 3ms;
  network.deliver_due();
  CHECK(sequences(take_all(*b)) == std::vector<std::uint32_t>{2});
  CHECK(hooked.back() == t0 + 10ms);  // what is left
  now = t0 + 20ms;
  network.deliver_due();
  CHECK(sequences(take_all(*b)) == std::vector<std::uint32_t>{0, 1});
  CHECK_FALSE(network.next_delivery());
  CHECK(hooked.size() == 3);

  // Datagrams due at the same time keep their sending order; a hook set later hears at once.
  network.set_schedule_hook(nullptr);
  for (std::uint32_t i = 10; i < 20; ++i) send(*a, b->local_address(), i);
  std::vector<Clock::time_point> late_hook;
  network.set_schedule_hook([&](Clock::time_point due) { late_hook.push_back(due); });
  CHECK(late_hook == std::vector{now + 2ms});
  now += 2ms;
  network.deliver_due();
  CHECK(sequences(take_all(*b)) == std::vector<std::uint32_t>{10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
}

TEST_CASE("memory network: datagrams in flight to a destroyed endpoint are dropped or reach its successor",
          "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.impairment.delay = 1ms;
  Simulated simulated(config);
  auto& [now, network, a, b] = simulated;
  const auto b_address = b->local_address();
  for (std::uint32_t i = 0; i < 5; ++i) send(*a, b_address, i);
  send(*b, a->local_address(), 100);  // and some from it
  b.reset();
  now += 1ms;
  network.deliver_due();
  CHECK(network.counters().dropped_no_endpoint == 5);
  CHECK(sequences(take_all(*a)) == std::vector<std::uint32_t>{100});

  // Routing happens on arrival: whoever is bound then receives.
  send(*a, b_address, 5);
  auto successor = open(network, "10.0.0.2:2");
  now += 1ms;
  network.deliver_due();
  CHECK(sequences(take_all(*successor)) == std::vector<std::uint32_t>{5});
}

TEST_CASE("memory network: views stay valid until the next receive on that endpoint",
          "[dpdk_io][memory_network]") {
  Simulated simulated;
  auto& [now, network, a, b] = simulated;
  for (std::uint32_t i = 0; i < 4; ++i) send(*a, b->local_address(), i, 1000);
  std::vector<ReceivedDatagram> out(4);
  REQUIRE(*b->receive_burst(out) == 4);

  // Plenty of traffic through the network's buffers while the views are held.
  for (std::uint32_t i = 4; i < 200; ++i) {
    send(*a, b->local_address(), i, 1000);
    send(*b, a->local_address(), i, 1000);
    CHECK(take_all(*a).size() == 1);
  }
  for (std::uint32_t i = 0; i < 4; ++i) {
    CHECK(sequence_of(out[i].payload) == i);
    CHECK(payload_matches(out[i].payload, 1000));
  }
  // Destroying the sender does not touch them either.
  a.reset();
  CHECK(payload_matches(out[3].payload, 1000));
  auto rest = take_all(*b);
  REQUIRE(rest.size() == 196);
  CHECK(sequence_of(rest.front().payload) == 4);
}

TEST_CASE("memory network: endpoints that outlive the network report closed", "[dpdk_io][memory_network]") {
  const Clock::time_point now{};
  MemoryNetworkConfig config;
  config.clock = [&now] { return now; };
  auto network = std::make_unique<MemoryNetwork>(config);
  auto a = open(*network, "10.0.0.1:1");
  auto b = open(*network, "10.0.0.2:2");
  send(*a, b->local_address(), 1);
  network->set_impairment({.delay = 1ms});
  send(*a, b->local_address(), 2);  // in flight when the network goes
  network.reset();

  std::vector<ReceivedDatagram> out(4);
  auto received = b->receive_burst(out);
  REQUIRE(received.ok());
  REQUIRE(*received == 1);
  CHECK(sequence_of(out[0].payload) == 1);
  auto closed = b->receive_burst(out);
  REQUIRE_FALSE(closed.ok());
  CHECK(closed.error() == IoError::closed);

  REQUIRE(a->enqueue(b->local_address(), numbered(3, 10)));
  auto flushed = a->flush();
  REQUIRE_FALSE(flushed.ok());
  CHECK(flushed.error() == IoError::closed);
  CHECK(a->pending_tx() == 0);
  CHECK(a->counters().tx_errors == 1);
}

TEST_CASE("memory network: 20 MB cross a delayed path intact", "[dpdk_io][memory_network]") {
  MemoryNetworkConfig config;
  config.impairment.delay = 20ms;
  Simulated simulated(config);
  auto& [now, network, client, unused] = simulated;
  auto bridge = open(network, "0.0.0.0:4443");

  constexpr std::size_t kSize = 1400;
  constexpr std::uint32_t kCount = 20 * 1000 * 1000 / kSize;
  std::uint32_t next_expected = 0;
  std::vector<ReceivedDatagram> out(64);
  bool intact = true;
  // 64 datagrams every 100 us (about 7 Gbit/s of simulated time), the receiver draining as it goes.
  for (std::uint32_t sent = 0; sent < kCount || network.in_flight() > 0;) {
    for (; sent < kCount && client->pending_tx() < client->tx_capacity(); ++sent)
      REQUIRE(client->enqueue(at("127.0.0.1:4443"), numbered(sent, kSize)));
    REQUIRE(client->flush().ok());
    now += 100us;
    network.deliver_due();
    for (std::size_t n; (n = *bridge->receive_burst(out)) > 0;) {
      for (std::size_t i = 0; i < n; ++i) {
        intact = intact && sequence_of(out[i].payload) == next_expected++ &&
                 (next_expected % 97 != 0 || payload_matches(out[i].payload, kSize));
      }
    }
  }
  CHECK(intact);
  CHECK(next_expected == kCount);
  CHECK(bridge->counters().rx_bytes == std::uint64_t{kCount} * kSize);
  CHECK(network.counters().dropped_queue_full == 0);
}

TEST_CASE("memory network: configurations that cannot work are refused", "[dpdk_io][memory_network]") {
  auto refused = [](auto change) {
    MemoryNetworkConfig config;
    change(config);
    return [config] { MemoryNetwork network(config); };
  };
  CHECK_THROWS_AS(refused([](auto& c) { c.impairment.loss = 1.5; })(), std::invalid_argument);
  CHECK_THROWS_AS(refused([](auto& c) { c.impairment.duplicate = -0.1; })(), std::invalid_argument);
  CHECK_THROWS_AS(refused([](auto& c) { c.impairment.delay = 1ms; })(), std::invalid_argument);  // no clock
  CHECK_THROWS_AS(refused([](auto& c) { c.queue_capacity = 0; })(), std::invalid_argument);
  CHECK_THROWS_AS(refused([](auto& c) { c.host_v4 = PeerAddress::parse("[::1]:0").value(); })(),
                  std::invalid_argument);
  MemoryNetwork network;
  CHECK_THROWS_AS(network.set_impairment({.jitter = 1ms}), std::invalid_argument);
  CHECK_NOTHROW(network.set_impairment({.loss = 1}));
}

}  // namespace hoplink::dio::test
