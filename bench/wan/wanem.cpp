// wanem: a user-space path emulator between two TUN devices, for paths the kernel here cannot emulate (no
// netem). Every IP packet read from one TUN is written to the other after the impairments of its direction.
//
//   wanem --tun-a NAME [--ns-a NETNS] --tun-b NAME [--ns-b NETNS] [impairments] [--seed N] [--stats-json F]
//
// Direction "ab" carries packets read from tun A to tun B, "ba" the reverse. Each impairment option sets both
// directions; with an `ab-` or `ba-` prefix (`--ab-loss 0.01`) it sets one. Per direction, in this order:
//   --loss P                  random loss (Bernoulli)
//   --ge-p P --ge-r R         Gilbert-Elliott burst loss: good->bad with P, bad->good with R per packet,
//   --ge-bad-loss H           loss H in the bad state (default 1) and
//   --ge-good-loss K          K in the good state (default 0)
//   --rate-mbit R             bottleneck: serialization at R Mbit/s behind a drop-tail queue of
//   --queue-bytes B           B bytes (default 1 MB); queueing delay is real
//   --delay-ms D              one-way propagation delay
//   --jitter-ms J             ± J ms uniform, or normal with sigma J (--jitter-dist normal); delivery order
//   --jitter-dist uniform|normal   is kept: jitter alone never reorders
//   --reorder P               a packet gets --reorder-ms extra delay (default 10) with probability P, so the
//   --reorder-ms E            packets behind it overtake it
//   --duplicate P             a second copy is delivered with probability P
// The delay line holds at most --max-held-mb MB (default 256) per direction; more is dropped and counted.
//
// wanem creates each TUN inside NETNS (a name under /run/netns, as `ip netns add` makes) when given, then
// prints `READY` on stdout; the caller gives the devices addresses and brings them up. The devices vanish
// when wanem exits. SIGTERM/SIGINT: counters to stdout (one `WANEM dir k=v ...` line per direction, and the
// JSON file if asked), then exit 0. SIGUSR1 prints (and writes) the counters without exiting.
//
// One thread, epoll over the two TUNs, a timerfd armed at the earliest due packet (CLOCK_MONOTONIC, µs).

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using Micros = std::int64_t;  // CLOCK_MONOTONIC in microseconds

constexpr std::size_t kMaxPacket = 65536;
constexpr int kReadBurst = 64;  // packets read from one TUN per wake-up, so the other side is not starved

Micros now_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

struct Impairments {
  double loss = 0;
  double ge_p = 0, ge_r = 1, ge_bad_loss = 1, ge_good_loss = 0;
  double rate_mbit = 0;  // 0: no bottleneck
  std::uint64_t queue_bytes = 1'000'000;
  double delay_ms = 0;
  double jitter_ms = 0;
  bool jitter_normal = false;
  double reorder = 0;
  double reorder_ms = 10;
  double duplicate = 0;
  std::uint64_t max_held_bytes = 256ull << 20;
};

struct Counters {
  std::uint64_t in_packets = 0, in_bytes = 0, out_packets = 0, out_bytes = 0;
  std::uint64_t dropped_loss = 0, dropped_burst = 0, dropped_queue = 0, dropped_held = 0, dropped_write = 0;
  std::uint64_t duplicated = 0, reordered = 0;
  std::uint64_t queued = 0;  // packets that went through the bottleneck
  Micros queue_delay_sum = 0, queue_delay_max = 0;
};

struct Packet {
  Micros due;
  std::uint64_t order;  // ties keep arrival order
  int direction;
  std::shared_ptr<std::vector<std::uint8_t>> bytes;  // shared by a packet and its duplicate
  bool operator>(const Packet& o) const { return due != o.due ? due > o.due : order > o.order; }
};

// One direction: the random draws, the bottleneck's state and the counters. Deciding a packet's fate is
// separate from moving bytes, so the rules read top to bottom in `admit`.
class Direction {
 public:
  Direction(const Impairments& imp, std::uint64_t seed) : imp_(imp), rng_(seed) {}

