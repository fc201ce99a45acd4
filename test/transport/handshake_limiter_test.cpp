// HandshakeLimiter on a hand-driven clock: buckets hold one second of their rate and refill with time,
// prefixes are /24 and /48, and its log line comes at once and then at most every 10 s.
#include "transports/handshake_limiter.hpp"

#include <catch2/catch.hpp>

using namespace hoplink;
using namespace hoplink::transport;
using namespace std::chrono_literals;

namespace {

PeerAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  return PeerAddress::v4({a, b, c, d}, 4000);
}

int admitted(HandshakeLimiter& limiter, const PeerAddress& from, TimePoint now, int tries) {
  int n = 0;
  for (int i = 0; i < tries; ++i) n += limiter.allow_handshake(from, now) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("handshake limiter: a prefix gets one second of its rate at once and then its rate") {
  HandshakeLimiter limiter(
      {.answers_per_second = 0, .handshakes_per_second = 0, .handshakes_per_prefix_second = 10});
  const TimePoint t0{};
  CHECK(admitted(limiter, v4(192, 0, 2, 1), t0, 25) == 10);
  CHECK(limiter.counters().handshakes_prefix_limited == 15);
  // Another address of the same /24 shares the bucket; another /24 has its own.
  CHECK(admitted(limiter, v4(192, 0, 2, 200), t0, 5) == 0);
  CHECK(admitted(limiter, v4(192, 0, 3, 1), t0, 5) == 5);
  // 0.5 s later: five more for the first /24, never more than the bucket holds.
  CHECK(admitted(limiter, v4(192, 0, 2, 1), t0 + 500ms, 20) == 5);
  CHECK(admitted(limiter, v4(192, 0, 2, 1), t0 + 100s, 20) == 10);
  CHECK(limiter.counters().handshakes_limited == 0);
}

TEST_CASE("handshake limiter: IPv6 prefixes are /48") {
  HandshakeLimiter limiter(
      {.answers_per_second = 0, .handshakes_per_second = 0, .handshakes_per_prefix_second = 2});
  auto v6 = [](std::uint8_t sixth, std::uint8_t last) {
    return PeerAddress::v6({0x20, 0x01, 0x0d, 0xb8, 0, sixth, 0, 0, 0, 0, 0, 0, 0, 0, 0, last}, 443);
  };
  const TimePoint t0{};
  CHECK(admitted(limiter, v6(1, 1), t0, 2) == 2);
  CHECK(admitted(limiter, v6(1, 2), t0, 2) == 0);  // same /48
  CHECK(admitted(limiter, v6(2, 1), t0, 2) == 2);  // the next /48
}

TEST_CASE("handshake limiter: the overall rate holds across prefixes and is not spent by refused prefixes") {
  HandshakeLimiter limiter(
      {.answers_per_second = 0, .handshakes_per_second = 5, .handshakes_per_prefix_second = 2});
  const TimePoint t0{};
  CHECK(admitted(limiter, v4(10, 0, 0, 1), t0, 10) == 2);  // 8 refused by the prefix: overall keeps 3
  CHECK(admitted(limiter, v4(10, 0, 1, 1), t0, 10) == 2);
  CHECK(admitted(limiter, v4(10, 0, 2, 1), t0, 10) == 1);
  CHECK(limiter.counters().handshakes_limited == 1);
  CHECK(limiter.counters().handshakes_prefix_limited == 8 + 8 + 8);
}

TEST_CASE("handshake limiter: 0 is no limit and answers have their own overall bucket") {
  HandshakeLimiter off(
      {.answers_per_second = 0, .handshakes_per_second = 0, .handshakes_per_prefix_second = 0});
  CHECK(admitted(off, v4(10, 0, 0, 1), TimePoint{}, 100000) == 100000);
  HandshakeLimiter answers(
      {.answers_per_second = 3, .handshakes_per_second = 0, .handshakes_per_prefix_second = 0});
  int n = 0;
  for (int i = 0; i < 10; ++i) n += answers.allow_answer(TimePoint{}) ? 1 : 0;
  CHECK(n == 3);
  CHECK(answers.counters().answers_limited == 7);
  CHECK(admitted(answers, v4(10, 0, 0, 1), TimePoint{}, 10) == 10);
}

TEST_CASE("handshake limiter: the log line comes at the first refusal and then at most every 10 s") {
  HandshakeLimiter limiter(
      {.answers_per_second = 1, .handshakes_per_second = 0, .handshakes_per_prefix_second = 0});
  const TimePoint t0{};
  CHECK(limiter.report(t0).empty());  // nothing refused yet
  limiter.allow_answer(t0);
  limiter.allow_answer(t0);
  const auto first = limiter.report(t0);
  CHECK(first.find("refused 1 answers") != std::string::npos);
  limiter.allow_answer(t0 + 1ms);
  CHECK(limiter.report(t0 + 5s).empty());
  const auto later = limiter.report(t0 + 10s);
  CHECK(later.find("refused 1 answers") != std::string::npos);  // the refusals since the last line
  CHECK(limiter.report(t0 + 30s).empty());                      // none since
}
