#include "udp_relay.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iterator>

namespace hoplink::itest {
namespace {

// The relay must not lose datagrams by itself when the machine is busy: large socket buffers (capped by
// net.core.rmem_max / wmem_max without privileges).
void enlarge_buffers(int fd) {
  int bytes = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

// How long a datagram held back for reordering waits for a later one of its flow before it goes anyway.
constexpr std::chrono::milliseconds kMaxHold{10};

}  // namespace

UdpRelay::UdpRelay(Endpoint bridge, RelayImpairment impairment)
    : bridge_(std::move(bridge)),
      impairment_(impairment),
      front_(udp_bind()),
      stop_(::eventfd(0, EFD_CLOEXEC)),
      rng_(impairment.seed * 0x9e3779b97f4a7c15ull + 1) {
  enlarge_buffers(front_.get());
  thread_ = std::thread([this] { run(); });
}

UdpRelay::~UdpRelay() {
  std::uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  thread_.join();
}

RelayStats UdpRelay::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

bool UdpRelay::send(int fd, const Endpoint& to, const std::vector<std::uint8_t>& bytes) {
  if (try_send_datagram(fd, to, bytes)) return true;
  std::lock_guard lock(mutex_);
  ++stats_.send_failures;
  return false;
}

void UdpRelay::release_held(const std::function<bool(const Held&)>& which, bool overtaken) {
  const auto kept_end =
      std::stable_partition(held_.begin(), held_.end(), [&](const Held& h) { return !which(h); });
  std::vector<Held> release(std::make_move_iterator(kept_end), std::make_move_iterator(held_.end()));
  held_.erase(kept_end, held_.end());
  for (const auto& h : release) {
    if (send(h.fd, h.to, h.bytes) && overtaken) {
      std::lock_guard lock(mutex_);
      ++stats_.reordered;
    }
  }
}

void UdpRelay::forward(int fd, const Endpoint& to, std::vector<std::uint8_t> bytes, bool to_bridge) {
  auto chance = [this](double p) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return p > 0 && static_cast<double>(rng_ % 1000000) < p * 1e6;
  };
  {
    std::lock_guard lock(mutex_);
    if (to_bridge) {
      ++stats_.to_bridge;
      stats_.max_to_bridge = std::max(stats_.max_to_bridge, bytes.size());
    } else {
      ++stats_.to_client;
      stats_.max_to_client = std::max(stats_.max_to_client, bytes.size());
    }
    std::uint64_t seen = to_bridge ? stats_.to_bridge : stats_.to_client;
    std::uint64_t burst = to_bridge ? impairment_.burst_to_bridge : impairment_.burst_to_client;
    bool in_burst = seen > impairment_.burst_after && seen <= impairment_.burst_after + burst;
    if (in_burst && impairment_.burst_duration.count() > 0) {
      auto& started = burst_started_[to_bridge ? 1 : 0];
      const auto now = std::chrono::steady_clock::now();
      if (!started) started = now;
      in_burst = now - *started < impairment_.burst_duration;
    }
    if (in_burst || chance(impairment_.drop)) {
      ++(to_bridge ? stats_.dropped_to_bridge : stats_.dropped_to_client);
      return;
    }
  }
  auto same_flow = [&](const Held& h) { return h.fd == fd && h.to == to; };
  if (chance(impairment_.reorder)) {
    release_held(same_flow, false);  // one held before goes now, with nothing sent in between
    held_.push_back({fd, to, std::move(bytes), std::chrono::steady_clock::now()});
    return;
  }
  const bool duplicate = chance(impairment_.duplicate);
  const bool sent = send(fd, to, bytes);
  if (sent && duplicate && send(fd, to, bytes)) {
    std::lock_guard lock(mutex_);
    ++stats_.duplicated;
  }
  release_held(same_flow, sent);  // anything held back in this flow goes after this datagram
}

void UdpRelay::run() {
  for (;;) {
    std::vector<pollfd> fds{{stop_.get(), POLLIN, 0}, {front_.get(), POLLIN, 0}};
    for (const auto& [port, fd] : upstream_) fds.push_back({fd.get(), POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(kMaxHold.count()));
    if (n < 0) continue;
    if (fds[0].revents) return;
    if (fds[1].revents) {
      Endpoint from;
      while (auto d = recv_datagram(front_.get(), Clock::now(), &from)) {
        auto it = upstream_.find(from.port);
        if (it == upstream_.end()) {
          it = upstream_.emplace(from.port, udp_bind()).first;
          enlarge_buffers(it->second.get());
          client_of_[it->second.get()] = from;
        }
        forward(it->second.get(), bridge_, std::move(*d), true);
      }
    }
    for (std::size_t i = 2; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      while (auto d = recv_datagram(fds[i].fd, Clock::now())) {
        forward(front_.get(), client_of_[fds[i].fd], std::move(*d), false);
      }
    }
    const auto now = std::chrono::steady_clock::now();
    release_held([&](const Held& h) { return now - h.since >= kMaxHold; }, false);  // nothing overtook these
  }
}

}  // namespace hoplink::itest