  // When the packet of `size` bytes arriving at `now` is delivered: nothing if it is dropped, else one
  // time, or two for a duplicate.
  std::vector<Micros> admit(std::size_t size, Micros now) {
    counters_.in_packets++;
    counters_.in_bytes += size;
    if (imp_.loss > 0 && uniform() < imp_.loss) {
      counters_.dropped_loss++;
      return {};
    }
    if (imp_.ge_p > 0) {
      if (bad_ ? uniform() < imp_.ge_r : uniform() < imp_.ge_p) bad_ = !bad_;
      const double p = bad_ ? imp_.ge_bad_loss : imp_.ge_good_loss;
      if (p > 0 && uniform() < p) {
        counters_.dropped_burst++;
        return {};
      }
    }
    if (held_bytes_ + size > imp_.max_held_bytes) {
      counters_.dropped_held++;
      return {};
    }
    Micros leaves = now;
    if (imp_.rate_mbit > 0) {
      // Drop-tail: the backlog is every byte whose serialization has not finished at `now`.
      while (!backlog_.empty() && backlog_.front().first <= now) {
        backlog_bytes_ -= backlog_.front().second;
        backlog_.pop_front();
      }
      if (backlog_bytes_ + size > imp_.queue_bytes) {
        counters_.dropped_queue++;
        return {};
      }
      const auto serialization = static_cast<Micros>(static_cast<double>(size) * 8 / imp_.rate_mbit);
      link_free_ = std::max(link_free_, now) + std::max<Micros>(serialization, 1);
      leaves = link_free_;
      backlog_.emplace_back(leaves, size);
      backlog_bytes_ += size;
      const Micros waited = leaves - now - serialization;
      counters_.queued++;
      counters_.queue_delay_sum += waited;
      counters_.queue_delay_max = std::max(counters_.queue_delay_max, waited);
    }
    Micros due = leaves + static_cast<Micros>(imp_.delay_ms * 1000);
    if (imp_.jitter_ms > 0) {
      const double j = imp_.jitter_ms * 1000;
      const double offset = imp_.jitter_normal ? std::normal_distribution<double>(0, j)(rng_)
                                               : std::uniform_real_distribution<double>(-j, j)(rng_);
      due = std::max(leaves, due + static_cast<Micros>(offset));
    }
    if (imp_.reorder > 0 && uniform() < imp_.reorder) {
      // Held back without moving the in-order floor: the packets behind it overtake it.
      counters_.reordered++;
      due = std::max(due, last_due_) + static_cast<Micros>(imp_.reorder_ms * 1000);
    } else {
      due = std::max(due, last_due_);
      last_due_ = due;
    }
    std::vector<Micros> when{due};
    if (imp_.duplicate > 0 && uniform() < imp_.duplicate) {
      counters_.duplicated++;
      when.push_back(due);
    }
    held_bytes_ += size * when.size();
    return when;
  }

  void delivered(std::size_t size, bool written) {
    held_bytes_ -= size;
    if (written) {
      counters_.out_packets++;
      counters_.out_bytes += size;
    } else {
      counters_.dropped_write++;
    }
  }

  const Counters& counters() const { return counters_; }

 private:
  double uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  Impairments imp_;
  std::mt19937_64 rng_;
  Counters counters_;
  bool bad_ = false;
  Micros link_free_ = 0;
  Micros last_due_ = 0;
  std::deque<std::pair<Micros, std::size_t>> backlog_;
  std::uint64_t backlog_bytes_ = 0;
  std::uint64_t held_bytes_ = 0;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "wanem: %s\n", msg.c_str());
  std::exit(2);
}

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

class NetnsGuard {
 public:
  // Enters the named network namespace for the lifetime of the guard (this thread only); "" stays put.
  explicit NetnsGuard(const std::string& name) {
    if (name.empty()) return;
    home_ = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    if (home_ < 0) die(errno_text("/proc/self/ns/net"));
    const std::string path = "/run/netns/" + name;
    const int ns = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0) die(errno_text(path));
    if (setns(ns, CLONE_NEWNET) != 0) die(errno_text("setns " + path));
    close(ns);
  }
  ~NetnsGuard() {
    if (home_ < 0) return;
    if (setns(home_, CLONE_NEWNET) != 0) die(errno_text("setns back"));
    close(home_);
  }
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  int home_ = -1;
};

int open_tun(const std::string& name, const std::string& netns) {
  NetnsGuard in(netns);
  const int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die(errno_text("/dev/net/tun"));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;  // no IFF_VNET_HDR: the kernel segments GSO before us
  if (name.size() >= IFNAMSIZ) die("TUN name too long: " + name);
  std::memcpy(ifr.ifr_name, name.data(), name.size());
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) die(errno_text("TUNSETIFF " + name));
  return fd;
}

struct Config {
  std::string tun[2], ns[2];
  Impairments imp[2];
  std::uint64_t seed = 1;
  std::string stats_json;
};

