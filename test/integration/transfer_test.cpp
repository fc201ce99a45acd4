// Bytes end to end through a managed client and server pair: volume, concurrency, orderly close.
#include <catch2/catch.hpp>
#include <thread>

#include "bridge_pair.hpp"
#include "proc_net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

double mbit_per_s(std::uint64_t bytes, double seconds) {
  return seconds > 0 ? bytes * 8 / seconds / 1e6 : 0;
}

// Polls /proc until the fd count of `pid` is at most `limit`; bounded by `timeout`.
bool fd_count_settles(pid_t pid, int limit, std::chrono::milliseconds timeout) {
  auto deadline = deadline_in(timeout);
  for (;;) {
    int n = open_fd_count(pid);
    if (n >= 0 && n <= limit) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// Run over each transport: the same bytes must arrive whatever carries them.
void hundred_mb_each_way(const std::string& transport) {
  BridgePair pair(over(transport));
  constexpr std::uint64_t kBytes = 100ull * 1000 * 1000;
  auto result = pair.link({.seed = 100, .up = kBytes, .down = kBytes}, timeouts::kBulk);
  INFO(result.describe());
  INFO(pair.describe());
  REQUIRE(result.ok());
  CHECK(result.bridge->useraddr.has_value());
  WARN("100 MB each way: client side " << result.pump.seconds << " s ("
                                       << mbit_per_s(2 * kBytes, result.pump.seconds)
                                       << " Mbit/s both directions)");
  CHECK(pair.tor->wait_until([](const auto& all) { return all.size() == 1 && all[0].eof_after_data; },
                             timeouts::kClose));
  CHECK(pair.server_process().running());
  CHECK(pair.client_process().running());
  CHECK(stdout_protocol_problems(pair.server_process()) == "");
  CHECK(stdout_protocol_problems(pair.client_process()) == "");
}

void fifty_links(const std::string& transport) {
  BridgePair pair(over(transport));
  constexpr std::size_t kLinks = 50;
  constexpr std::uint64_t kBytes = 300 * 1000;
  auto start = Clock::now();
  auto results = run_socks_links_parallel(kLinks, pair.socks_port(), pair.bridge(), pair.bridge_args(),
                                          *pair.tor, 1000, kBytes, kBytes, timeouts::kBulk);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      ++ok;
    } else {
      UNSCOPED_INFO("link " << i << ": " << results[i].describe());
    }
  }
  INFO(pair.describe());
  CHECK(ok == kLinks);
  WARN(kLinks << " links x " << kBytes << " B each way in " << seconds << " s");
  // Every link reached the fake tor as its own ExtORPort connection.
  CHECK(pair.tor->records().size() == kLinks);
  CHECK(pair.orport_trap->records().empty());
}

void short_links_leave_no_descriptors(const std::string& transport) {
  BridgePair pair(over(transport));
  // One link first, so lazily created state (timers, buffers) exists before the baseline is taken.
  auto first = pair.link({.seed = 1, .up = 1000, .down = 1000}, timeouts::kSmallLink);
  REQUIRE(first.ok());
  REQUIRE(pair.tor->wait_until([](const auto& all) { return all.size() == 1 && all[0].finished; },
                               timeouts::kClose));
  int server_fds = open_fd_count(pair.server_process().pid());
  int client_fds = open_fd_count(pair.client_process().pid());
  for (std::uint64_t i = 2; i <= 30; ++i) {
    auto r = pair.link({.seed = i, .up = 20000, .down = 20000}, timeouts::kSmallLink);
    INFO("link " << i << ": " << r.describe());
    REQUIRE(r.ok());
  }
  REQUIRE(pair.tor->wait_until(
      [](const auto& all) {
        return all.size() == 30 &&
               std::all_of(all.begin(), all.end(), [](const auto& r) { return r.finished; });
      },
      timeouts::kClose));
  INFO("fds before: server " << server_fds << ", client " << client_fds << "; after: server "
                             << open_fd_count(pair.server_process().pid()) << ", client "
                             << open_fd_count(pair.client_process().pid()));
  CHECK(fd_count_settles(pair.server_process().pid(), server_fds + 2, timeouts::kClose));
  CHECK(fd_count_settles(pair.client_process().pid(), client_fds + 2, timeouts::kClose));
}

}  // namespace

