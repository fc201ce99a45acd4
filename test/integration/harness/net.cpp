#include "net.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace hoplink::itest {
namespace {

[[noreturn]] void throw_errno(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

sockaddr_in loopback(std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

int poll_timeout_ms(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left < 0) return 0;
  return static_cast<int>(std::min<long long>(left + 1, 1000 * 1000));
}

Fd make_socket(int type) {
  Fd fd(::socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) throw_errno("socket");
  return fd;
}

}  // namespace

void Fd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

std::optional<Endpoint> parse_endpoint(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string ip(text.substr(0, colon));
  in_addr addr{};
  if (::inet_pton(AF_INET, ip.c_str(), &addr) != 1) return std::nullopt;
  auto port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 || port > 65535) {
    return std::nullopt;
  }
  return Endpoint{ip, static_cast<std::uint16_t>(port)};
}

Fd tcp_listen(std::uint16_t port) {
  Fd fd = make_socket(SOCK_STREAM);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  auto sa = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno("bind tcp");
  if (::listen(fd.get(), 512) != 0) throw_errno("listen");
  return fd;
}

Fd udp_bind(std::uint16_t port) {
  Fd fd = make_socket(SOCK_DGRAM);
  auto sa = loopback(port);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) throw_errno("bind udp");
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) throw_errno("getsockname");
  return ntohs(sa.sin_port);
}

Fd tcp_connect(std::uint16_t port, Deadline deadline) {
  Fd fd = make_socket(SOCK_STREAM);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto sa = loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 && errno != EINPROGRESS) {
    throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
  if (!wait_for(fd.get(), POLLOUT, deadline)) {
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " timed out");
  }
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) {
    errno = err;
    throw_errno("connect to 127.0.0.1:" + std::to_string(port));
  }
  return fd;
}

Fd tcp_accept(int listen_fd, Deadline deadline) {
  while (wait_for(listen_fd, POLLIN, deadline)) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return Fd(fd);
    }
    if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) return Fd();
  }
  return Fd();
}

std::string to_string(IoStatus status) {
  switch (status) {
    case IoStatus::ok:
      return "ok";
    case IoStatus::timeout:
      return "timeout";
    case IoStatus::closed:
      return "closed by peer";
    case IoStatus::error:
      return "error";
  }
  return "?";
}

bool wait_for(int fd, short events, Deadline deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, poll_timeout_ms(deadline));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // let the caller's I/O call report the error
    if (n == 0 && Clock::now() >= deadline) return false;
  }
}

IoStatus send_all(int fd, std::span<const std::uint8_t> bytes, Deadline deadline) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_for(fd, POLLOUT, deadline)) return IoStatus::timeout;
      continue;
    }
    return (errno == EPIPE || errno == ECONNRESET) ? IoStatus::closed : IoStatus::error;
  }
  return IoStatus::ok;
}

IoStatus recv_exact(int fd, std::span<std::uint8_t> out, Deadline deadline) {
  while (!out.empty()) {
    ssize_t n = ::recv(fd, out.data(), out.size(), MSG_DONTWAIT);
    if (n > 0) {
      out = out.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return IoStatus::closed;
    if (errno == EAGAIN || errno == EINTR) {
      if (!wait_for(fd, POLLIN, deadline)) return IoStatus::timeout;
      continue;
    }
    return errno == ECONNRESET ? IoStatus::closed : IoStatus::error;
  }
  return IoStatus::ok;
}

DrainResult recv_until_closed(int fd, Deadline deadline, std::size_t max_bytes) {
  DrainResult result;
  std::uint8_t buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      if (result.bytes.size() < max_bytes) result.bytes.insert(result.bytes.end(), buf, buf + n);
      continue;
    }
    if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      result.status = IoStatus::closed;
      return result;
    }
    if (!wait_for(fd, POLLIN, deadline)) {
      result.status = IoStatus::timeout;
      return result;
    }
  }
}

bool try_send_datagram(int udp_fd, const Endpoint& to, std::span<const std::uint8_t> payload) {
  sockaddr_in sa = loopback(to.port);
  if (::inet_pton(AF_INET, to.ip.c_str(), &sa.sin_addr) != 1) return false;
  return ::sendto(udp_fd, payload.data(), payload.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa),
                  sizeof sa) >= 0;
}

void send_datagram(int udp_fd, const Endpoint& to, std::span<const std::uint8_t> payload) {
  if (!try_send_datagram(udp_fd, to, payload)) throw_errno("sendto " + to.to_string());
}

std::optional<std::vector<std::uint8_t>> recv_datagram(int udp_fd, Deadline deadline, Endpoint* from) {
  std::vector<std::uint8_t> buf(65536);
  for (;;) {
    sockaddr_in sa{};
    socklen_t len = sizeof sa;
    ssize_t n =
        ::recvfrom(udp_fd, buf.data(), buf.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&sa), &len);
    if (n >= 0) {
      buf.resize(static_cast<std::size_t>(n));
      if (from) {
        char ip[INET_ADDRSTRLEN] = {};
        ::inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof ip);
        *from = Endpoint{ip, ntohs(sa.sin_port)};
      }
      return buf;
    }
    if (errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED) return std::nullopt;
    if (!wait_for(udp_fd, POLLIN, deadline)) return std::nullopt;
  }
}

}  // namespace hoplink::itest
