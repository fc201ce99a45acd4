#include "dpdk_wake.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace hoplink::dio::detail {
namespace {

std::string errno_text(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

bool watch(int epoll, int fd) {
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = fd;
  return ::epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0;
}

}  // namespace

Result<std::unique_ptr<WakeFd>, std::string> WakeFd::create(int interrupt_fd) {
  const int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return fail(errno_text("epoll_create1"));
  const int event = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event < 0) {
    const std::string error = errno_text("eventfd");
    ::close(epoll);
    return fail(error);
  }
  std::unique_ptr<WakeFd> wake(new WakeFd(epoll, event));
  if (!watch(epoll, event)) return fail(errno_text("epoll_ctl(eventfd)"));
  if (interrupt_fd >= 0 && !watch(epoll, interrupt_fd)) return fail(errno_text("epoll_ctl(rx interrupt)"));
  return wake;
}

WakeFd::~WakeFd() {
  ::close(event_);
  ::close(epoll_);
}

void WakeFd::notify() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is already huge: it is readable either way.
  [[maybe_unused]] const auto written = ::write(event_, &one, sizeof one);
}

void WakeFd::clear() {
  std::uint64_t count = 0;
  [[maybe_unused]] const auto read = ::read(event_, &count, sizeof count);
}

}  // namespace hoplink::dio::detail
