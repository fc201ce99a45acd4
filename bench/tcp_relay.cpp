// tcp_relay: the "plain TCP" baseline of run-bench. A minimal forwarder: kernel TCP on both sides and one
// copy through a user-space buffer per hop, in one thread on epoll, like a single-threaded PT's event loop
// but with no framing, no crypto and no user-space transport stack.
//
//   tcp_relay --listen IP:PORT --to IP:PORT    forward every accepted connection to a fixed address
//   tcp_relay --listen IP:PORT --socks         accept SOCKS5 CONNECT (no auth, IPv4) and forward there
//
// Prints `LISTEN IP:PORT` once listening. Run as a pair (--socks on the client side, --to the sink on the
// server side) it has the same process topology as a PT client and server, so CPU and memory per process
// compare directly. Backpressure: a direction stops reading while its buffer holds unwritten bytes.
// The outgoing connect() is blocking; on loopback it completes (or fails) immediately.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace {

constexpr std::size_t kBufSize = 64 * 1024;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "tcp_relay: %s: %s\n", msg.c_str(), std::strerror(errno));
  std::exit(2);
}

std::optional<sockaddr_in> parse_addr(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (inet_pton(AF_INET, std::string(s.substr(0, colon)).c_str(), &sa.sin_addr) != 1) return std::nullopt;
  const int port = std::atoi(std::string(s.substr(colon + 1)).c_str());
  if (port < 0 || port > 65535) return std::nullopt;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  return sa;
}

// One direction of a relayed connection: bytes read from `from`, waiting in `buf` to be written to `to`.
struct Direction {
  std::array<char, kBufSize> buf;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool eof = false;   // `from` reached EOF
  bool shut = false;  // `to` has been shut down for writing
  bool pending() const { return begin < end; }
};

// A relayed connection: a = the accepted side, b = the outgoing side.
struct Pair {
  int a = -1;
  int b = -1;
  bool socks_done = true;
  bool socks_greeted = false;
  std::string socks_in;  // handshake bytes from `a` while socks_done is false
  Direction ab;          // a -> b
  Direction ba;          // b -> a
  std::uint32_t events_a = 0;
  std::uint32_t events_b = 0;
};

