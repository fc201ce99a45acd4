// The soak's workers: each runs one link after another, as tor would, through a random client to a random
// bridge, and sorts how each ended.
#include <sys/socket.h>

#include <sstream>

#include "socks_client.hpp"
#include "world.hpp"

namespace hoplink::soak {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kMaxLinksPerWorker = 10'000'000;
constexpr auto kSocksTime = 20s;
// How long the side that did not abandon a link may take to see it end: hoplink's dead-peer timeout (30 s by
// default) and a margin. An abort that is lost on the way, together with whatever would have ended the link
// sooner (a dtls session's close_notify, an sctp stack's answer), leaves only that timeout, by design.
constexpr auto kNoticeTime = 40s;

bool timed_out(const PumpResult& r) {
  return r.error == "deadline passed";
}

bool corrupt(const PumpResult& client_side, const std::optional<PumpResult>& bridge_side) {
  return client_side.mismatch_at || (bridge_side && bridge_side->mismatch_at);
}

}  // namespace

void World::worker(int index) {
  std::mt19937_64 random(config_.seed * 1'000'003 + static_cast<std::uint64_t>(index_ * 1000 + index));
  for (std::uint64_t n = 0; n < kMaxLinksPerWorker && !stopping_; ++n) {
    std::uint64_t seed;
    {
      std::lock_guard lock(mutex_);
      seed = next_seed_++;
    }
    auto plan = random_plan(random, seed, config_.max_link_bytes, config_.abandon_share);
    plan.client = random() % 2 ? 1 : 3;
    plan.bridge = random() % 2 ? 0 : 2;
    if (ports_[plan.client] == 0) plan.client = 4 - plan.client;  // that one is down: the other client
    ++busy_;
    const bool ended_well = run_link(plan);
    --busy_;
    // Links fail at once while a client restarts or tor is away: pause rather than spin through them.
    if (!ended_well) std::this_thread::sleep_for(200ms);
  }
}

bool World::run_link(LinkPlan plan) {
  const auto start = Clock::now();
  plan.deadline = start + link_budget(plan);
  ledger_.expect(plan);
  const itest::Endpoint bridge{"127.0.0.1", ports_[plan.bridge].load()};
  auto socks = itest::socks5_connect(ports_[plan.client], bridge, bridge_args_[plan.bridge / 2],
                                     std::min(plan.deadline, start + kSocksTime));
  PumpResult client_side;
  std::optional<PumpResult> bridge_side;
  std::string error;
  if (!socks.connected()) {
    error = socks.describe();
  } else if (const auto header = itest::PumpHeader{plan.seed, plan.up, plan.down}.serialize();
             itest::send_all(socks.fd.get(), header, plan.deadline) != itest::IoStatus::ok) {
    error = "sending the pump header failed";
  } else {
    const bool abandon = by_client(plan.abandon);
    client_side = itest::duplex_pump(socks.fd.get(), {plan.seed, abandon ? plan.cut_up : plan.up},
                                     {itest::down_seed(plan.seed), abandon ? plan.cut_down : plan.down},
                                     plan.deadline, &cancel_);
    if (abandon && client_side.ok) {
      if (plan.abandon == Abandon::client_reset) {
        linger hard{1, 0};
        ::setsockopt(socks.fd.get(), SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      }
      socks.fd.reset();
      bridge_side = ledger_.wait_report(plan.seed, std::min(plan.deadline, Clock::now() + kNoticeTime));
    } else {
      // A whole link waits for the bridge side to have checked everything before it closes; a failed one
      // gives the bridge side a moment to say what it saw.
      bridge_side = ledger_.wait_report(plan.seed, client_side.ok ? plan.deadline : Clock::now() + 1s);
    }
  }
  const bool reached_tor = ledger_.seen(plan.seed);
  ledger_.forget(plan.seed);
  socks.fd.reset();
  const auto end = Clock::now();
  if (cancel_) return true;  // the run ended under it: neither success nor failure

  Tally tally;
  tally.bytes = client_side.received + (bridge_side ? bridge_side->received : 0);
  bool ended_well = false;
  if (plan.abandon == Abandon::none) {
    ended_well = client_side.ok && bridge_side && bridge_side->ok;
    tally.intact = ended_well;
  } else if (by_client(plan.abandon)) {
    // The bridge side must have seen the link end (or never got it), not waited out its deadline.
    ended_well = client_side.ok && (!reached_tor || (bridge_side && !timed_out(*bridge_side)));
    tally.abandoned = ended_well;
  } else {
    ended_well = bridge_side && bridge_side->ok && error.empty() && !timed_out(client_side);
    tally.abandoned = ended_well;
  }
  if (corrupt(client_side, bridge_side)) {
    tally.corrupt = 1;
    ended_well = false;
  }
  if (!ended_well && !tally.corrupt) {
    if (disturbed(plan, start, end)) {
      tally.disrupted = 1;
    } else {
      tally.unexpected = 1;
    }
  }
  if (tally.corrupt || tally.unexpected) {
    std::ostringstream out;
    out << (tally.corrupt ? "CORRUPT" : "failed") << " link " << plan.seed << " " << peers_[plan.client].name
        << " -> " << peers_[plan.bridge].name << ", " << plan.up << " B up, " << plan.down
        << " B down, abandon: " << to_string(plan.abandon) << ", from " << seconds_since_start(start)
        << " s to " << seconds_since_start(end)
        << " s; client side: " << (error.empty() ? client_side.summary() : error) << "; bridge side: "
        << (bridge_side   ? bridge_side->summary()
            : reached_tor ? "no result"
                          : "never seen");
    out << "; kernel UDP receive-buffer drops since the start: " << udp_receive_drops() - udp_drops_at_start_;
    note_finding(out.str());
  }
  record(tally);
  return ended_well;
}

void World::record(const Tally& tally) {
  std::lock_guard lock(mutex_);
  period_.add(tally);
  total_.add(tally);
}

}  // namespace hoplink::soak
