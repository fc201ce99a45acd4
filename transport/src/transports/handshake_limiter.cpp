#include "transports/handshake_limiter.hpp"

#include <algorithm>

#include "transports/keyed_hash.hpp"

namespace hoplink::transport {
namespace {

// The bytes that name a source network: an IPv4 /24 or an IPv6 /48 (a typical site's allocation).
constexpr std::size_t kIpv4PrefixBytes = 3;
constexpr std::size_t kIpv6PrefixBytes = 6;

}  // namespace

void add_limiter_fields(StatusFields& fields, const HandshakeLimiterCounters& counters) {
  add_field(fields, "ANSWERS_LIMITED", counters.answers_limited);
  add_field(fields, "HANDSHAKES_LIMITED", counters.handshakes_limited);
  add_field(fields, "HANDSHAKES_PREFIX_LIMITED", counters.handshakes_prefix_limited);
}

HandshakeLimiter::HandshakeLimiter(HandshakeLimits limits) : limits_(limits), key_(random_hash_key()) {}

bool HandshakeLimiter::take(Bucket& bucket, double rate, TimePoint now) {
  if (rate <= 0) return true;
  const double burst = std::max(rate, 1.0);  // one second of the rate
  if (bucket.tokens < 0) {
    bucket.tokens = burst;
  } else if (now > bucket.last) {
    const double elapsed = std::chrono::duration<double>(now - bucket.last).count();
    bucket.tokens = std::min(burst, bucket.tokens + elapsed * rate);
  }
  bucket.last = std::max(bucket.last, now);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::size_t HandshakeLimiter::prefix_slot(const PeerAddress& from) const {
  const auto bytes = from.address_bytes();
  const std::size_t length =
      std::min(from.family() == PeerAddress::Family::v4 ? kIpv4PrefixBytes : kIpv6PrefixBytes, bytes.size());
  return static_cast<std::size_t>(
      keyed_hash(key_, bytes.first(length), static_cast<std::uint64_t>(from.family())) % kPrefixSlots);
}

bool HandshakeLimiter::allow_answer(TimePoint now) {
  if (take(answers_, limits_.answers_per_second, now)) return true;
  ++counters_.answers_limited;
  return false;
}

bool HandshakeLimiter::allow_handshake(const PeerAddress& from, TimePoint now) {
  // The prefix's bucket first: a network over its share does not use up the overall rate.
  if (!take(prefixes_[prefix_slot(from)], limits_.handshakes_per_prefix_second, now)) {
    ++counters_.handshakes_prefix_limited;
    return false;
  }
  if (!take(handshakes_, limits_.handshakes_per_second, now)) {
    ++counters_.handshakes_limited;
    return false;
  }
  return true;
}

std::string HandshakeLimiter::report(TimePoint now, Duration every) {
  const auto answers = counters_.answers_limited - reported_.answers_limited;
  const auto overall = counters_.handshakes_limited - reported_.handshakes_limited;
  const auto prefix = counters_.handshakes_prefix_limited - reported_.handshakes_prefix_limited;
  if (answers + overall + prefix == 0) return {};
  if (reported_once_ && now - last_report_ < every) return {};
  const bool first = !reported_once_;
  reported_once_ = true;
  last_report_ = now;
  reported_ = counters_;
  std::string line = "handshake rate limits refused ";
  line += std::to_string(answers) + " answers to unvalidated addresses (--answer-rate), ";
  line += std::to_string(overall) + " handshakes over the overall rate (--handshake-rate) and ";
  line += std::to_string(prefix) + " over the per-prefix rate (--handshake-rate-per-prefix)";
  line += first ? " (first refusal; reported at most every " : " (reported at most every ";
  line += std::to_string(std::chrono::duration_cast<std::chrono::seconds>(every).count()) + " s)";
  return line;
}

}  // namespace hoplink::transport
