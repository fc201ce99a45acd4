// bench_load: the load generator and the far-end server that run-bench drives through every transport.
//
//   bench_load sink       --listen IP:PORT
//   bench_load bulk       TARGET --bytes N
//   bench_load rr         TARGET --count N [--size 512] [--warmup 200]
//   bench_load concurrent TARGET --links N --bytes-per-link N [--hold-ms 1000]
//   TARGET = --connect IP:PORT [--socks IP:PORT [--socks-args 'k=v;k=v']]
//            [--timeout-s 60] [--connect-timeout-s 10]
//
// With --socks the connection goes through a SOCKS5 proxy (a PT client, or tcp_relay --socks) with a CONNECT
// to --connect; --socks-args are sent as RFC 1929 username/password exactly as tor sends bridge-line args.
//
// Wire protocol between the clients and the sink, carried unchanged by every transport:
//   client -> sink   mode (1 byte: 'B' bulk | 'E' echo), length (u64 big-endian; 0 for echo)
//   sink -> client   'R' as soon as the sink has the connection: proves the path end to end, so timing can
//                    start after the transport's handshake
//   bulk             client sends `length` bytes; the sink answers the u64 count it read. No half-close is
//                    needed (obfs4proxy closes both directions when one ends).
//   echo             the sink echoes every byte until EOF.
//
// Results go to stdout as one `RESULT k=v ...` line (concurrent also prints `ESTABLISHED ...` when every
// link is up, then holds them idle for --hold-ms so the orchestrator can sample memory per link).
// Errors go to stderr with a non-zero exit status. Deliberately free of any hoplink library: it is the
// fixed yardstick the transports are measured with.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t kIoChunk = 256 * 1024;
constexpr std::size_t kHeaderSize = 9;
constexpr char kModeBulk = 'B';
constexpr char kModeEcho = 'E';
constexpr char kReady = 'R';

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_load: %s\n", msg.c_str());
  std::exit(2);
}

// Owns one socket descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

