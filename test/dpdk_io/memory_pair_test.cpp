// What only the in-memory pair does: the impairment hook, bounded queues, held slots, a destroyed peer.
#include "dpdk_io/memory_pair.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "test_support.hpp"

namespace hoplink::dio::test {

TEST_CASE("memory: identity and readiness", "[dpdk_io][memory]") {
  MemoryPairConfig config;
  config.capacity = 16;
  config.max_payload = 500;
  auto [a, b] = make_memory_pair(config);
  CHECK(a->backend_name() == "memory");
  CHECK(a->readiness_fd() == -1);
  CHECK(b->readiness_fd() == -1);
  CHECK(a->local_address() == config.a);
  CHECK(b->local_address() == config.b);
  CHECK(a->max_payload() == 500);
  CHECK(a->tx_capacity() == 16);
  CHECK(a->last_errno() == 0);

  MemoryPairConfig big;
  auto [c, d] = make_memory_pair(big);
  CHECK(c->tx_capacity() == 64);  // the batch, capped below the 1024-datagram queue

  MemoryPairConfig zero;
  zero.capacity = 0;
  CHECK_THROWS_AS(make_memory_pair(zero), std::invalid_argument);
}

TEST_CASE("memory: the deliver hook sees every flushed datagram and can lose it", "[dpdk_io][memory]") {
  MemoryPairConfig config;
  std::vector<std::uint32_t> seen;
  std::vector<PeerAddress> senders;
  config.deliver = [&](const PeerAddress& from, std::span<const std::byte> payload) {
    seen.push_back(sequence_of(payload));
    senders.push_back(from);
    return sequence_of(payload) % 2 == 0;  // lose the odd ones
  };
  auto [a, b] = make_memory_pair(config);
  for (std::uint32_t i = 0; i < 10; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 16)));
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 10);  // the sender cannot tell a loss in the network
  CHECK(a->counters().tx_datagrams == 10);

  CHECK(seen == std::vector<std::uint32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  CHECK(senders == std::vector<PeerAddress>(10, config.a));
  auto got = receive_copies(*b, 10);
  REQUIRE(got.size() == 5);
  for (std::uint32_t i = 0; i < 5; ++i) CHECK(sequence_of(got[i].payload) == 2 * i);
  CHECK(b->counters().rx_datagrams == 5);

  // A lost datagram does not use queue room; the hook applies in the other direction too.
  REQUIRE(b->enqueue(a->local_address(), numbered(3, 16)));
  REQUIRE(b->flush().ok());
  CHECK(seen.back() == 3);
  CHECK(senders.back() == config.b);
  CHECK(receive_copies(*a, 1, 16, 0ms).empty());
}

TEST_CASE("memory: views handed out hold their queue slots until the next receive", "[dpdk_io][memory]") {
  MemoryPairConfig config;
  config.capacity = 4;
  auto [a, b] = make_memory_pair(config);
  for (std::uint32_t i = 0; i < 4; ++i) REQUIRE(a->enqueue(b->local_address(), numbered(i, 100)));
  REQUIRE(a->flush().ok());

  std::vector<ReceivedDatagram> out(8);
  auto first = b->receive_burst(out);
  REQUIRE(first.ok());
  REQUIRE(*first == 4);

  // The queue is still full of held slots: the next datagram waits instead of overwriting a view.
  REQUIRE(a->enqueue(b->local_address(), numbered(4, 100)));
  auto blocked = a->flush();
  REQUIRE_FALSE(blocked.ok());
  CHECK(blocked.error() == IoError::would_block);
  for (std::uint32_t i = 0; i < 4; ++i) CHECK(payload_matches(out[i].payload, 100));
  CHECK(sequence_of(out[3].payload) == 3);

  auto second = b->receive_burst(out);  // releases the four, finds nothing new
  REQUIRE(second.ok());
  CHECK(*second == 0);
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 1);
  auto third = b->receive_burst(out);
  REQUIRE(third.ok());
  REQUIRE(*third == 1);
  CHECK(sequence_of(out[0].payload) == 4);
}

TEST_CASE("memory: datagrams to a destroyed peer vanish like datagrams to a closed port",
          "[dpdk_io][memory]") {
  auto [a, b] = make_memory_pair();
  const auto b_address = b->local_address();
  REQUIRE(b->enqueue(a->local_address(), numbered(1, 10)));
  REQUIRE(b->flush().ok());
  b.reset();

  REQUIRE(a->enqueue(b_address, numbered(2, 10)));
  auto flushed = a->flush();
  REQUIRE(flushed.ok());
  CHECK(*flushed == 1);
  CHECK(a->pending_tx() == 0);
  // What the peer sent before it went away is still there.
  auto got = receive_copies(*a, 1);
  REQUIRE(got.size() == 1);
  CHECK(sequence_of(got[0].payload) == 1);
}

}  // namespace hoplink::dio::test
