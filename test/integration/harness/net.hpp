// Loopback socket helpers for the integration tests. Every blocking operation takes a deadline; sockets
// are non-blocking and close-on-exec (so a spawned hoplink never inherits them), sends never raise SIGPIPE.
// Functions that cannot do their job throw std::runtime_error (test set-up failures); I/O results are
// reported as IoStatus so tests can assert on them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hoplink::itest {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

inline Deadline deadline_in(Clock::duration d) {
  return Clock::now() + d;
}

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// An IPv4 address and port; the tests only ever use 127.0.0.1.
struct Endpoint {
  std::string ip = "127.0.0.1";
  std::uint16_t port = 0;
  std::string to_string() const { return ip + ":" + std::to_string(port); }
  bool operator==(const Endpoint&) const = default;
};

// Parses "a.b.c.d:port" (port 1..65535).
std::optional<Endpoint> parse_endpoint(std::string_view text);

Fd tcp_listen(std::uint16_t port = 0);
Fd udp_bind(std::uint16_t port = 0);
std::uint16_t local_port(int fd);
// Connects to 127.0.0.1:port; throws on refusal or timeout.
Fd tcp_connect(std::uint16_t port, Deadline deadline);
// Waits for one connection; an empty Fd on timeout.
Fd tcp_accept(int listen_fd, Deadline deadline);

enum class IoStatus { ok, timeout, closed, error };
std::string to_string(IoStatus status);

// Waits until fd has `events` (POLLIN/POLLOUT) or the deadline passes. True if ready (or hung up).
bool wait_for(int fd, short events, Deadline deadline);

IoStatus send_all(int fd, std::span<const std::uint8_t> bytes, Deadline deadline);
IoStatus recv_exact(int fd, std::span<std::uint8_t> out, Deadline deadline);

// Reads until the peer closes (EOF or reset: status closed) or the deadline (status timeout).
struct DrainResult {
  std::vector<std::uint8_t> bytes;
  IoStatus status = IoStatus::timeout;
};
DrainResult recv_until_closed(int fd, Deadline deadline, std::size_t max_bytes = 1 << 20);

void send_datagram(int udp_fd, const Endpoint& to, std::span<const std::uint8_t> payload);
// Like send_datagram, but reports failure (e.g. a full socket buffer) instead of throwing.
bool try_send_datagram(int udp_fd, const Endpoint& to, std::span<const std::uint8_t> payload);
// The next datagram on udp_fd, or nullopt at the deadline.
std::optional<std::vector<std::uint8_t>> recv_datagram(int udp_fd, Deadline deadline,
                                                       Endpoint* from = nullptr);

}  // namespace hoplink::itest
