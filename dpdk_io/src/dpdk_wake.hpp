// The descriptor a sleeping DPDK endpoint is woken by (DatagramIo::prepare_wait): an epoll set holding an
// eventfd, poked when another endpoint's poll queued datagrams for this one, and, when the port has rx
// interrupts, the rx queue's interrupt descriptor. No DPDK header here.
#pragma once

#include <memory>
#include <string>

#include "common/result.hpp"

namespace hoplink::dio::detail {

class WakeFd {
 public:
  // `interrupt_fd` (-1 for none) is watched, not owned.
  static Result<std::unique_ptr<WakeFd>, std::string> create(int interrupt_fd);
  ~WakeFd();
  WakeFd(const WakeFd&) = delete;
  WakeFd& operator=(const WakeFd&) = delete;

  int fd() const { return epoll_; }
  // Makes fd() readable until clear().
  void notify();
  void clear();

 private:
  WakeFd(int epoll, int event) : epoll_(epoll), event_(event) {}
  int epoll_;
  int event_;
};

}  // namespace hoplink::dio::detail
