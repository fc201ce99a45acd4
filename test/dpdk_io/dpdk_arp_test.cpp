// The ARP table with time passed in: resolution, retries, failure, refresh, the bounded pending queue.
#include "dpdk_arp.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

namespace hoplink::dio::detail {
namespace {

using namespace std::chrono_literals;

const Ipv4Address kNeighbour{10, 0, 0, 9};
const MacAddress kMac{0x02, 0, 0, 0, 0, 0x09};

ArpTableConfig config() {
  ArpTableConfig config;
  config.retry_interval = 100ms;
  config.max_requests = 3;
  config.ttl = 10s;
  config.pending_limit = 3;
  config.max_entries = 2;
  return config;
}

void* packet(std::uintptr_t n) {
  return reinterpret_cast<void*>(n);
}

// lookup() for tests that do not expect a refresh to start.
std::optional<MacAddress> lookup(ArpTable& table, const Ipv4Address& ip, ArpClock::time_point now) {
  bool refresh = false;
  auto mac = table.lookup(ip, now, refresh);
  CHECK_FALSE(refresh);
  return mac;
}

}  // namespace

TEST_CASE("ARP table: park, one request, learn releases in order", "[dpdk_io][dpdk][arp]") {
  ArpTable table(config());
  const ArpClock::time_point t0{};
  CHECK_FALSE(lookup(table, kNeighbour, t0));
  CHECK(table.park(kNeighbour, packet(1), t0) == ArpTable::Parked::send_request);
  CHECK(table.park(kNeighbour, packet(2), t0) == ArpTable::Parked::waiting);
  CHECK(table.next_deadline() == t0 + 100ms);

  std::vector<void*> released;
  table.learn(kNeighbour, kMac, t0 + 5ms, [&](void* p, const MacAddress& mac) {
    CHECK(mac == kMac);
    released.push_back(p);
  });
  CHECK(released == std::vector<void*>{packet(1), packet(2)});
  CHECK(table.parked_count() == 0);
  CHECK(lookup(table, kNeighbour, t0 + 5ms) == kMac);
  CHECK_FALSE(table.next_deadline());
}

TEST_CASE("ARP table: retries at the interval, then fails and drops", "[dpdk_io][dpdk][arp]") {
  ArpTable table(config());
  const ArpClock::time_point t0{};
  REQUIRE(table.park(kNeighbour, packet(1), t0) == ArpTable::Parked::send_request);
  REQUIRE(table.park(kNeighbour, packet(2), t0) == ArpTable::Parked::waiting);
  std::vector<Ipv4Address> requests;
  std::vector<void*> dropped;
  auto poll = [&](ArpClock::time_point now) {
    return table.poll(
        now, [&](const Ipv4Address& ip) { requests.push_back(ip); }, [&](void* p) { dropped.push_back(p); });
  };
  CHECK(poll(t0 + 99ms) == 0);
  CHECK(requests.empty());
  CHECK(poll(t0 + 100ms) == 0);
  CHECK(requests.size() == 1);  // the second request (the first was the caller's)
  CHECK(poll(t0 + 150ms) == 0);
  CHECK(poll(t0 + 200ms) == 0);
  CHECK(requests.size() == 2);
  CHECK(dropped.empty());
  CHECK(poll(t0 + 300ms) == 1);
  CHECK(requests.size() == 2);
  CHECK(dropped == std::vector<void*>{packet(1), packet(2)});
  CHECK(table.entry_count() == 0);
  // A later packet starts a new resolution.
  CHECK(table.park(kNeighbour, packet(3), t0 + 1s) == ArpTable::Parked::send_request);
}

TEST_CASE("ARP table: an entry older than the TTL is refreshed while still used", "[dpdk_io][dpdk][arp]") {
  ArpTable table(config());
  const ArpClock::time_point t0{};
  table.learn(kNeighbour, kMac, t0, [](void*, const MacAddress&) { FAIL("nothing was parked"); });
  CHECK(lookup(table, kNeighbour, t0 + 10s - 1ms) == kMac);
  bool refresh = false;
  CHECK(table.lookup(kNeighbour, t0 + 10s, refresh) == kMac);
  CHECK(refresh);                                            // the caller sends the first request
  CHECK(lookup(table, kNeighbour, t0 + 10s + 1ms) == kMac);  // one refresh at a time
  CHECK(table.next_deadline() == t0 + 10s + 100ms);

  std::vector<Ipv4Address> requests;
  auto poll = [&](ArpClock::time_point now) {
    return table.poll(
        now, [&](const Ipv4Address& ip) { requests.push_back(ip); },
        [](void*) { FAIL("nothing was parked"); });
  };
  SECTION("an answer renews it") {
    CHECK(poll(t0 + 10s + 100ms) == 0);
    CHECK(requests.size() == 1);
    const MacAddress moved{0x02, 0, 0, 0, 0, 0x42};
    table.learn(kNeighbour, moved, t0 + 10s + 150ms, [](void*, const MacAddress&) {});
    CHECK_FALSE(table.next_deadline());
    CHECK(lookup(table, kNeighbour, t0 + 20s) == moved);
  }
  SECTION("no answer: forgotten after the last request") {
    CHECK(poll(t0 + 10s + 100ms) == 0);
    CHECK(poll(t0 + 10s + 200ms) == 0);
    CHECK(requests.size() == 2);
    CHECK(lookup(table, kNeighbour, t0 + 10s + 250ms) == kMac);
    CHECK(poll(t0 + 10s + 300ms) == 1);
    CHECK(table.entry_count() == 0);
    CHECK_FALSE(lookup(table, kNeighbour, t0 + 10s + 300ms));
    CHECK(table.park(kNeighbour, packet(1), t0 + 11s) == ArpTable::Parked::send_request);
  }
}

TEST_CASE("ARP table: contains() tells which neighbours RFC 826 may update", "[dpdk_io][dpdk][arp]") {
  ArpTable table(config());
  const ArpClock::time_point t0{};
  CHECK_FALSE(table.contains(kNeighbour));
  REQUIRE(table.park(kNeighbour, packet(1), t0) == ArpTable::Parked::send_request);
  CHECK(table.contains(kNeighbour));
  CHECK_FALSE(table.contains({10, 0, 0, 10}));
}

TEST_CASE("ARP table: the pending queue and the table are bounded", "[dpdk_io][dpdk][arp]") {
  ArpTable table(config());
  const ArpClock::time_point t0{};
  CHECK(table.park(kNeighbour, packet(1), t0) == ArpTable::Parked::send_request);
  CHECK(table.park(kNeighbour, packet(2), t0) == ArpTable::Parked::waiting);
  CHECK(table.park({10, 0, 0, 10}, packet(3), t0) == ArpTable::Parked::send_request);
  CHECK(table.park(kNeighbour, packet(4), t0) == ArpTable::Parked::full);
  CHECK(table.parked_count() == 3);

  // Two entries, both resolving: a third address cannot get one even with queue room.
  std::vector<void*> released;
  table.learn({10, 0, 0, 10}, kMac, t0, [&](void* p, const MacAddress&) { released.push_back(p); });
  CHECK(released == std::vector<void*>{packet(3)});
  CHECK(table.park({10, 0, 0, 11}, packet(5), t0 + 1ms) == ArpTable::Parked::send_request);  // evicted .10
  CHECK_FALSE(lookup(table, {10, 0, 0, 10}, t0 + 1ms));
  CHECK(table.park({10, 0, 0, 12}, packet(6), t0 + 1ms) == ArpTable::Parked::full);
  std::vector<void*> dropped;
  table.clear([&](void* p) { dropped.push_back(p); });
  CHECK(dropped.size() == 3);
}

}  // namespace hoplink::dio::detail
