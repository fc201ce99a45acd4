#include "cc/pacer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

#include "prng.hpp"

namespace hoplink::cc {
namespace {

constexpr std::uint32_t kPacket = 1200;

// A sender with unlimited data that obeys the pacer; returns the send time of each packet.
std::vector<Time> release_times(Pacer& pacer, std::size_t packets) {
  std::vector<Time> times;
  Time now{0};
  while (times.size() < packets) {
    if (pacer.allowance(now) >= kPacket) {
      pacer.on_sent(now, kPacket);
      times.push_back(now);
    } else {
      const Time next = pacer.next_release(now, kPacket);
      REQUIRE(next > now);
      now = next;
    }
  }
  return times;
}

TEST_CASE("1200-byte packets at 25 MB/s leave 48 us apart after the initial burst") {
  Pacer pacer;
  pacer.set_rate(25'000'000, 2 * kPacket, kPacket);
  const auto times = release_times(pacer, 10'000);
  // The bucket starts full: two packets at once.
  CHECK(times[0] == Time(0));
  CHECK(times[1] == Time(0));
  for (std::size_t i = 2; i < times.size(); ++i) {
    INFO("packet " << i);
    REQUIRE(times[i] - times[i - 1] == Time(48));
  }
}

TEST_CASE("a rate that is no whole number of bytes per microsecond is kept over many packets") {
  Pacer pacer;
  const std::uint64_t rate = 3'333'333;  // 360.000036 us per packet
  // Two packets of bucket, BBR's smallest send quantum: a full one-packet bucket would throw away the part of
  // a byte earned in the microsecond that made it full, as any token bucket at its capacity does.
  pacer.set_rate(rate, 2 * kPacket, kPacket);
  const auto times = release_times(pacer, 20'002);
  // The fraction of a byte earned each time is carried over, so the drift stays under 1 us in total.
  const double mean_gap_us = static_cast<double>((times.back() - times[2]).count()) / 19'999.0;
  CHECK(mean_gap_us == Approx(1e6 * kPacket / static_cast<double>(rate)).margin(1e-4));
  for (std::size_t i = 3; i < times.size(); ++i) {
    const auto gap = (times[i] - times[i - 1]).count();
    REQUIRE((gap == 360 || gap == 361));
  }
}

TEST_CASE("a packet is released exactly when it fits, never later") {
  Prng random(7);
  for (int trial = 0; trial < 2000; ++trial) {
    Pacer pacer;
    const std::uint64_t rate = random.between(10'000, 2'000'000'000);
    const std::uint64_t burst = random.between(kPacket, 64 * 1024);
    pacer.set_rate(rate, burst, kPacket);
    Time now{static_cast<std::int64_t>(random.between(0, 1'000'000))};
    // Drain the bucket to a random level, possibly below zero.
    const std::uint64_t available = pacer.allowance(now);
    pacer.on_sent(now, available + random.between(0, kPacket - 1));
    now += Time(static_cast<std::int64_t>(random.between(0, 50)));
    const std::uint64_t bytes = random.between(1, kPacket);
    const Time release = pacer.next_release(now, bytes);
    INFO("rate " << rate << " burst " << burst << " bytes " << bytes);
    REQUIRE(release >= now);
    Pacer at_release = pacer;
    CHECK(at_release.allowance(release) >= bytes);
    if (release > now) {
      Pacer just_before = pacer;
      CHECK(just_before.allowance(release - Time(1)) < bytes);
    }
  }
}

TEST_CASE("the bucket never holds more than the burst, however long the pause") {
  Pacer pacer;
  pacer.set_rate(10'000'000, 10 * kPacket, kPacket);
  CHECK(pacer.allowance(Time(0)) == 10 * kPacket);
  pacer.on_sent(Time(0), 10 * kPacket);
  CHECK(pacer.allowance(Time(0)) == 0);
  CHECK(pacer.allowance(Time(600)) == 6'000);                   // 10 MB/s for 600 us
  CHECK(pacer.allowance(Time(3'600'000'000)) == 10 * kPacket);  // an hour later: one burst
  // A smaller burst (a lower send quantum) trims what was saved.
  pacer.set_rate(10'000'000, 3 * kPacket, kPacket);
  CHECK(pacer.allowance(Time(3'600'000'001)) == 3 * kPacket);
}

TEST_CASE("the burst is never below one packet") {
  Pacer pacer;
  pacer.set_rate(1'000'000, 100, kPacket);
  CHECK(pacer.allowance(Time(0)) == kPacket);
}

TEST_CASE("sending more than the allowance makes the next packet wait for the debt") {
  Pacer pacer;
  pacer.set_rate(1'000'000, kPacket, kPacket);  // 1 byte per microsecond
  pacer.on_sent(Time(0), kPacket);
  CHECK(pacer.allowance(Time(1'000)) == 1'000);
  pacer.on_sent(Time(1'000), kPacket);  // 200 bytes short
  CHECK(pacer.allowance(Time(1'000)) == 0);
  CHECK(pacer.next_release(Time(1'000), kPacket) == Time(1'000 + 200 + 1'200));
}

TEST_CASE("rate zero is unpaced") {
  Pacer pacer;
  pacer.set_rate(0, 0, kPacket);
  CHECK(pacer.allowance(Time(5)) == std::numeric_limits<std::uint64_t>::max());
  pacer.on_sent(Time(5), 1'000'000);
  CHECK(pacer.next_release(Time(5), kPacket) == Time(5));
  CHECK(pacer.rate() == 0);
}

}  // namespace
}  // namespace hoplink::cc
