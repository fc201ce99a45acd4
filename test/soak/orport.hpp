// tor's Extended ORPort for the soak: SAFE_COOKIE authentication, then the bridge side of every soak link
// (the pump protocol, checked against the link's plan in the Ledger). Unlike the integration tests' FakeTor
// it keeps no per-connection history, joins its handler threads as they end, listens on a port that stays
// the same across go_away() / come_back() (as tor's does across a restart), and can drop every connection
// at once, as a tor that dies does.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "ext_or_auth.hpp"
#include "ledger.hpp"
#include "net.hpp"

namespace hoplink::soak {

class SoakOrPort {
 public:
  // Writes the cookie file and listens on a free loopback port.
  SoakOrPort(Ledger& ledger, std::filesystem::path cookie_file);
  ~SoakOrPort();
  SoakOrPort(const SoakOrPort&) = delete;
  SoakOrPort& operator=(const SoakOrPort&) = delete;

  std::uint16_t port() const { return port_; }
  const std::filesystem::path& cookie_file() const { return cookie_file_; }

  // tor goes away: the port stops listening (connections are refused) and every open connection is cut.
  void go_away();
  // tor is back on the same port.
  void come_back();

  std::uint64_t accepted() const { return accepted_; }
  std::uint64_t handshake_failures() const { return handshake_failures_; }
  // Links whose first bytes were not the pump header of a planned link: hoplink mixed up or lost bytes.
  std::uint64_t bad_headers() const { return bad_headers_; }
  // Links that carried bytes after their whole stream: hoplink added bytes.
  std::uint64_t trailing_bytes() const { return trailing_bytes_; }

 private:
  struct Handler {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
  };

  void accept_loop();
  void reap(bool all);
  void handle(itest::Fd fd, std::shared_ptr<std::atomic<bool>> cut);
  bool handshake(int fd);
  void serve_link(int fd, const std::atomic<bool>& cut);

  Ledger& ledger_;
  std::filesystem::path cookie_file_;
  itest::Bytes32 cookie_{};
  std::uint16_t port_ = 0;
  itest::Fd listener_;  // the accept thread's: closed while tor is away
  itest::Fd wake_;      // eventfd: the accept loop re-reads `listening_` and `stop_`
  std::atomic<bool> listening_{true};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> handshake_failures_{0};
  std::atomic<std::uint64_t> bad_headers_{0};
  std::atomic<std::uint64_t> trailing_bytes_{0};

  std::mutex mutex_;
  std::shared_ptr<std::atomic<bool>> cut_;  // set when tor goes away: the handlers of that time stop
  std::set<int> open_fds_;
  std::list<Handler> handlers_;  // only the accept thread touches it, and the destructor after joining it
  std::thread acceptor_;
};

}  // namespace hoplink::soak
