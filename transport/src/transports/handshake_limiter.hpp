// Rate limits that keep a bridge useful under a flood of handshakes (sans-I/O: the caller passes the time).
//
// Two stages, because the two kinds of packet cost different things and can be forged differently:
// - answers to addresses nobody has validated (sctp's INIT ACK, dtls's HelloVerifyRequest): cheap, stateless
//   and never larger than what they answer, but their source can be forged. Only an overall rate can cap
//   them (a per-prefix cap would let a forger lock out the prefix of its choice), and a flood above that cap
//   takes every answer, real clients' too. So there is no cap by default, as the kernel answers every SYN
//   with a SYN cookie; an operator short of CPU may set one;
// - handshakes from addresses that proved they receive our packets (a valid COOKIE ECHO, a ClientHello with
//   a valid cookie): these create state and cost CPU (DTLS signs), and their source is real, so they are
//   capped overall and per source prefix (an IPv4 /24, an IPv6 /48), so that one network cannot take the
//   whole rate.
// Token buckets that hold one second of their rate. The per-prefix buckets live in a fixed table indexed by
// a keyed hash of the prefix: memory does not grow with the number of sources, and prefixes that share a slot
// share a bucket (a forger cannot aim at a slot: the key is secret).
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "common/peer_address.hpp"
#include "runtime/runtime.hpp"
#include "runtime/status_fields.hpp"

namespace hoplink::transport {

struct HandshakeLimits {
  double answers_per_second = 0;              // answers to unvalidated addresses, overall; 0: no limit
  double handshakes_per_second = 1000;        // validated handshakes, overall; 0: no limit
  double handshakes_per_prefix_second = 100;  // validated handshakes per source prefix; 0: no limit
};

struct HandshakeLimiterCounters {
  std::uint64_t answers_limited = 0;
  std::uint64_t handshakes_limited = 0;         // over the overall rate
  std::uint64_t handshakes_prefix_limited = 0;  // over the per-prefix rate
};

// ANSWERS_LIMITED, HANDSHAKES_LIMITED, HANDSHAKES_PREFIX_LIMITED.
void add_limiter_fields(StatusFields& fields, const HandshakeLimiterCounters& counters);

class HandshakeLimiter {
 public:
  explicit HandshakeLimiter(HandshakeLimits limits);

  // May an address nobody validated get an answer now? Counts a refusal.
  bool allow_answer(TimePoint now);
  // May a validated handshake from `from` go on now? Counts a refusal.
  bool allow_handshake(const PeerAddress& from, TimePoint now);

  const HandshakeLimiterCounters& counters() const { return counters_; }
  // A line for the log when something was refused since the last call and at least `every` has passed since
  // the last line it returned; empty otherwise. The first refusal is reported at once.
  std::string report(TimePoint now, Duration every = std::chrono::seconds(10));

  static constexpr std::size_t kPrefixSlots = 4096;

 private:
  struct Bucket {
    double tokens = -1;  // < 0: never used (starts full)
    TimePoint last{};
  };
  static bool take(Bucket& bucket, double rate, TimePoint now);
  std::size_t prefix_slot(const PeerAddress& from) const;

  HandshakeLimits limits_;
  std::uint64_t key_;
  Bucket answers_;
  Bucket handshakes_;
  std::array<Bucket, kPrefixSlots> prefixes_{};
  HandshakeLimiterCounters counters_;
  HandshakeLimiterCounters reported_;
  TimePoint last_report_{};
  bool reported_once_ = false;
};

}  // namespace hoplink::transport
