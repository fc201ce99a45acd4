// TCP's half-close through real hoplink processes over kernel UDP on loopback: the client application
// shuts down its sending side once it has written, while the bridge side is still sending; both directions
// must arrive whole (issue 9: one direction used to arrive short, with both sides saying REASON=orderly).
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <thread>

#include "bridge_pair.hpp"
#include "socks_client.hpp"
#include "timeouts.hpp"

using namespace hoplink::itest;
using namespace std::chrono_literals;

namespace {

// The client sends `up` bytes and half-closes at once; the fake tor sends `down` (more, so most of it is
// still to come when the client's FIN arrives), checks `up`, and closes when it reads the FIN.
void half_close_repeated(const std::string& transport) {
  BridgePair pair(over(transport));
  constexpr std::uint64_t kUp = 4'000'000;
  constexpr std::uint64_t kDown = 12'000'000;
  constexpr std::uint64_t kRuns = 3;
  for (std::uint64_t seed = 1; seed <= kRuns; ++seed) {
    INFO("run " << seed);
    auto deadline = deadline_in(timeouts::kSmallLink);
    auto socks = socks5_connect(pair.socks_port(), pair.bridge(), pair.bridge_args(), deadline);
    INFO(socks.describe());
    REQUIRE(socks.connected());
    const int fd = socks.fd.get();
    REQUIRE(send_all(fd, PumpHeader{seed, kUp, kDown}.serialize(), deadline) == IoStatus::ok);
    const auto pump = duplex_pump(fd, {seed, kUp}, {down_seed(seed), kDown}, deadline, nullptr, true);
    INFO("client side: " << pump.summary());
    CHECK(pump.ok);
    CHECK(pump.received == kDown);
    // Then the bridge's FIN, after the last byte: a clean end of stream, not a reset.
    REQUIRE(wait_for(fd, POLLIN, deadline_in(timeouts::kClose)));
    std::uint8_t extra = 0;
    const ssize_t got = ::recv(fd, &extra, 1, MSG_DONTWAIT);
    INFO("recv after the stream: " << got << (got < 0 ? std::string(" ") + std::strerror(errno) : ""));
    CHECK(got == 0);
    const auto bridge = pair.tor->wait_for_pump(seed, timeouts::kSmallLink);
    REQUIRE(bridge.has_value());
    INFO("bridge side: " << (bridge->pump ? bridge->pump->summary() : "no pump") << " " << bridge->error);
    REQUIRE(bridge->pump.has_value());
    CHECK(bridge->pump->ok);
    CHECK(bridge->pump->received == kUp);
  }
  // Each side's link reports its close; every one in order.
  for (Process* p : {&pair.client_process(), &pair.server_process()}) {
    INFO(p->name());
    const auto closed_lines = [&] {
      std::vector<std::string> closed;
      for (const auto& line : p->lines())
        if (line.find("EVENT=closed") != std::string::npos) closed.push_back(line);
      return closed;
    };
    const auto until = deadline_in(timeouts::kLogLine);
    while (closed_lines().size() < kRuns && Clock::now() < until) std::this_thread::sleep_for(50ms);
    for (const auto& line : closed_lines()) {
      INFO(line);
      CHECK(line.find("REASON=orderly") != std::string::npos);
    }
    CHECK(closed_lines().size() == kRuns);
  }
  INFO(pair.describe());
  CHECK(pair.tor->wait_until(
      [](const auto& all) {
        return all.size() == kRuns &&
               std::all_of(all.begin(), all.end(), [](const auto& r) { return r.eof_after_data; });
      },
      timeouts::kClose));
}

}  // namespace

TEST_CASE("sctp: the client half-closes after writing and both directions arrive whole",
          "[transfer][half_close]") {
  half_close_repeated("sctp");
}

TEST_CASE("dtls: the client half-closes after writing and both directions arrive whole",
          "[transfer][half_close][dtls]") {
  half_close_repeated("dtls");
}