double to_double(std::string_view option, const std::string& text) {
  double v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v < 0) {
    die("--" + std::string(option) + ": expected a non-negative number, got '" + text + "'");
  }
  return v;
}

double probability(std::string_view option, const std::string& text) {
  const double v = to_double(option, text);
  if (v > 1) die("--" + std::string(option) + ": a probability is at most 1, got '" + text + "'");
  return v;
}

void set_impairment(Impairments& imp, std::string_view name, const std::string& value) {
  if (name == "loss")
    imp.loss = probability(name, value);
  else if (name == "ge-p")
    imp.ge_p = probability(name, value);
  else if (name == "ge-r")
    imp.ge_r = probability(name, value);
  else if (name == "ge-bad-loss")
    imp.ge_bad_loss = probability(name, value);
  else if (name == "ge-good-loss")
    imp.ge_good_loss = probability(name, value);
  else if (name == "rate-mbit")
    imp.rate_mbit = to_double(name, value);
  else if (name == "queue-bytes")
    imp.queue_bytes = static_cast<std::uint64_t>(to_double(name, value));
  else if (name == "delay-ms")
    imp.delay_ms = to_double(name, value);
  else if (name == "jitter-ms")
    imp.jitter_ms = to_double(name, value);
  else if (name == "reorder")
    imp.reorder = probability(name, value);
  else if (name == "reorder-ms")
    imp.reorder_ms = to_double(name, value);
  else if (name == "duplicate")
    imp.duplicate = probability(name, value);
  else if (name == "max-held-mb")
    imp.max_held_bytes = static_cast<std::uint64_t>(to_double(name, value) * 1e6);
  else if (name == "jitter-dist") {
    if (value != "uniform" && value != "normal") die("--jitter-dist: uniform or normal, got '" + value + "'");
    imp.jitter_normal = value == "normal";
  } else {
    die("unknown option --" + std::string(name));
  }
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: wanem --tun-a NAME [--ns-a NETNS] --tun-b NAME [--ns-b NETNS] [--seed N]\n"
          "             [--stats-json FILE] [--[ab-|ba-]OPTION VALUE ...]\n"
          "OPTION: loss ge-p ge-r ge-bad-loss ge-good-loss rate-mbit queue-bytes delay-ms jitter-ms\n"
          "        jitter-dist reorder reorder-ms duplicate max-held-mb (see the head of wanem.cpp)\n");
      std::exit(0);
    }
    if (!arg.starts_with("--") || i + 1 >= argc) die("expected --OPTION VALUE at '" + std::string(arg) + "'");
    const std::string_view name = arg.substr(2);
    const std::string value = argv[++i];
    if (name == "tun-a")
      c.tun[0] = value;
    else if (name == "tun-b")
      c.tun[1] = value;
    else if (name == "ns-a")
      c.ns[0] = value;
    else if (name == "ns-b")
      c.ns[1] = value;
    else if (name == "seed")
      c.seed = static_cast<std::uint64_t>(to_double(name, value));
    else if (name == "stats-json")
      c.stats_json = value;
    else if (name.starts_with("ab-"))
      set_impairment(c.imp[0], name.substr(3), value);
    else if (name.starts_with("ba-"))
      set_impairment(c.imp[1], name.substr(3), value);
    else {
      set_impairment(c.imp[0], name, value);
      set_impairment(c.imp[1], name, value);
    }
  }
  if (c.tun[0].empty() || c.tun[1].empty()) die("--tun-a and --tun-b are required");
  return c;
}

constexpr std::array<const char*, 2> kDirectionName{"ab", "ba"};

std::vector<std::pair<std::string, double>> fields(const Counters& c) {
  const double mean = c.queued ? static_cast<double>(c.queue_delay_sum) / static_cast<double>(c.queued) : 0;
  return {{"in_packets", c.in_packets},
          {"in_bytes", c.in_bytes},
          {"out_packets", c.out_packets},
          {"out_bytes", c.out_bytes},
          {"dropped_loss", c.dropped_loss},
          {"dropped_burst", c.dropped_burst},
          {"dropped_queue", c.dropped_queue},
          {"dropped_held", c.dropped_held},
          {"dropped_write", c.dropped_write},
          {"duplicated", c.duplicated},
          {"reordered", c.reordered},
          {"queue_delay_mean_us", mean},
          {"queue_delay_max_us", static_cast<double>(c.queue_delay_max)}};
}

