#include "udp_relay.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace hoplink::itest {
namespace {

// The relay must not lose datagrams by itself when the machine is busy: large socket buffers (capped by
// net.core.rmem_max / wmem_max without privileges).
void enlarge_buffers(int fd) {
  int bytes = 8 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
}

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

void UdpRelay::forward(int fd, const Endpoint& to, std::vector<std::uint8_t> bytes, bool to_bridge) {
  auto chance = [this](double p) {
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    return p > 0 && static_cast<double>(rng_ % 1000000) < p * 1e6;
  };
  std::vector<Held> release;
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
      ++stats_.dropped;
      return;
    }
    release.swap(held_);  // anything held back goes after this datagram
    if (chance(impairment_.reorder)) {
      ++stats_.reordered;
      held_.push_back({fd, to, std::move(bytes)});
      bytes.clear();
    } else if (chance(impairment_.duplicate)) {
      ++stats_.duplicated;
      try_send_datagram(fd, to, bytes);
    }
  }
  if (!bytes.empty() && !try_send_datagram(fd, to, bytes)) {
    std::lock_guard lock(mutex_);
    ++stats_.dropped;
  }
  for (auto& h : release) try_send_datagram(h.fd, h.to, h.bytes);
}

void UdpRelay::run() {
  for (;;) {
    std::vector<pollfd> fds{{stop_.get(), POLLIN, 0}, {front_.get(), POLLIN, 0}};
    for (const auto& [port, fd] : upstream_) fds.push_back({fd.get(), POLLIN, 0});
    int n = ::poll(fds.data(), fds.size(), 10);
    if (n < 0) continue;
    if (fds[0].revents) return;
    if (n == 0) {  // quiet: let held datagrams go
      std::vector<Held> release;
      {
        std::lock_guard lock(mutex_);
        release.swap(held_);
      }
      for (auto& h : release) try_send_datagram(h.fd, h.to, h.bytes);
      continue;
    }
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
  }
}

}  // namespace hoplink::itest