std::optional<sockaddr_in> parse_addr(std::string_view s) {
  const auto colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  const std::string host(s.substr(0, colon));
  if (inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1) return std::nullopt;
  const std::string port_str(s.substr(colon + 1));
  char* end = nullptr;
  const long port = std::strtol(port_str.c_str(), &end, 10);
  if (end == port_str.c_str() || *end != '\0' || port < 0 || port > 65535) return std::nullopt;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  return sa;
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

bool write_all(int fd, std::span<const std::byte> data, std::string& err) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno_text("send");
      return false;
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

bool read_exact(int fd, std::span<std::byte> out, std::string& err) {
  while (!out.empty()) {
    const ssize_t n = ::recv(fd, out.data(), out.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno == EAGAIN ? "recv: timed out" : errno_text("recv");
      return false;
    }
    if (n == 0) {
      err = "recv: connection closed by peer";
      return false;
    }
    out = out.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

void set_nodelay(int fd) {
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

void set_timeouts(int fd, std::chrono::seconds t) {
  const timeval tv{static_cast<time_t>(t.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::array<std::byte, kHeaderSize> make_header(char mode, std::uint64_t length) {
  std::array<std::byte, kHeaderSize> h{};
  h[0] = static_cast<std::byte>(mode);
  for (int i = 0; i < 8; ++i) h[1 + i] = static_cast<std::byte>(length >> (56 - 8 * i));
  return h;
}

std::uint64_t read_u64_be(std::span<const std::byte, 8> b) {
  std::uint64_t v = 0;
  for (const std::byte x : b) v = (v << 8) | std::to_integer<std::uint64_t>(x);
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Client side.

struct Target {
  sockaddr_in connect{};
  std::optional<sockaddr_in> socks;
  std::string socks_args;
  std::chrono::seconds timeout{60};          // socket timeout once the link is up, and the watchdog
  std::chrono::seconds connect_timeout{10};  // socket timeout until the sink's ready byte arrives
};

// SOCKS5 (RFC 1928) CONNECT, with the args as RFC 1929 credentials the way tor sends them: split over
// username and password, a lone NUL password when everything fits in the username.
bool socks5_connect(int fd, const Target& t, std::string& err) {
  const bool auth = !t.socks_args.empty();
  if (t.socks_args.size() > 510) {
    err = "socks args longer than 510 bytes";
    return false;
  }
  const std::string greeting = auth ? std::string("\x05\x01\x02", 3) : std::string("\x05\x01\x00", 3);
  if (!write_all(fd, bytes_of(greeting), err)) return false;
  std::array<std::byte, 2> choice{};
  if (!read_exact(fd, choice, err)) return false;
  const auto method = std::to_integer<int>(choice[1]);
  if (std::to_integer<int>(choice[0]) != 5 || method != (auth ? 2 : 0)) {
    err = "socks: server chose method " + std::to_string(method);
    return false;
  }
  if (auth) {
    const std::string_view args = t.socks_args;
    const std::string_view user = args.substr(0, std::min<std::size_t>(255, args.size()));
    std::string pass(args.substr(user.size()));
    if (pass.empty()) pass.assign(1, '\0');
    std::string msg("\x01", 1);
    msg += static_cast<char>(user.size());
    msg += user;
    msg += static_cast<char>(pass.size());
    msg += pass;
    if (!write_all(fd, bytes_of(msg), err)) return false;
    std::array<std::byte, 2> status{};
    if (!read_exact(fd, status, err)) return false;
    if (std::to_integer<int>(status[1]) != 0) {
      err = "socks: authentication (args) rejected";
      return false;
    }
  }
  std::string req("\x05\x01\x00\x01", 4);
  req.append(reinterpret_cast<const char*>(&t.connect.sin_addr), 4);
  req.append(reinterpret_cast<const char*>(&t.connect.sin_port), 2);
  if (!write_all(fd, bytes_of(req), err)) return false;
  std::array<std::byte, 10> reply{};
  if (!read_exact(fd, reply, err)) return false;
  if (std::to_integer<int>(reply[1]) != 0) {
    err = "socks: CONNECT failed, REP=" + std::to_string(std::to_integer<int>(reply[1]));
    return false;
  }
  if (std::to_integer<int>(reply[3]) != 1) {
    err = "socks: reply with ATYP other than IPv4";
    return false;
  }
  return true;
}

// Connects (through SOCKS if configured), sends the header and waits for the sink's ready byte.
Fd open_link(const Target& t, char mode, std::uint64_t length, std::string& err) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) {
    err = errno_text("socket");
    return {};
  }
  set_nodelay(fd.get());
  set_timeouts(fd.get(), t.connect_timeout);
  const sockaddr_in& first = t.socks ? *t.socks : t.connect;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&first), sizeof first) != 0) {
    err = errno_text("connect");
    return {};
  }
  if (t.socks && !socks5_connect(fd.get(), t, err)) {
    err = "SOCKS5 to the client side: " + err;
    return {};
  }
  std::array<std::byte, 1> ready{};
  if (!write_all(fd.get(), make_header(mode, length), err) || !read_exact(fd.get(), ready, err)) {
    err = "waiting for the sink's ready byte through the transport: " + err;
    return {};
  }
  if (ready[0] != static_cast<std::byte>(kReady)) {
    err = "sink sent a wrong ready byte";
    return {};
  }
  set_timeouts(fd.get(), t.timeout);
  return fd;
}

// Sends `length` pattern bytes on an open bulk link and waits for the sink's count.
bool run_bulk_transfer(int fd, std::uint64_t length, std::string& err) {
  std::vector<std::byte> buf(kIoChunk);
  for (std::size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<std::byte>(i * 131 + 7);
  std::uint64_t left = length;
  while (left > 0) {
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    if (!write_all(fd, std::span(buf).first(n), err)) return false;
    left -= n;
  }
  std::array<std::byte, 8> count{};
  if (!read_exact(fd, count, err)) return false;
  if (read_u64_be(count) != length) {
    err = "sink counted " + std::to_string(read_u64_be(count)) + " bytes, sent " + std::to_string(length);
    return false;
  }
  return true;
}

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double mbit_per_s(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? static_cast<double>(bytes) * 8 / seconds / 1e6 : 0;
}

int cmd_bulk(const Target& t, std::uint64_t bytes) {
  std::string err;
  Fd fd = open_link(t, kModeBulk, bytes, err);
  if (!fd.valid()) die("bulk: " + err);
  const auto start = Clock::now();
  if (!run_bulk_transfer(fd.get(), bytes, err)) die("bulk: " + err);
  const double s = seconds_between(start, Clock::now());
  std::printf("RESULT bytes=%llu seconds=%.6f mbps=%.1f\n", static_cast<unsigned long long>(bytes), s,
              mbit_per_s(bytes, s));
  return 0;
}

double percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto idx = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

int cmd_rr(const Target& t, std::size_t count, std::size_t size, std::size_t warmup) {
  std::string err;
  Fd fd = open_link(t, kModeEcho, 0, err);
  if (!fd.valid()) die("rr: " + err);
  std::vector<std::byte> req(size), resp(size);
  std::vector<double> us;
  us.reserve(count);
  for (std::size_t i = 0; i < warmup + count; ++i) {
    for (std::size_t j = 0; j < size; ++j) req[j] = static_cast<std::byte>(i + j);
    const auto t0 = Clock::now();
    if (!write_all(fd.get(), req, err) || !read_exact(fd.get(), resp, err)) {
      die("rr: round trip " + std::to_string(i) + ": " + err);
    }
    const auto t1 = Clock::now();
    if (resp != req) die("rr: echoed bytes differ at round trip " + std::to_string(i));
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (const double v : us) sum += v;
  std::printf("RESULT count=%zu size=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f mean_us=%.1f\n",
              count, size, percentile(us, 0.50), percentile(us, 0.90), percentile(us, 0.99), us.back(),
              sum / static_cast<double>(us.size()));
  return 0;
}

int cmd_concurrent(const Target& t, std::size_t links, std::uint64_t bytes_per_link,
                   std::chrono::milliseconds hold) {
  std::vector<Fd> fds(links);
  std::vector<std::string> errs(links);
  std::vector<Clock::time_point> done_at(links);
  std::vector<char> ok(links, 0);
  std::latch established(static_cast<std::ptrdiff_t>(links));
  std::latch go(1);
  std::vector<std::thread> threads;
  threads.reserve(links);
  for (std::size_t i = 0; i < links; ++i) {
    threads.emplace_back([&, i] {
      fds[i] = open_link(t, kModeBulk, bytes_per_link, errs[i]);
      established.count_down();
      go.wait();
      if (!fds[i].valid()) return;
      if (run_bulk_transfer(fds[i].get(), bytes_per_link, errs[i])) {
        ok[i] = 1;
        done_at[i] = Clock::now();
      }
    });
  }
  established.wait();
  const auto up =
      static_cast<std::size_t>(std::count_if(fds.begin(), fds.end(), [](const Fd& f) { return f.valid(); }));
  std::printf("ESTABLISHED links=%zu up=%zu\n", links, up);
  std::fflush(stdout);
  std::this_thread::sleep_for(hold);
  const auto start = Clock::now();
  go.count_down();
  for (auto& th : threads) th.join();
  std::size_t completed = 0;
  auto last = start;
  for (std::size_t i = 0; i < links; ++i) {
    if (!ok[i]) continue;
    ++completed;
    last = std::max(last, done_at[i]);
  }
  const double s = seconds_between(start, last);
  for (std::size_t i = 0; i < links; ++i) {
    if (!ok[i]) {
      std::fprintf(stderr, "bench_load: concurrent: link %zu: %s\n", i, errs[i].c_str());
      break;  // one example is enough; the count is in RESULT
    }
  }
  std::printf("RESULT links=%zu up=%zu completed=%zu bytes=%llu seconds=%.6f mbps=%.1f\n", links, up,
              completed, static_cast<unsigned long long>(completed * bytes_per_link), s,
              mbit_per_s(completed * bytes_per_link, s));
  return completed == links ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------------------
// Sink side: one thread per connection (the sink must never be the bottleneck of a single link).

void serve_connection(Fd fd) {
  set_nodelay(fd.get());
  std::string err;
  std::array<std::byte, kHeaderSize> header{};
  if (!read_exact(fd.get(), header, err)) return;
  const std::array<std::byte, 1> ready{static_cast<std::byte>(kReady)};
  if (!write_all(fd.get(), ready, err)) return;
  std::vector<std::byte> buf(kIoChunk);
  const char mode = static_cast<char>(header[0]);
  if (mode == kModeBulk) {
    const std::uint64_t length = read_u64_be(std::span(header).subspan<1, 8>());
    std::uint64_t got = 0;
    while (got < length) {
      const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(length - got, buf.size()));
      const ssize_t n = ::recv(fd.get(), buf.data(), want, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::uint64_t>(n);
    }
    std::array<std::byte, 8> count{};
    for (int i = 0; i < 8; ++i) count[i] = static_cast<std::byte>(got >> (56 - 8 * i));
    write_all(fd.get(), count, err);
    // Let the client close first so that the count is not lost to a reset.
    while (::recv(fd.get(), buf.data(), buf.size(), 0) > 0) {
    }
  } else if (mode == kModeEcho) {
    for (;;) {
      const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (!write_all(fd.get(), std::span(buf).first(static_cast<std::size_t>(n)), err)) break;
    }
  }
}

int cmd_sink(const sockaddr_in& listen_addr) {
  Fd lfd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!lfd.valid()) die(errno_text("socket"));
  const int one = 1;
  ::setsockopt(lfd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd.get(), reinterpret_cast<const sockaddr*>(&listen_addr), sizeof listen_addr) != 0) {
    die(errno_text("bind"));
  }
  if (::listen(lfd.get(), 4096) != 0) die(errno_text("listen"));
  sockaddr_in bound{};
  socklen_t len = sizeof bound;
  ::getsockname(lfd.get(), reinterpret_cast<sockaddr*>(&bound), &len);
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof ip);
  std::printf("LISTEN %s:%u\n", ip, ntohs(bound.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int c = ::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) {
        if (errno == EMFILE || errno == ENFILE) std::this_thread::sleep_for(10ms);
        continue;
      }
      die(errno_text("accept"));
    }
    std::thread(serve_connection, Fd(c)).detach();
  }
}

// ---------------------------------------------------------------------------------------------------------

struct Args {
  std::map<std::string, std::string> kv;

  const std::string* find(const std::string& k) const {
    const auto it = kv.find(k);
    return it == kv.end() ? nullptr : &it->second;
  }
  std::string str(const std::string& k) const {
    const auto* v = find(k);
    if (!v) die("missing --" + k);
    return *v;
  }
  std::uint64_t num(const std::string& k, std::optional<std::uint64_t> def = std::nullopt) const {
    const auto* v = find(k);
    if (!v) {
      if (def) return *def;
      die("missing --" + k);
    }
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0') die("--" + k + ": not a number: " + *v);
    return n;
  }
  sockaddr_in addr(const std::string& k) const {
    const auto a = parse_addr(str(k));
    if (!a) die("--" + k + ": expected IPv4:PORT, got " + str(k));
    return *a;
  }
};

Target make_target(const Args& a) {
  Target t;
  t.connect = a.addr("connect");
  if (a.find("socks")) t.socks = a.addr("socks");
  if (const auto* s = a.find("socks-args")) t.socks_args = *s;
  t.timeout = std::chrono::seconds(a.num("timeout-s", 60));
  t.connect_timeout = std::chrono::seconds(a.num("connect-timeout-s", 10));
  return t;
}

// Whatever a phase does, the process ends by the deadline: a stuck transport must not hang run-bench.
void start_watchdog(std::chrono::seconds limit) {
  std::thread([limit] {
    std::this_thread::sleep_for(limit);
    std::fprintf(stderr, "bench_load: watchdog: no result after %llds\n",
                 static_cast<long long>(limit.count()));
    std::_Exit(124);
  }).detach();
}

void usage() {
  std::fprintf(stderr,
               "usage: bench_load sink --listen IP:PORT\n"
               "       bench_load bulk --connect IP:PORT [--socks IP:PORT] [--socks-args A] --bytes N\n"
               "       bench_load rr --connect ... --count N [--size 512] [--warmup 200]\n"
               "       bench_load concurrent --connect ... --links N --bytes-per-link N [--hold-ms 1000]\n"
               "       common: [--timeout-s 60] (socket timeouts and a whole-process watchdog)\n"
               "               [--connect-timeout-s 10] (socket timeouts until the link reaches the sink)\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const std::string cmd = argv[1];
  Args a;
  for (int i = 2; i < argc; ++i) {
    const std::string_view k = argv[i];
    if (!k.starts_with("--") || i + 1 >= argc) usage();
    a.kv[std::string(k.substr(2))] = argv[++i];
  }
  if (cmd == "sink") return cmd_sink(a.addr("listen"));
  const Target t = make_target(a);
  start_watchdog(t.timeout);
  if (cmd == "bulk") return cmd_bulk(t, a.num("bytes"));
  if (cmd == "rr") return cmd_rr(t, a.num("count"), a.num("size", 512), a.num("warmup", 200));
  if (cmd == "concurrent") {
    return cmd_concurrent(t, a.num("links"), a.num("bytes-per-link"),
                          std::chrono::milliseconds(a.num("hold-ms", 1000)));
  }
  usage();
}
