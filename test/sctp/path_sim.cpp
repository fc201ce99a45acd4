#include "path_sim.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <queue>
#include <random>
#include <vector>

namespace hoplink::sctp::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;

struct InFlight {
  Clock::time_point arrival;
  std::uint64_t order;  // ties keep send order
  bool to_server;
  std::vector<std::byte> bytes;
  bool operator>(const InFlight& o) const {
    return arrival != o.arrival ? arrival > o.arrival : order > o.order;
  }
};

struct Side : AssociationEvents {
  std::unique_ptr<Association> association;
  bool sender = false;
  bool connected = false;
  std::uint64_t received = 0;
  std::vector<std::byte> buffer = std::vector<std::byte>(256 * 1024);

  void on_connected() override {
    connected = true;
    push();
  }
  void on_readable() override { drain(); }
  void on_writable() override { push(); }
  void on_closed(CloseReason) override {}
  void push() {
    while (sender && association && association->send(buffer) == buffer.size()) {
    }
  }
  void drain() {
    while (association) {
      const ReceiveResult r = association->receive(buffer);
      received += r.bytes;
      if (r.bytes == 0) break;
    }
  }
};

class Simulation {
 public:
  Simulation(CongestionControl cc, const PathConfig& path) : path_(path), rng_(path.seed) {
    StackConfig config;
    config.congestion_control = cc;
    config.clock = [this] { return now_; };
    auto created = Stack::create(config, [this](PeerToken to, std::span<const std::byte> p) { send(to, p); });
    if (!created) FAIL("Stack::create: " << created.error());
    stack_ = std::move(created.value());
    client_peer_ = stack_->register_peer(false);
    server_peer_ = stack_->register_peer(false);
    AssociationConfig association;
    association.mtu = path.mtu;
    association.send_buffer = path.buffer;
    association.receive_buffer = path.buffer;
    association.max_window = path.max_window;
    server_.association = nullptr;
    REQUIRE(stack_
                ->listen(association,
                         [this](std::unique_ptr<Association> a) {
                           server_.association = std::move(a);
                           server_.association->set_events(server_);
                         })
                .ok());
    client_.sender = true;
    auto connected = stack_->connect(client_peer_, association, client_);
    REQUIRE(connected.ok());
    client_.association = std::move(connected.value());
    stack_->handle_timers(now_);
  }

  ~Simulation() {
    client_.association.reset();
    server_.association.reset();
    stack_.reset();
  }

  // Runs events until `until` of simulated time.
  void run_until(Clock::time_point until) {
    while (now_ < until) {
      Clock::time_point next = std::min(next_tick_, until);
      if (!wire_.empty()) next = std::min(next, wire_.top().arrival);
      if (const auto release = stack_->next_pacing_release()) next = std::min(next, std::max(*release, now_));
      now_ = std::max(now_, next);
      while (!wire_.empty() && wire_.top().arrival <= now_) {
        InFlight packet = std::move(const_cast<InFlight&>(wire_.top()));
        wire_.pop();
        stack_->receive_packet(packet.to_server ? server_peer_ : client_peer_, packet.bytes);
        spare_.push_back(std::move(packet.bytes));
      }
      stack_->release_paced(now_);  // the paths whose release time has come
      if (now_ >= next_tick_) {
        stack_->handle_timers(now_);
        next_tick_ = now_ + Stack::timer_tick;
      }
      stack_->dispatch_events();
    }
  }

  Clock::time_point now() const { return now_; }
  void start_transfer() { transfer_start_ = now_; }
  Side& client() { return client_; }
  Side& server() { return server_; }
  PathResult result;

 private:
  void send(PeerToken to, std::span<const std::byte> packet) {
    const bool to_server = to == client_peer_;
    if (to_server && ++packets_to_server_ > path_.burst_after &&
        packets_to_server_ <= path_.burst_after + path_.burst_count) {
      ++result.packets_dropped_loss;
      return;
    }
    if (to_server && transfer_start_ && path_.blackout.count() > 0 &&
        now_ >= *transfer_start_ + path_.blackout_start &&
        now_ < *transfer_start_ + path_.blackout_start + path_.blackout) {
      ++result.packets_dropped_loss;
      return;
    }
    if (path_.loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < path_.loss) {
      ++result.packets_dropped_loss;
      return;
    }
    Clock::time_point arrival = now_ + path_.one_way_delay;
    if (to_server) {
      // Drop-tail queue in bytes in front of the bottleneck; a packet leaves when the link is free.
      const auto serialization = microseconds(
          static_cast<std::int64_t>(static_cast<double>(packet.size()) * 8e6 / path_.rate_bits_per_s));
      const Clock::time_point start = std::max(now_, link_free_);
      const double backlog_us =
          static_cast<double>(std::chrono::duration_cast<microseconds>(start - now_).count());
      const double backlog_bytes = backlog_us * path_.rate_bits_per_s / 8e6;
      if (backlog_bytes + static_cast<double>(packet.size()) > static_cast<double>(path_.queue_bytes)) {
        ++result.packets_dropped_queue;
        return;
      }
      queue_delay_sum_ += std::chrono::duration_cast<microseconds>(start - now_);
      ++queued_packets_;
      link_free_ = start + serialization;
      arrival = link_free_ + path_.one_way_delay;
    }
    std::vector<std::byte> bytes;
    if (!spare_.empty()) {
      bytes = std::move(spare_.back());
      spare_.pop_back();
    }
    bytes.assign(packet.begin(), packet.end());
    wire_.push(InFlight{arrival, order_++, to_server, std::move(bytes)});
  }

 public:
  std::chrono::microseconds mean_queue_delay() const {
    if (queued_packets_ == 0) return microseconds(0);
    return microseconds(queue_delay_sum_.count() / static_cast<std::int64_t>(queued_packets_));
  }

 private:
  PathConfig path_;
  std::mt19937_64 rng_;
  Clock::time_point now_ = Clock::time_point{} + std::chrono::hours(1);
  Clock::time_point next_tick_ = now_;
  Clock::time_point link_free_ = now_;
  std::unique_ptr<Stack> stack_;
  PeerToken client_peer_;
  PeerToken server_peer_;
  Side client_;
  Side server_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> wire_;
  std::vector<std::vector<std::byte>> spare_;  // packet buffers to reuse
  std::uint64_t order_ = 0;
  std::uint64_t packets_to_server_ = 0;
  std::optional<Clock::time_point> transfer_start_;  // the blackout counts from here
  microseconds queue_delay_sum_{0};
  std::uint64_t queued_packets_ = 0;
};

}  // namespace

PathResult run_bulk(CongestionControl cc, const PathConfig& path, std::chrono::seconds duration) {
  Simulation sim(cc, path);
  sim.run_until(sim.now() + std::chrono::seconds(2));
  REQUIRE(sim.client().connected);
  REQUIRE(sim.server().association != nullptr);
  const std::uint64_t start_bytes = sim.server().received;
  sim.start_transfer();
  sim.run_until(sim.now() + duration);
  PathResult r = sim.result;
  r.bytes_delivered = sim.server().received - start_bytes;
  r.goodput_bits_per_s = static_cast<double>(r.bytes_delivered) * 8.0 / static_cast<double>(duration.count());
  r.client = sim.client().association->stats();
  r.server = sim.server().association->stats();
  r.mean_queue_delay = sim.mean_queue_delay();
  return r;
}

}  // namespace hoplink::sctp::test
