// What each soak link is meant to do, shared by its two ends in this process: the client worker writes the
// plan before it connects, the fake Extended ORPort looks it up by the seed in the pump header, and hands its
// side's result back the same way. Thread-safe; entries live only while the client worker waits for them, so
// the ledger stays as small as the number of links in flight.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "byte_stream.hpp"
#include "net.hpp"

namespace hoplink::soak {

using itest::Clock;
using itest::Deadline;
using itest::PumpResult;

// Who ends the link early, and how: a reset (SO_LINGER 0, as a crashed tor) or a plain close.
enum class Abandon { none, client_reset, client_close, bridge_reset, bridge_close };
std::string to_string(Abandon abandon);
inline bool by_client(Abandon a) {
  return a == Abandon::client_reset || a == Abandon::client_close;
}
inline bool by_bridge(Abandon a) {
  return a == Abandon::bridge_reset || a == Abandon::bridge_close;
}

struct LinkPlan {
  std::uint64_t seed = 0;
  std::uint64_t up = 0;    // client to bridge
  std::uint64_t down = 0;  // bridge to client
  Abandon abandon = Abandon::none;
  // The abandoning side stops after this many bytes of each direction (the ones it sends and the ones it
  // checks), then resets or closes.
  std::uint64_t cut_up = 0;
  std::uint64_t cut_down = 0;
  int client = 0;  // which client process carries it (World's index)
  int bridge = 0;  // which bridge it goes to
  Deadline deadline{};
};

// Sizes are log-uniform from 1 byte to `max_bytes` (most links small, a few large, as tor's are), sometimes
// empty one way; `abandon_share` of the links are abandoned at a random point.
LinkPlan random_plan(std::mt19937_64& random, std::uint64_t seed, std::uint64_t max_bytes,
                     double abandon_share);

// The time a link of this plan gets: generous, because a loaded box with many processes is slow, but finite.
std::chrono::milliseconds link_budget(const LinkPlan& plan);

class Ledger {
 public:
  void expect(const LinkPlan& plan);
  std::optional<LinkPlan> plan(std::uint64_t seed) const;
  // The bridge side has read the link's header: the link reached tor.
  void mark_seen(std::uint64_t seed);
  bool seen(std::uint64_t seed) const;
  // The bridge side's result; ignored when the client side already gave up on the seed.
  void report(std::uint64_t seed, const PumpResult& bridge_side);
  std::optional<PumpResult> wait_report(std::uint64_t seed, Deadline deadline) const;
  void forget(std::uint64_t seed);
  std::size_t size() const;

 private:
  struct Entry {
    LinkPlan plan;
    std::optional<PumpResult> bridge_side;
    bool seen = false;
  };
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::map<std::uint64_t, Entry> entries_;
};

}  // namespace hoplink::soak
