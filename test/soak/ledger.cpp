#include "ledger.hpp"

#include <algorithm>
#include <cmath>

namespace hoplink::soak {

std::string to_string(Abandon abandon) {
  switch (abandon) {
    case Abandon::none:
      return "none";
    case Abandon::client_reset:
      return "client reset";
    case Abandon::client_close:
      return "client close";
    case Abandon::bridge_reset:
      return "bridge reset";
    case Abandon::bridge_close:
      return "bridge close";
  }
  return "?";
}

namespace {

std::uint64_t random_size(std::mt19937_64& random, std::uint64_t max_bytes) {
  if (std::uniform_real_distribution<double>(0, 1)(random) < 0.05) return 0;
  const double log_max = std::log(static_cast<double>(std::max<std::uint64_t>(max_bytes, 2)));
  return static_cast<std::uint64_t>(std::exp(std::uniform_real_distribution<double>(0, log_max)(random)));
}

}  // namespace

LinkPlan random_plan(std::mt19937_64& random, std::uint64_t seed, std::uint64_t max_bytes,
                     double abandon_share) {
  LinkPlan plan;
  plan.seed = seed;
  plan.up = random_size(random, max_bytes);
  plan.down = random_size(random, max_bytes);
  if (std::uniform_real_distribution<double>(0, 1)(random) < abandon_share) {
    plan.abandon = static_cast<Abandon>(std::uniform_int_distribution<int>(1, 4)(random));
    // Somewhere in the middle, so that bytes are in flight both ways when it happens.
    const double at = std::uniform_real_distribution<double>(0.1, 0.9)(random);
    plan.cut_up = static_cast<std::uint64_t>(static_cast<double>(plan.up) * at);
    plan.cut_down = static_cast<std::uint64_t>(static_cast<double>(plan.down) * at);
  }
  return plan;
}

std::chrono::milliseconds link_budget(const LinkPlan& plan) {
  // 60 s, plus 10 s per MB carried: a few hundred kB/s per link when ~100 share two busy cores.
  return std::chrono::milliseconds(60'000 + (plan.up + plan.down) / 100);
}

void Ledger::expect(const LinkPlan& plan) {
  std::lock_guard lock(mutex_);
  entries_[plan.seed] = Entry{plan, std::nullopt};
}

std::optional<LinkPlan> Ledger::plan(std::uint64_t seed) const {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(seed);
  if (found == entries_.end()) return std::nullopt;
  return found->second.plan;
}

void Ledger::mark_seen(std::uint64_t seed) {
  std::lock_guard lock(mutex_);
  if (const auto found = entries_.find(seed); found != entries_.end()) found->second.seen = true;
}

bool Ledger::seen(std::uint64_t seed) const {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(seed);
  return found != entries_.end() && found->second.seen;
}

void Ledger::report(std::uint64_t seed, const PumpResult& bridge_side) {
  std::lock_guard lock(mutex_);
  const auto found = entries_.find(seed);
  if (found == entries_.end()) return;
  found->second.bridge_side = bridge_side;
  changed_.notify_all();
}

std::optional<PumpResult> Ledger::wait_report(std::uint64_t seed, Deadline deadline) const {
  std::unique_lock lock(mutex_);
  std::optional<PumpResult> result;
  changed_.wait_until(lock, deadline, [&] {
    const auto found = entries_.find(seed);
    if (found != entries_.end()) result = found->second.bridge_side;
    return result.has_value();
  });
  return result;
}

void Ledger::forget(std::uint64_t seed) {
  std::lock_guard lock(mutex_);
  entries_.erase(seed);
}

std::size_t Ledger::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace hoplink::soak