class Relay {
 public:
  Relay(int listen_fd, std::optional<sockaddr_in> to) : lfd_(listen_fd), to_(to) {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) die("epoll_create1");
    add(lfd_, EPOLLIN);
  }

  [[noreturn]] void run() {
    std::array<epoll_event, 256> evs;
    for (;;) {
      const int n = epoll_wait(ep_, evs.data(), static_cast<int>(evs.size()), -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        die("epoll_wait");
      }
      for (int i = 0; i < n; ++i) {
        const int fd = evs[i].data.fd;
        if (fd == lfd_) {
          accept_all();
          continue;
        }
        const auto it = by_fd_.find(fd);
        if (it == by_fd_.end()) continue;  // closed earlier in this batch
        step(it->second);
      }
    }
  }

 private:
  void add(int fd, std::uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl add");
  }

  void modify(int fd, std::uint32_t& current, std::uint32_t wanted) {
    if (fd < 0 || current == wanted) return;
    epoll_event ev{};
    ev.events = wanted;
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
    current = wanted;
  }

  static void tune(int fd) {
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }

  int connect_to(const sockaddr_in& dst) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0) {
      close(fd);
      return -1;
    }
    tune(fd);
    const int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  void accept_all() {
    for (;;) {
      const int c = accept4(lfd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) return;  // EAGAIN, or a transient error: the listener stays armed
      tune(c);
      // Default-initialised (not make_shared's value-initialisation): buffer pages are touched only when
      // used.
      auto p = std::shared_ptr<Pair>(new Pair);
      p->a = c;
      by_fd_[c] = p;
      if (to_) {
        p->b = connect_to(*to_);
        if (p->b < 0) {
          close_pair(p);
          continue;
        }
        by_fd_[p->b] = p;
        add(p->b, 0);
      } else {
        p->socks_done = false;
      }
      add(c, 0);
      update(p);
    }
  }

  // SOCKS5 server, just enough for bench_load: method 00, CONNECT, ATYP 01. Returns false to drop the pair.
  bool socks_step(const std::shared_ptr<Pair>& p) {
    char tmp[512];
    for (;;) {
      const ssize_t n = recv(p->a, tmp, sizeof tmp, 0);
      if (n > 0) {
        p->socks_in.append(tmp, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) return false;
      if (errno == EAGAIN) break;
      if (errno != EINTR) return false;
    }
    std::string& in = p->socks_in;
    if (in.size() > 4096) return false;  // a client that does not wait for the replies
    if (in.size() < 2) return true;
    if (in[0] != 5) return false;
    const std::size_t greet_len = 2 + static_cast<unsigned char>(in[1]);
    if (in.size() < greet_len) return true;
    if (!p->socks_greeted) {
      if (std::string_view(in).substr(2, greet_len - 2).find('\0') == std::string_view::npos) return false;
      const char choice[2] = {5, 0};
      if (send(p->a, choice, sizeof choice, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof choice))
        return false;
      p->socks_greeted = true;
    }
    if (in.size() < greet_len + 4) return true;
    const std::string_view req = std::string_view(in).substr(greet_len);
    if (req[0] != 5 || req[1] != 1 || req[3] != 1) return false;
    if (req.size() < 10) return true;
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    std::memcpy(&dst.sin_addr, req.data() + 4, 4);
    std::memcpy(&dst.sin_port, req.data() + 8, 2);
    p->b = connect_to(dst);
    const char rep = p->b < 0 ? 5 : 0;  // 05 = connection refused
    const char reply[10] = {5, rep, 0, 1, 0, 0, 0, 0, 0, 0};
    if (send(p->a, reply, sizeof reply, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof reply)) return false;
    if (p->b < 0) return false;
    by_fd_[p->b] = p;
    add(p->b, 0);
    const std::string_view rest = req.substr(10);
    std::memcpy(p->ab.buf.data(), rest.data(), rest.size());
    p->ab.end = rest.size();
    p->socks_done = true;
    std::string().swap(in);
    return true;
  }

  // Moves bytes from `from` to `to` until a would-block; returns false on a fatal error.
  static bool pump(int from, int to, Direction& d) {
    for (;;) {
      while (d.pending()) {
        const ssize_t w = send(to, d.buf.data() + d.begin, d.end - d.begin, MSG_NOSIGNAL);
        if (w < 0) {
          if (errno == EAGAIN) return true;
          if (errno == EINTR) continue;
          return false;
        }
        d.begin += static_cast<std::size_t>(w);
      }
      d.begin = d.end = 0;
      if (d.eof) {
        if (!d.shut) {
          shutdown(to, SHUT_WR);
          d.shut = true;
        }
        return true;
      }
      const ssize_t r = recv(from, d.buf.data(), d.buf.size(), 0);
      if (r < 0) {
        if (errno == EAGAIN) return true;
        if (errno == EINTR) continue;
        return false;
      }
      if (r == 0) {
        d.eof = true;
        continue;
      }
      d.end = static_cast<std::size_t>(r);
    }
  }

  void step(std::shared_ptr<Pair> p) {
    if (!p->socks_done) {
      if (!socks_step(p)) return close_pair(p);
      if (!p->socks_done) return;
    }
    if (!pump(p->a, p->b, p->ab) || !pump(p->b, p->a, p->ba)) return close_pair(p);
    if (p->ab.shut && p->ba.shut) return close_pair(p);
    update(p);
  }

  // Level-triggered interest: read a side while its outgoing buffer is empty, write a side while bytes wait.
  void update(const std::shared_ptr<Pair>& p) {
    if (!p->socks_done) {
      modify(p->a, p->events_a, EPOLLIN);
      return;
    }
    const std::uint32_t want_a =
        (p->ab.pending() || p->ab.eof ? 0u : EPOLLIN) | (p->ba.pending() ? EPOLLOUT : 0u);
    const std::uint32_t want_b =
        (p->ba.pending() || p->ba.eof ? 0u : EPOLLIN) | (p->ab.pending() ? EPOLLOUT : 0u);
    modify(p->a, p->events_a, want_a);
    modify(p->b, p->events_b, want_b);
  }

  void close_pair(const std::shared_ptr<Pair>& p) {
    for (const int fd : {p->a, p->b}) {
      if (fd < 0) continue;
      by_fd_.erase(fd);
      close(fd);  // also removes it from the epoll set
    }
    p->a = p->b = -1;
  }

  int lfd_;
  int ep_ = -1;
  std::optional<sockaddr_in> to_;
  std::unordered_map<int, std::shared_ptr<Pair>> by_fd_;
};

}  // namespace

int main(int argc, char** argv) {
  std::optional<sockaddr_in> listen_addr;
  std::optional<sockaddr_in> to;
  bool socks = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--socks") {
      socks = true;
    } else if ((a == "--listen" || a == "--to") && i + 1 < argc) {
      const auto addr = parse_addr(argv[++i]);
      if (!addr) {
        std::fprintf(stderr, "tcp_relay: bad address %s\n", argv[i]);
        return 2;
      }
      (a == "--listen" ? listen_addr : to) = addr;
    } else {
      listen_addr.reset();
      break;
    }
  }
  if (!listen_addr || socks == to.has_value()) {
    std::fprintf(stderr, "usage: tcp_relay --listen IP:PORT (--to IP:PORT | --socks)\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  const int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<const sockaddr*>(&*listen_addr), sizeof *listen_addr) != 0) die("bind");
  if (listen(lfd, 4096) != 0) die("listen");
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &len);
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof ip);
  std::printf("LISTEN %s:%u\n", ip, ntohs(bound.sin_port));
  std::fflush(stdout);
  Relay(lfd, to).run();
}
