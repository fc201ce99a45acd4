// A slow reader slows its writer end to end: when tor on the bridge side stops reading, hoplink must stop
// taking bytes from tor on the client side instead of buffering without bound.
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "bridge_pair.hpp"
#include "proc_net.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

// Sends stream `seed` from `offset` until the socket stops taking bytes for `quiet` or `limit` is reached.
std::uint64_t push_until_blocked(int fd, std::uint64_t seed, std::uint64_t offset, std::uint64_t limit,
                                 std::chrono::milliseconds quiet, Deadline deadline) {
  std::vector<std::uint8_t> chunk(64 * 1024);
  while (offset < limit && Clock::now() < deadline) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), limit - offset));
    fill_stream(seed, offset, std::span(chunk.data(), n));
    ssize_t put = ::send(fd, chunk.data(), n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (put > 0) {
      offset += static_cast<std::uint64_t>(put);
    } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
      break;
    } else if (!wait_for(fd, POLLOUT, deadline_in(quiet))) {
      break;  // no progress for `quiet`: the path is full
    }
  }
  return offset;
}

}  // namespace

TEST_CASE("a stalled tor on the bridge side stops the client side, nothing is lost when it resumes",
          "[transfer][backpressure]") {
  BridgePair pair(pair_options(ext_tor(DataMode::pump_after_release)));
  INFO(pair.describe());
  auto socks =
      socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline_in(timeouts::kLinkSetup));
  INFO(socks.describe());
  REQUIRE(socks.connected());
  constexpr std::uint64_t kTotal = 256ull << 20;
  auto header = PumpHeader{.seed = 21, .up = kTotal, .down = 0}.serialize();
  REQUIRE(send_all(socks.fd.get(), header, deadline_in(timeouts::kClose)) == IoStatus::ok);
  auto client_rss = rss_bytes(pair.client_process().pid());
  auto server_rss = rss_bytes(pair.server_process().pid());

  auto accepted = push_until_blocked(socks.fd.get(), 21, 0, kTotal, 2s, deadline_in(timeouts::kSmallLink));
  auto client_growth = static_cast<std::int64_t>(rss_bytes(pair.client_process().pid()) - client_rss);
  auto server_growth = static_cast<std::int64_t>(rss_bytes(pair.server_process().pid()) - server_rss);
  WARN("while tor stalled: " << accepted / 1024 << " KiB taken from tor; RSS growth client "
                             << client_growth / 1024 << " KiB, server " << server_growth / 1024 << " KiB");
  // Kernel socket buffers on the path can hold tens of MB on loopback; hoplink itself must hold little.
  CHECK(accepted < kTotal / 2);
  CHECK(client_growth < 64 << 20);
  CHECK(server_growth < 64 << 20);

  pair.tor->release();
  auto rest = push_until_blocked(socks.fd.get(), 21, accepted, kTotal, timeouts::kSmallLink,
                                 deadline_in(timeouts::kBulk));
  CHECK(rest == kTotal);
  auto rec = pair.tor->wait_for_pump(21, timeouts::kBulk);
  REQUIRE(rec);
  REQUIRE(rec->pump);
  INFO("bridge side: " << rec->pump->summary());
  CHECK(rec->pump->ok);
}
