// Stack::next_timer_deadline(): driven only at its deadlines (as SctpHost drives it), a Stack runs every
// timer on time and sleeps when nothing is pending, instead of waking every timer_tick.
#include <algorithm>
#include <catch2/catch.hpp>

#include "harness.hpp"

using namespace std::chrono_literals;

namespace hoplink::sctp::test {
namespace {

// Pumps once at the Stack's next deadline (at least timer_tick on, as SctpHost batches them); false when
// nothing is pending.
bool pump_to_deadline(Harness& h) {
  const auto due = h.stack().next_timer_deadline();
  if (!due) return false;
  const auto wait = std::chrono::ceil<std::chrono::milliseconds>(*due - h.now());
  h.pump(std::max<std::chrono::milliseconds>(wait, Stack::timer_tick));
  return true;
}

TEST_CASE("timer deadline: a dead peer found on time with a wake-up per timer and not per tick",
          "[sctp][timers]") {
  auto& h = Harness::instance();
  AssociationConfig config;
  config.dead_peer_timeout = 10s;
  config.heartbeat_interval = 1s;
  Pair p = open_pair(h, config);
  p.client->to_send = 256 * 1024;
  p.client->push();
  REQUIRE(h.run_until([&] { return p.server->received == 256 * 1024; }, 5s));
  p.client->to_send += 1024 * 1024;
  p.client->push();
  const Clock::time_point died = h.now();
  h.impair = [](bool, Packet&) { return Verdict::drop; };
  int wakeups = 0;
  while (!p.client->closed && h.now() - died < 20s && wakeups < 10'000) {
    REQUIRE(pump_to_deadline(h));  // retransmissions and the watchdog are pending all along
    ++wakeups;
  }
  REQUIRE(p.client->closed.has_value());
  CHECK(*p.client->closed == CloseReason::peer_unreachable);
  const auto after = h.now() - died;
  CHECK(after >= 10s - 1s);
  CHECK(after <= 10s + 1s);
  INFO(wakeups << " wake-ups in " << std::chrono::duration_cast<std::chrono::milliseconds>(after).count()
               << " ms");
  // A 10 ms tick would have woken about 1,000 times; retransmissions back off, heartbeats come each second.
  CHECK(wakeups < 200);
}

TEST_CASE("timer deadline: once every association is gone only the listener's hourly timer is left",
          "[sctp][timers]") {
  auto& h = Harness::instance();
  {
    Pair p = open_pair(h, {});
    p.client->to_send = 64 * 1024;
    p.client->push();
    REQUIRE(h.run_until([&] { return p.server->received == 64 * 1024; }, 5s));
    p.client->association->shutdown();
    REQUIRE(h.run_until([&] { return p.client->closed.has_value() && p.server->closed.has_value(); }, 5s));
  }
  h.accepted.clear();
  // usrsctp frees the closed associations and sockets on its own timers. What stays is the listening
  // endpoint's change of cookie secret, once an hour (usrsctp's NEWCOOKIE timer): an idle bridge sleeps.
  int wakeups = 0;
  const auto soon = [&h] {
    const auto due = h.stack().next_timer_deadline();
    return due && *due - h.now() < 10min;
  };
  while (soon() && wakeups < 1'000) {
    REQUIRE(pump_to_deadline(h));
    ++wakeups;
  }
  INFO(wakeups << " wake-ups to settle");
  CHECK_FALSE(h.stack().has_associations());
  CHECK(wakeups < 100);
  const auto due = h.stack().next_timer_deadline();
  REQUIRE(due.has_value());
  CHECK(*due - h.now() > 50min);
  CHECK(*due - h.now() <= 60min);
}

}  // namespace
}  // namespace hoplink::sctp::test