void report(const std::array<Direction, 2>& dirs, const std::string& json_path) {
  std::string json = "{";
  for (int d = 0; d < 2; ++d) {
    std::printf("WANEM %s", kDirectionName[d]);
    json += std::string(d ? ", " : "") + "\"" + kDirectionName[d] + "\": {";
    bool first = true;
    for (const auto& [key, value] : fields(dirs[d].counters())) {
      std::printf(" %s=%.0f", key.c_str(), value);
      char number[64];
      std::snprintf(number, sizeof number, "%.0f", value);
      json += std::string(first ? "" : ", ") + "\"" + key + "\": " + number;
      first = false;
    }
    std::printf("\n");
    json += "}";
  }
  json += "}\n";
  std::fflush(stdout);
  if (json_path.empty()) return;
  const std::string tmp = json_path + ".tmp";
  if (FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fputs(json.c_str(), f);
    std::fclose(f);
    std::rename(tmp.c_str(), json_path.c_str());
  } else {
    std::fprintf(stderr, "wanem: cannot write %s: %s\n", json_path.c_str(), std::strerror(errno));
  }
}

void arm(int timerfd, Micros due) {
  itimerspec spec{};
  if (due > 0) {
    spec.it_value.tv_sec = due / 1'000'000;
    spec.it_value.tv_nsec = (due % 1'000'000) * 1000;
  }  // 0 disarms
  if (timerfd_settime(timerfd, TFD_TIMER_ABSTIME, &spec, nullptr) != 0) die(errno_text("timerfd_settime"));
}

int run(const Config& config) {
  const std::array<int, 2> tun{open_tun(config.tun[0], config.ns[0]), open_tun(config.tun[1], config.ns[1])};
  std::array<Direction, 2> dirs{Direction(config.imp[0], config.seed * 2 + 1),
                                Direction(config.imp[1], config.seed * 2 + 2)};

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  const int timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (sigfd < 0 || timerfd < 0 || ep < 0) die(errno_text("signalfd/timerfd/epoll"));
  const std::array<int, 4> watched{tun[0], tun[1], sigfd, timerfd};
  for (int fd : watched) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die(errno_text("epoll_ctl"));
  }
  std::printf("READY\n");
  std::fflush(stdout);

  std::priority_queue<Packet, std::vector<Packet>, std::greater<>> line;
  std::uint64_t order = 0;
  Micros armed = 0;
  std::vector<std::uint8_t> buffer(kMaxPacket);
  for (;;) {
    std::array<epoll_event, 8> events;
    const int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    if (n < 0 && errno != EINTR) die(errno_text("epoll_wait"));
    for (int e = 0; e < n; ++e) {
      const int fd = events[e].data.fd;
      if (fd == sigfd) {
        signalfd_siginfo info{};
        while (read(sigfd, &info, sizeof info) == sizeof info) {
          report(dirs, config.stats_json);
          if (info.ssi_signo != SIGUSR1) return 0;
        }
        continue;
      }
      if (fd == timerfd) {
        std::uint64_t expirations;
        [[maybe_unused]] auto r = read(timerfd, &expirations, sizeof expirations);
        armed = 0;
        continue;
      }
      const int d = fd == tun[0] ? 0 : 1;
      for (int k = 0; k < kReadBurst; ++k) {
        const ssize_t got = read(fd, buffer.data(), buffer.size());
        if (got <= 0) {
          if (got < 0 && errno != EAGAIN && errno != EINTR) die(errno_text("read " + config.tun[d]));
          break;
        }
        const auto size = static_cast<std::size_t>(got);
        const auto when = dirs[d].admit(size, now_us());
        if (when.empty()) continue;
        auto bytes = std::make_shared<std::vector<std::uint8_t>>(buffer.begin(), buffer.begin() + got);
        for (Micros due : when) line.push(Packet{due, order++, d, bytes});
      }
    }
    // Deliver everything due, then arm the timer at the next packet.
    const Micros now = now_us();
    while (!line.empty() && line.top().due <= now) {
      const Packet& p = line.top();
      const int out = tun[1 - p.direction];
      const bool written =
          write(out, p.bytes->data(), p.bytes->size()) == static_cast<ssize_t>(p.bytes->size());
      dirs[p.direction].delivered(p.bytes->size(), written);
      line.pop();
    }
    const Micros next = line.empty() ? 0 : line.top().due;
    if (next != armed) {
      arm(timerfd, next);
      armed = next;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    die(e.what());
  }
}