TEST_CASE("one link carries 100 MB each way at once, every byte checked", "[transfer][bulk]") {
  hundred_mb_each_way("sctp");
}

TEST_CASE("dtls: one link carries 100 MB each way at once, every byte checked", "[transfer][bulk][dtls]") {
  hundred_mb_each_way("dtls");
}

TEST_CASE("50 links at once, a few hundred KB each way on each, all checked", "[transfer][concurrency]") {
  fifty_links("sctp");
}

TEST_CASE("dtls: 50 links at once, a few hundred KB each way on each, all checked",
          "[transfer][concurrency][dtls]") {
  fifty_links("dtls");
}

TEST_CASE("tor closing the client side right after sending: the bridge still gets every byte, then EOF",
          "[transfer][close]") {
  BridgePair pair;
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  INFO(pair.describe());
  REQUIRE(socks.connected());
  constexpr std::uint64_t kUp = 8 * 1000 * 1000;
  auto header = PumpHeader{.seed = 7, .up = kUp, .down = 0}.serialize();
  REQUIRE(send_all(socks.fd.get(), header, deadline_in(timeouts::kSmallLink)) == IoStatus::ok);
  auto sent = duplex_pump(socks.fd.get(), {7, kUp}, {0, 0}, deadline_in(timeouts::kSmallLink));
  REQUIRE(sent.ok);
  socks.fd.reset();  // close with bytes still queued inside hoplink
  auto rec = pair.tor->wait_for_pump(7, timeouts::kSmallLink);
  REQUIRE(rec);
  REQUIRE(rec->pump);
  INFO("bridge side: " << rec->pump->summary() << " " << rec->error);
  CHECK(rec->pump->ok);
  CHECK(pair.tor->wait_until([](const auto& all) { return !all.empty() && all[0].eof_after_data; },
                             timeouts::kClose));
}

TEST_CASE("tor closing the bridge side right after sending: the client still gets every byte, then EOF",
          "[transfer][close]") {
  BridgePair pair(pair_options(ext_tor(DataMode::pump_then_close)));
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  INFO(pair.describe());
  REQUIRE(socks.connected());
  constexpr std::uint64_t kDown = 8 * 1000 * 1000;
  auto header = PumpHeader{.seed = 8, .up = 0, .down = kDown}.serialize();
  REQUIRE(send_all(socks.fd.get(), header, deadline_in(timeouts::kSmallLink)) == IoStatus::ok);
  auto got = duplex_pump(socks.fd.get(), {0, 0}, {down_seed(8), kDown}, deadline_in(timeouts::kSmallLink));
  INFO("client side: " << got.summary());
  CHECK(got.ok);
  auto rest = recv_until_closed(socks.fd.get(), deadline_in(timeouts::kClose));
  CHECK(rest.status == IoStatus::closed);
  CHECK(rest.bytes.empty());
}

TEST_CASE("many short links one after another leave no descriptors behind", "[transfer][leak]") {
  short_links_leave_no_descriptors("sctp");
}

// A dtls client holds a UDP socket per link: each must go with its link.
TEST_CASE("dtls: many short links one after another leave no descriptors behind", "[transfer][leak][dtls]") {
  short_links_leave_no_descriptors("dtls");
}

TEST_CASE("300 links at once, small transfers, all checked", "[transfer][concurrency][scale]") {
  // All from one address at once: over the per-prefix handshake rate (100 a second), which is not tested
  // here.
  BridgePair pair(pair_options({}, {}, {"--handshake-rate-per-prefix", "0"}));
  constexpr std::size_t kLinks = 300;
  auto start = Clock::now();
  auto results = run_socks_links_parallel(kLinks, pair.socks_port(), pair.bridge(), pair.bridge_args(),
                                          *pair.tor, 5000, 20000, 20000, timeouts::kBulk);
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::size_t ok = 0;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].ok()) {
      ++ok;
    } else if (i < 1000) {
      UNSCOPED_INFO("link " << i << ": " << results[i].describe());
    }
  }
  INFO(pair.describe());
  CHECK(ok == kLinks);
  WARN(kLinks << " links in " << seconds << " s");
}
